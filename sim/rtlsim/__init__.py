"""The Amaranth-simulator harness: run the RTL with memory, bus and GIC-stream models."""
