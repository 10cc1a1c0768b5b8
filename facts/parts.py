"""The GPU parts behind the catalog's instance types, as the serving model (``facts.serving``)
needs them: memory bandwidth, dense tensor throughput and the link between GPUs of a node.

A catalog key names the GPU a tier asks for; the part is what AWS actually puts behind the
instance type it runs on, and what is priced and modelled. They can differ: AWS sells A100
80GB only as SXM4 (p4de.24xlarge) and H100 only as SXM5 (p5), so an ``a100-80gb`` tier runs on
A100 SXM4 and an ``h100-pcie`` tier on H100 SXM5. The plan says so where they differ.

Figures are NVIDIA's datasheets, dense (the datasheets print tensor throughput with 2:4
sparsity, twice the dense figure, and mark it with an asterisk); link bandwidth is per
direction (NVLink's marketed figure counts both directions; a PCIe x16 slot's likewise):

- L40S: https://www.nvidia.com/en-us/data-center/l40s/ (datasheet: 864 GB/s GDDR6; BF16 362.05
  TFLOPS, 733 with sparsity; FP8 733, 1,466 with sparsity; PCIe Gen4 x16, 64 GB/s both ways).
- A100 80GB: https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/
  nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf (SXM 2,039 GB/s, PCIe 1,935 GB/s; BF16
  312 TFLOPS, 624 with sparsity; no FP8; NVLink 600 GB/s, PCIe Gen4 64 GB/s).
- H100: https://www.nvidia.com/en-us/data-center/h100/ (SXM 3.35 TB/s, PCIe 2 TB/s; BF16
  1,979 / 1,513 TFLOPS with sparsity; FP8 3,958 / 3,026 with sparsity; NVLink 900 GB/s, PCIe
  Gen5 128 GB/s).
- Which part each instance carries: https://aws.amazon.com/ec2/instance-types/g6e/ (L40S),
  https://aws.amazon.com/ec2/instance-types/p4/ (p4de: 8 A100 80GB with 600 GB/s NVSwitch),
  https://aws.amazon.com/ec2/instance-types/p5/ (H100 80GB HBM3 with 900 GB/s NVSwitch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

GB = 10**9
TERA = 10**12


@dataclass(frozen=True)
class Part:
    """One GPU part as the serving model sees it."""

    key: str
    name: str
    memory_bandwidth: float
    """Bytes a second from the GPU's memory."""
    bf16_flops: float
    """Dense BF16/FP16 tensor FLOP a second."""
    fp8_flops: float | None
    """Dense FP8 tensor FLOP a second; None where the part has no FP8 tensor cores."""
    link: str
    """How the part talks to the other GPUs of its node."""
    link_bandwidth: float
    """Bytes a second, one direction, from one GPU to its peers."""

    def flops(self, dtype: str) -> float:
        """Tensor throughput for a model's weights of ``dtype``: FP8 weights run on FP8
        tensor cores where the part has them; everything else (16-bit weights, and int8/int4
        or FP8 weights on a part without FP8, which vLLM dequantises to 16 bits) at BF16."""
        if dtype == "fp8" and self.fp8_flops is not None:
            return self.fp8_flops
        return self.bf16_flops

    def slice(self, compute: int, compute_slices: int, memory: int, memory_slices: int) -> Part:
        """A MIG instance of this part: its share of the compute slices and of the memory
        slices (bandwidth comes with the memory slices)."""
        return replace(
            self,
            key=f"{self.key}/{compute}g",
            name=f"{self.name} ({compute}/{compute_slices} MIG slice)",
            memory_bandwidth=self.memory_bandwidth * memory / memory_slices,
            bf16_flops=self.bf16_flops * compute / compute_slices,
            fp8_flops=None if self.fp8_flops is None else self.fp8_flops * compute / compute_slices,
        )


_PARTS = (
    Part("l40s", "L40S", 864 * GB, 362.05 * TERA, 733 * TERA, "PCIe Gen4 x16", 32 * GB),
    Part(
        "a100-80gb-sxm4",
        "A100 80GB SXM4",
        2039 * GB,
        312 * TERA,
        None,
        "NVLink 3 (600 GB/s)",
        300 * GB,
    ),
    Part("a100-80gb-pcie", "A100 80GB PCIe", 1935 * GB, 312 * TERA, None, "PCIe Gen4 x16", 32 * GB),
    Part(
        "h100-sxm5",
        "H100 SXM5",
        3350 * GB,
        989.5 * TERA,
        1979 * TERA,
        "NVLink 4 (900 GB/s)",
        450 * GB,
    ),
    Part(
        "a100-40gb-sxm4",
        "A100 40GB SXM4",
        1555 * GB,
        312 * TERA,
        None,
        "NVLink 3 (600 GB/s)",
        300 * GB,
    ),
    Part(
        "h200-sxm",
        "H200 SXM",
        4800 * GB,
        989.5 * TERA,
        1979 * TERA,
        "NVLink 4 (900 GB/s)",
        450 * GB,
    ),
    Part("h100-pcie", "H100 PCIe", 2000 * GB, 756.5 * TERA, 1513 * TERA, "PCIe Gen5 x16", 64 * GB),
)
PARTS: Mapping[str, Part] = MappingProxyType({part.key: part for part in _PARTS})


def part(key: str | None) -> Part | None:
    """The part by key; None for None (an instance type whose part is not recorded)."""
    return None if key is None else PARTS[key]
