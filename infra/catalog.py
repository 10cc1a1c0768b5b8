"""The GPU catalog: every GPU a tier can ask for, with the facts the planner prices it by.

Prices are a provider's list prices per GPU-hour on 19 Apr 2026 (SPEC.md §1). They drift:
the catalog is the default and a stack overrides the price of any tier. Adding a GPU is one
entry in ``CATALOG`` plus its row in ``tests/infra/test_catalog.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

LatencyClass = Literal["ttft-first", "throughput-first"]
LATENCY_CLASSES: tuple[LatencyClass, ...] = ("ttft-first", "throughput-first")

PRICE_DATE = "2026-04-19"


@dataclass(frozen=True)
class InstanceType:
    """An AWS instance type: its GPUs, vCPUs and memory."""

    name: str
    gpus: int
    vcpus: int
    memory_gib: int


@dataclass(frozen=True)
class Gpu:
    """One GPU kind as a tier uses it."""

    key: str
    name: str
    memory_gb: int
    interactions_per_gpu: int
    """Concurrent agent interactions one GPU serves (SPEC.md §1)."""
    on_demand_price: Decimal
    """USD per GPU-hour, on-demand."""
    spot_price: Decimal | None
    """USD per GPU-hour on spot, or None where the provider lists no spot price."""
    latency_class: LatencyClass
    """The latency class this GPU suits (checklist C1): H100-class for TTFT-first tiers."""
    mig_model: str | None
    """Key of the MIG geometry in ``infra.mig.MODELS``, or None: no MIG on this GPU."""
    instance_types: tuple[InstanceType, ...]
    default_instance_type: str

    @property
    def supports_mig(self) -> bool:
        return self.mig_model is not None

    def instance_type(self, name: str) -> InstanceType:
        for candidate in self.instance_types:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def instance_type_names(self) -> tuple[str, ...]:
        return tuple(candidate.name for candidate in self.instance_types)


_G6E = (
    InstanceType("g6e.xlarge", 1, 4, 32),
    InstanceType("g6e.2xlarge", 1, 8, 64),
    InstanceType("g6e.4xlarge", 1, 16, 128),
    InstanceType("g6e.8xlarge", 1, 32, 256),
    InstanceType("g6e.16xlarge", 1, 64, 512),
    InstanceType("g6e.12xlarge", 4, 48, 384),
    InstanceType("g6e.24xlarge", 4, 96, 768),
    InstanceType("g6e.48xlarge", 8, 192, 1536),
)
_P5 = (InstanceType("p5.4xlarge", 1, 16, 256), InstanceType("p5.48xlarge", 8, 192, 2048))

CATALOG: Mapping[str, Gpu] = MappingProxyType(
    {
        "l40s": Gpu(
            key="l40s",
            name="L40S PCIe",
            memory_gb=48,
            interactions_per_gpu=50,
            on_demand_price=Decimal("0.72"),
            spot_price=None,
            latency_class="throughput-first",
            mig_model=None,
            instance_types=_G6E,
            # 64 GiB of host memory: enough to stage weights that fill the 48 GB GPU.
            default_instance_type="g6e.2xlarge",
        ),
        "a100-80gb": Gpu(
            key="a100-80gb",
            name="A100 80GB PCIe",
            memory_gb=80,
            interactions_per_gpu=75,
            on_demand_price=Decimal("1.04"),
            spot_price=Decimal("1.14"),
            latency_class="throughput-first",
            mig_model="A100-80GB",
            instance_types=(InstanceType("p4de.24xlarge", 8, 96, 1152),),
            default_instance_type="p4de.24xlarge",
        ),
        "h100-pcie": Gpu(
            key="h100-pcie",
            name="H100 PCIe",
            memory_gb=80,
            interactions_per_gpu=100,
            on_demand_price=Decimal("2.51"),
            spot_price=None,
            latency_class="ttft-first",
            mig_model="H100-80GB",
            # AWS sells H100 only as SXM; the single-GPU p5.4xlarge is the closest match.
            instance_types=_P5,
            default_instance_type="p5.4xlarge",
        ),
        "h100-sxm": Gpu(
            key="h100-sxm",
            name="H100 SXM5",
            memory_gb=80,
            interactions_per_gpu=100,
            on_demand_price=Decimal("4.41"),
            spot_price=None,
            latency_class="ttft-first",
            mig_model="H100-80GB",
            # SXM is chosen for NVLink between GPUs: the 8-GPU instance has it.
            instance_types=_P5,
            default_instance_type="p5.48xlarge",
        ),
    }
)


def gpu(key: str) -> Gpu:
    """The catalog entry for ``key``; a KeyError names the known keys."""
    try:
        return CATALOG[key]
    except KeyError:
        raise KeyError(f"unknown GPU {key!r}; known: {', '.join(CATALOG)}") from None
