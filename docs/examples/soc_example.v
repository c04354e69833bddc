// An SoC fragment that instantiates its_axi (make verilog writes build/its_axi.v), as
// docs/integration.md describes it: the CPU's AXI4-Lite port to the ITS frame, the ITS's
// AXI4 master to the memory interconnect, one MSI-capable device on the MSI stream, and the
// four redistributor streams. Here the redistributors are stand-ins that take every packet
// and acknowledge every SYNC one cycle later; in a real GIC they are the redistributors.
// tests/test_wrappers.py compiles this file with build/its_axi.v in Icarus Verilog.

`default_nettype none

module soc_example (
    input  wire         clk,
    input  wire         rst_n,          // active low, synchronous to clk

    // CPU -> ITS registers (AXI4-Lite, 64-bit data, the 128 KiB ITS frame)
    input  wire [16:0]  cpu_awaddr,
    input  wire [2:0]   cpu_awprot,
    input  wire         cpu_awvalid,
    output wire         cpu_awready,
    input  wire [63:0]  cpu_wdata,
    input  wire [7:0]   cpu_wstrb,
    input  wire         cpu_wvalid,
    output wire         cpu_wready,
    output wire [1:0]   cpu_bresp,
    output wire         cpu_bvalid,
    input  wire         cpu_bready,
    input  wire [16:0]  cpu_araddr,
    input  wire [2:0]   cpu_arprot,
    input  wire         cpu_arvalid,
    output wire         cpu_arready,
    output wire [63:0]  cpu_rdata,
    output wire [1:0]   cpu_rresp,
    output wire         cpu_rvalid,
    input  wire         cpu_rready,
    input  wire [31:0]  cpu_translater_device_id,   // DeviceID of a GITS_TRANSLATER write

    // ITS -> memory (AXI4, 64-bit data, 48-bit addresses, 4-bit IDs). AxCACHE follows
    // GITS_CBASER / GITS_BASERn (docs/axi-attributes.md); AxPROT is 3'b011 (data,
    // non-secure, privileged), AxQOS 0, AxLOCK 0.
    output wire [3:0]   mem_awid,
    output wire [47:0]  mem_awaddr,
    output wire [7:0]   mem_awlen,
    output wire [2:0]   mem_awsize,
    output wire [1:0]   mem_awburst,
    output wire         mem_awlock,
    output wire [3:0]   mem_awcache,
    output wire [2:0]   mem_awprot,
    output wire [3:0]   mem_awqos,
    output wire         mem_awvalid,
    input  wire         mem_awready,
    output wire [63:0]  mem_wdata,
    output wire [7:0]   mem_wstrb,
    output wire         mem_wlast,
    output wire         mem_wvalid,
    input  wire         mem_wready,
    input  wire [3:0]   mem_bid,
    input  wire [1:0]   mem_bresp,
    input  wire         mem_bvalid,
    output wire         mem_bready,
    output wire [3:0]   mem_arid,
    output wire [47:0]  mem_araddr,
    output wire [7:0]   mem_arlen,
    output wire [2:0]   mem_arsize,
    output wire [1:0]   mem_arburst,
    output wire         mem_arlock,
    output wire [3:0]   mem_arcache,
    output wire [2:0]   mem_arprot,
    output wire [3:0]   mem_arqos,
    output wire         mem_arvalid,
    input  wire         mem_arready,
    input  wire [3:0]   mem_rid,
    input  wire [63:0]  mem_rdata,
    input  wire [1:0]   mem_rresp,
    input  wire         mem_rlast,
    input  wire         mem_rvalid,
    output wire         mem_rready,

    // a device's MSIs: (DeviceID, EventID), valid/ready
    input  wire [31:0]  dev_device_id,
    input  wire [31:0]  dev_event_id,
    input  wire         dev_msi_valid,
    output wire         dev_msi_ready,

    output wire         its_error_irq,
    output wire [3:0]   lpi_seen        // a stand-in redistributor took a SET packet
);

    wire [2:0]  gic_op     [0:3];
    wire [15:0] gic_lpi    [0:3];
    wire [7:0]  gic_target [0:3];
    wire [3:0]  gic_valid;
    wire [3:0]  ack_ready;
    reg  [3:0]  ack_valid;

    its_axi its (
        .aclk(clk), .aresetn(rst_n),
        .s_axil_awaddr(cpu_awaddr), .s_axil_awprot(cpu_awprot), .s_axil_awvalid(cpu_awvalid),
        .s_axil_awready(cpu_awready),
        .s_axil_wdata(cpu_wdata), .s_axil_wstrb(cpu_wstrb), .s_axil_wvalid(cpu_wvalid),
        .s_axil_wready(cpu_wready),
        .s_axil_bresp(cpu_bresp), .s_axil_bvalid(cpu_bvalid), .s_axil_bready(cpu_bready),
        .s_axil_araddr(cpu_araddr), .s_axil_arprot(cpu_arprot), .s_axil_arvalid(cpu_arvalid),
        .s_axil_arready(cpu_arready),
        .s_axil_rdata(cpu_rdata), .s_axil_rresp(cpu_rresp), .s_axil_rvalid(cpu_rvalid),
        .s_axil_rready(cpu_rready),
        .translater_device_id(cpu_translater_device_id),

        .m_axi_awid(mem_awid), .m_axi_awaddr(mem_awaddr), .m_axi_awlen(mem_awlen),
        .m_axi_awsize(mem_awsize), .m_axi_awburst(mem_awburst),
        .m_axi_awlock(mem_awlock), .m_axi_awcache(mem_awcache), .m_axi_awprot(mem_awprot),
        .m_axi_awqos(mem_awqos),
        .m_axi_awvalid(mem_awvalid), .m_axi_awready(mem_awready),
        .m_axi_wdata(mem_wdata), .m_axi_wstrb(mem_wstrb), .m_axi_wlast(mem_wlast),
        .m_axi_wvalid(mem_wvalid), .m_axi_wready(mem_wready),
        .m_axi_bid(mem_bid), .m_axi_bresp(mem_bresp), .m_axi_bvalid(mem_bvalid),
        .m_axi_bready(mem_bready),
        .m_axi_arid(mem_arid), .m_axi_araddr(mem_araddr), .m_axi_arlen(mem_arlen),
        .m_axi_arsize(mem_arsize), .m_axi_arburst(mem_arburst),
        .m_axi_arlock(mem_arlock), .m_axi_arcache(mem_arcache), .m_axi_arprot(mem_arprot),
        .m_axi_arqos(mem_arqos),
        .m_axi_arvalid(mem_arvalid), .m_axi_arready(mem_arready),
        .m_axi_rid(mem_rid), .m_axi_rdata(mem_rdata), .m_axi_rresp(mem_rresp),
        .m_axi_rlast(mem_rlast), .m_axi_rvalid(mem_rvalid), .m_axi_rready(mem_rready),

        .s_msi_device_id(dev_device_id), .s_msi_event_id(dev_event_id),
        .s_msi_valid(dev_msi_valid), .s_msi_ready(dev_msi_ready),

        // no translation queries in this SoC: tie the query port off
        .s_query_device_id(32'd0), .s_query_event_id(32'd0), .s_query_valid(1'b0),
        .s_query_ready(), .m_query_resp_done(), .m_query_resp_status(),
        .m_query_resp_target(), .m_query_resp_pintid(), .m_query_resp_valid(),
        .m_query_resp_ready(1'b1),

        .m_gic0_op(gic_op[0]), .m_gic0_lpi(gic_lpi[0]), .m_gic0_target(gic_target[0]),
        .m_gic0_valid(gic_valid[0]), .m_gic0_ready(1'b1),
        .m_gic1_op(gic_op[1]), .m_gic1_lpi(gic_lpi[1]), .m_gic1_target(gic_target[1]),
        .m_gic1_valid(gic_valid[1]), .m_gic1_ready(1'b1),
        .m_gic2_op(gic_op[2]), .m_gic2_lpi(gic_lpi[2]), .m_gic2_target(gic_target[2]),
        .m_gic2_valid(gic_valid[2]), .m_gic2_ready(1'b1),
        .m_gic3_op(gic_op[3]), .m_gic3_lpi(gic_lpi[3]), .m_gic3_target(gic_target[3]),
        .m_gic3_valid(gic_valid[3]), .m_gic3_ready(1'b1),

        .s_ack0_sync(1'b1), .s_ack0_valid(ack_valid[0]), .s_ack0_ready(ack_ready[0]),
        .s_ack1_sync(1'b1), .s_ack1_valid(ack_valid[1]), .s_ack1_ready(ack_ready[1]),
        .s_ack2_sync(1'b1), .s_ack2_valid(ack_valid[2]), .s_ack2_ready(ack_ready[2]),
        .s_ack3_sync(1'b1), .s_ack3_valid(ack_valid[3]), .s_ack3_ready(ack_ready[3]),

        .error_irq(its_error_irq)
    );

    // Stand-in redistributors: GicOp SET = 0, SYNC = 6 (docs/encodings.md, GicOp).
    localparam [2:0] GIC_SET = 3'd0, GIC_SYNC = 3'd6;
    genvar rd;
    generate
        for (rd = 0; rd < 4; rd = rd + 1) begin : redistributor
            assign lpi_seen[rd] = gic_valid[rd] && gic_op[rd] == GIC_SET;
            always @(posedge clk) begin
                if (!rst_n)
                    ack_valid[rd] <= 1'b0;
                else if (gic_valid[rd] && gic_op[rd] == GIC_SYNC)
                    ack_valid[rd] <= 1'b1;
                else if (ack_ready[rd])
                    ack_valid[rd] <= 1'b0;
            end
        end
    endgenerate

endmodule

`default_nettype wire
