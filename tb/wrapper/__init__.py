"""cocotb testbench of the plain-Verilog wrappers (gic.hw.wrappers): its_axi."""
