"""What the ``its`` verbs run: the demo scenario, the benchmark, the workloads, Verilog export."""
