"""The tests' own statement of the memory attributes: GIC cacheability field values
(GICv3, IHI 0069: GITS_BASERn/GITS_CBASER/GICR_PROPBASER/GICR_PENDBASER InnerCache and
OuterCache) as memory types, and AMBA AXI4 (IHI 0022) Table A4-5's AxCACHE codes for them,
written out independently of the RTL's tables."""

# The GIC cacheability field values (GICv3 IHI 0069, the InnerCache fields) as memory types.
GIC_TYPE = {
    0b000: "Device-nGnRnE",
    0b001: "Normal Non-cacheable",
    0b010: "Write-through Read-allocate",
    0b011: "Write-back Read-allocate",
    0b100: "Write-through Write-allocate",
    0b101: "Write-back Write-allocate",
    0b110: "Write-through Read and Write-allocate",
    0b111: "Write-back Read and Write-allocate",
}
# AMBA AXI4 Table A4-5, (ARCACHE, AWCACHE) per memory type (the first code where two are given).
AXI_CACHE = {
    "Device-nGnRnE":                         (0b0000, 0b0000),   # Device Non-bufferable
    "Normal Non-cacheable":                  (0b0011, 0b0011),   # Normal Non-cacheable Bufferable
    "Write-through Read-allocate":           (0b1110, 0b0110),
    "Write-back Read-allocate":              (0b1111, 0b0111),
    "Write-through Write-allocate":          (0b1010, 0b1110),
    "Write-back Write-allocate":             (0b1011, 0b1111),
    "Write-through Read and Write-allocate": (0b1110, 0b1110),
    "Write-back Read and Write-allocate":    (0b1111, 0b1111),
}


def expected_cache(inner, outer, *, write):
    """OuterCache decides (0b000: as InnerCache); InnerCache Device-nGnRnE makes it Device."""
    memory_type = "Device-nGnRnE" if inner == 0 else GIC_TYPE[outer or inner]
    return AXI_CACHE[memory_type][1 if write else 0]


PROT_NONSECURE = 0b011      # data, non-secure, privileged
PROT_SECURE = 0b001         # data, secure, privileged
