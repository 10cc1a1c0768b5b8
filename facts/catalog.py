"""The GPU catalog: every GPU a tier can ask for, with the facts the planner prices it by and
the policies judge it by. It is the one GPU table of agentfleet: the stack config's field
descriptions, the planner, the policies (C1 and K2 look a node group's GPU up here) and the
docs' GPU catalog page are all derived from it.

Prices are the seed's: a GPU cloud's list prices per GPU-hour on 19 Apr 2026
(docs/capacity-and-cost.md). ``agentfleet size`` keeps them by default; the plan uses AWS's own
(``facts.aws_prices``) unless a stack says ``prices: seed``, and a stack overrides any tier's.

Adding a GPU is one change here, its AWS prices and one test row:

1. one ``Gpu(...)`` entry in ``_GPUS`` below: its key (what stacks write), name, class (the
   name policies speak of, e.g. ``B200``), memory (marketed, and as CUDA reports it: what
   vLLM budgets from), interactions per GPU, prices, the latency class it suits, its AWS
   instance types and the default one;
2. if it has MIG, its geometry in ``facts.mig.MODELS`` (with each instance size's memory)
   and that key as ``mig_model``;
3. AWS's on-demand price of each of its instance types in ``facts.aws_prices`` (the
   plan's default prices; ``tests/facts/test_aws_prices.py`` fails until they are there);
4. its row in ``tests/facts/test_catalog.py``, which fails until the row is there;
5. ``python3 tasks.py docs`` rewrites the reference pages (the GPU catalog, the stack file).

Nothing else names GPUs: ``tests/facts/test_new_gpu.py`` registers a made-up GPU and sees
the config, the plan, the policies and the docs take it up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

LatencyClass = Literal["ttft-first", "throughput-first"]
LATENCY_CLASSES: tuple[LatencyClass, ...] = ("ttft-first", "throughput-first")
Capacity = Literal["on-demand", "spot"]

PRICE_DATE = "2026-04-19"


@dataclass(frozen=True)
class InstanceType:
    """An AWS instance type: its GPUs, vCPUs, memory and local NVMe instance store."""

    name: str
    gpus: int
    vcpus: int
    memory_gib: int
    instance_store_gb: int = 0
    """Total NVMe instance store, in GB (10^9 bytes), as AWS lists it; 0 for none."""
    part: str | None = None
    """Key in ``facts.parts.PARTS`` of the GPU part AWS puts in this type (what the serving
    model runs on); None where it is not recorded, and the catalog's figures are used."""

    @property
    def family(self) -> str:
        """The instance family: ``p5`` of ``p5.48xlarge``."""
        return self.name.split(".", 1)[0]


@dataclass(frozen=True)
class Gpu:
    """One GPU kind as a tier uses it."""

    key: str
    name: str
    gpu_class: str
    """The GPU's class as the checklist names it (``H100``, ``A100``, ``L40S``): two keys of
    one class (PCIe and SXM) suit the same tiers."""
    memory_gb: int
    interactions_per_gpu: int
    """Concurrent agent interactions one GPU serves (the capacity model's figure)."""
    on_demand_price: Decimal
    """USD per GPU-hour, on-demand."""
    spot_price: Decimal | None
    """USD per GPU-hour on spot, or None where the provider lists no spot price."""
    latency_class: LatencyClass
    """The latency class this GPU suits (checklist C1): H100-class for TTFT-first tiers."""
    mig_model: str | None
    """Key of the MIG geometry in ``facts.mig.MODELS``, or None: no MIG on this GPU."""
    instance_types: tuple[InstanceType, ...]
    default_instance_type: str
    device_memory_gib: Decimal | None = None
    """The memory CUDA reports for one GPU (what vLLM budgets from), in GiB. None: taken as
    92% of ``memory_gb`` (the marketed figure, which ECC and the driver eat into)."""
    part: str | None = None
    """Key in ``facts.parts.PARTS`` of the part this key names (``name``). The serving model
    runs on the part the instance type carries (``InstanceType.part``), which can differ."""

    @property
    def memory_gib(self) -> Decimal:
        if self.device_memory_gib is not None:
            return self.device_memory_gib
        return (Decimal(self.memory_gb) * Decimal("0.92")).quantize(Decimal("0.01"))

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

    @property
    def instance_families(self) -> tuple[str, ...]:
        """The AWS instance families that carry this GPU, in catalog order."""
        return tuple(dict.fromkeys(candidate.family for candidate in self.instance_types))


# Instance store as AWS's instance type specifications list it (accelerated computing,
# "Instance store specifications"): g6e 1 x 250 GB up to 4 x 1900 GB, p4de 8 x 1000 GB,
# p5 3840 GB per GPU.
_G6E = (
    InstanceType("g6e.xlarge", 1, 4, 32, 250, "l40s"),
    InstanceType("g6e.2xlarge", 1, 8, 64, 450, "l40s"),
    InstanceType("g6e.4xlarge", 1, 16, 128, 600, "l40s"),
    InstanceType("g6e.8xlarge", 1, 32, 256, 900, "l40s"),
    InstanceType("g6e.16xlarge", 1, 64, 512, 1900, "l40s"),
    InstanceType("g6e.12xlarge", 4, 48, 384, 3800, "l40s"),
    InstanceType("g6e.24xlarge", 4, 96, 768, 3800, "l40s"),
    InstanceType("g6e.48xlarge", 8, 192, 1536, 7600, "l40s"),
)
_P5 = (
    InstanceType("p5.4xlarge", 1, 16, 256, 3840, "h100-sxm5"),
    InstanceType("p5.48xlarge", 8, 192, 2048, 30720, "h100-sxm5"),
)

NETWORK_GBPS: dict[str, float] = {
    "g6e.xlarge": 2.5,
    "g6e.2xlarge": 5.0,
    "g6e.4xlarge": 20.0,
    "g6e.8xlarge": 25.0,
    "g6e.16xlarge": 35.0,
    "g6e.12xlarge": 100.0,
    "g6e.24xlarge": 200.0,
    "g6e.48xlarge": 400.0,
    "p5.4xlarge": 100.0,
    "p5.48xlarge": 3200.0,
    "p4de.24xlarge": 400.0,
}
"""Each instance type's network bandwidth in Gbps, as AWS lists it (accelerated computing,
"Network specifications"); for the "up to 20 Gigabit" sizes the baseline they keep once
their burst credits are spent (g6e.xlarge 2.5, g6e.2xlarge 5). p5.48xlarge's and
p4de.24xlarge's are their EFA aggregates."""
INTERNET_GBPS_BELOW_32_VCPUS = 5.0
"""AWS's cap on traffic through an internet gateway: 5 Gbps for instances with fewer than
32 vCPUs, half the instance's bandwidth (at least 5 Gbps) for larger ones (EC2 User Guide,
"Amazon EC2 instance network bandwidth")."""


def internet_gbps(instance: InstanceType) -> float:
    """What one instance may draw from the internet (a model hub) at most."""
    listed = NETWORK_GBPS.get(instance.name, INTERNET_GBPS_BELOW_32_VCPUS)
    if instance.vcpus < 32:
        return min(listed, INTERNET_GBPS_BELOW_32_VCPUS)
    return max(listed / 2, INTERNET_GBPS_BELOW_32_VCPUS)


_GPUS: dict[str, Gpu] = {
    gpu.key: gpu
    for gpu in (
        Gpu(
            key="l40s",
            name="L40S PCIe",
            gpu_class="L40S",
            memory_gb=48,
            interactions_per_gpu=50,
            on_demand_price=Decimal("0.72"),
            spot_price=None,
            latency_class="throughput-first",
            mig_model=None,
            instance_types=_G6E,
            # 64 GiB of host memory: enough to stage weights that fill the 48 GB GPU.
            default_instance_type="g6e.2xlarge",
            # nvidia-smi lists 46068 MiB; CUDA keeps about 600 MiB of it.
            device_memory_gib=Decimal("44.4"),
            part="l40s",
        ),
        Gpu(
            key="a100-80gb",
            name="A100 80GB PCIe",
            gpu_class="A100",
            memory_gb=80,
            interactions_per_gpu=75,
            on_demand_price=Decimal("1.04"),
            spot_price=Decimal("1.14"),
            latency_class="throughput-first",
            mig_model="A100-80GB",
            instance_types=(InstanceType("p4de.24xlarge", 8, 96, 1152, 8000, "a100-80gb-sxm4"),),
            default_instance_type="p4de.24xlarge",
            # 81920 MiB in nvidia-smi; PyTorch reports a total capacity of 79.15 GiB.
            device_memory_gib=Decimal("79.15"),
            part="a100-80gb-pcie",
        ),
        Gpu(
            key="h100-pcie",
            name="H100 PCIe",
            gpu_class="H100",
            memory_gb=80,
            interactions_per_gpu=100,
            on_demand_price=Decimal("2.51"),
            spot_price=None,
            latency_class="ttft-first",
            mig_model="H100-80GB",
            # AWS sells H100 only as SXM; the single-GPU p5.4xlarge is the closest match.
            instance_types=_P5,
            default_instance_type="p5.4xlarge",
            device_memory_gib=Decimal("79.18"),  # vLLM's start-up log: "79.18 GiB" total
            part="h100-pcie",
        ),
        Gpu(
            key="h100-sxm",
            name="H100 SXM5",
            gpu_class="H100",
            memory_gb=80,
            interactions_per_gpu=100,
            on_demand_price=Decimal("4.41"),
            spot_price=None,
            latency_class="ttft-first",
            mig_model="H100-80GB",
            # SXM is chosen for NVLink between GPUs: the 8-GPU instance has it.
            instance_types=_P5,
            default_instance_type="p5.48xlarge",
            device_memory_gib=Decimal("79.18"),
            part="h100-sxm5",
        ),
    )
}
CATALOG: Mapping[str, Gpu] = MappingProxyType(_GPUS)
"""Every GPU by key, read-only (a view of ``_GPUS``, so it always shows the table)."""


def gpu(key: str) -> Gpu:
    """The catalog entry for ``key``; a KeyError names the known keys."""
    try:
        return CATALOG[key]
    except KeyError:
        raise KeyError(f"unknown GPU {key!r}; known: {known_keys()}") from None


def known_keys() -> str:
    """The catalog's keys, for messages and descriptions: ``l40s, a100-80gb, ...``."""
    return ", ".join(CATALOG)


def gpu_for(mark: object, instance_types: Iterable[object]) -> Gpu | None:
    """The GPU a node group carries: by its ``agentfleet.io/gpu`` mark when that is a
    catalog key, else by its instance types (an exact type, then its family); None when
    the catalog does not know it."""
    if isinstance(mark, str) and mark in CATALOG:
        return CATALOG[mark]
    names = [str(name) for name in instance_types]
    for name in names:
        for candidate in CATALOG.values():
            if name in candidate.instance_type_names:
                return candidate
    for name in names:
        family = name.split(".", 1)[0]
        for candidate in CATALOG.values():
            if family in candidate.instance_families:
                return candidate
    return None


def suited(latency_class: str) -> tuple[Gpu, ...]:
    """The GPUs that suit a latency class (checklist C1), in catalog order."""
    return tuple(
        candidate for candidate in CATALOG.values() if candidate.latency_class == latency_class
    )


def classes(gpus: Iterable[Gpu]) -> tuple[str, ...]:
    """The distinct GPU classes of ``gpus``, in order."""
    return tuple(dict.fromkeys(candidate.gpu_class for candidate in gpus))


def families(gpus: Iterable[Gpu]) -> tuple[str, ...]:
    """The distinct instance families of ``gpus``, in order."""
    return tuple(
        dict.fromkeys(family for candidate in gpus for family in candidate.instance_families)
    )


def either(words: Iterable[str]) -> str:
    """``A``, ``A or B``, ``A, B or C``: how a message lists alternatives."""
    items = list(words)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"
