"""The GPU catalog holds the seed's figures exactly (docs/capacity-and-cost.md);
adding a GPU means adding its row here (the catalog's docstring has the whole recipe)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from facts import mig
from facts.catalog import CATALOG, classes, families, gpu, gpu_for, suited

# key: (class, memory GB, interactions/GPU, on-demand $/h, spot $/h, latency class,
#       MIG model, default instance type, GPUs on it, instance families)
EXPECTED = {
    "l40s": ("L40S", 48, 50, "0.72", None, "throughput-first", None, "g6e.2xlarge", 1, ("g6e",)),
    "a100-80gb": ("A100", 80, 75, "1.04", "1.14", "throughput-first", "A100-80GB",
                  "p4de.24xlarge", 8, ("p4de",)),
    "h100-pcie": ("H100", 80, 100, "2.51", None, "ttft-first", "H100-80GB", "p5.4xlarge", 1,
                  ("p5",)),
    "h100-sxm": ("H100", 80, 100, "4.41", None, "ttft-first", "H100-80GB", "p5.48xlarge", 8,
                 ("p5",)),
}  # fmt: skip


def test_every_catalog_entry_has_a_row_here() -> None:
    assert set(CATALOG) == set(EXPECTED)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_entry_matches_spec(key: str) -> None:
    gpu_class, memory, per_gpu, on_demand, spot, latency, mig_model, instance, gpus, fams = (
        EXPECTED[key]
    )
    entry = CATALOG[key]
    assert entry.key == key
    assert entry.gpu_class == gpu_class
    assert entry.instance_families == fams
    assert entry.memory_gb == memory
    assert entry.interactions_per_gpu == per_gpu
    assert entry.on_demand_price == Decimal(on_demand)
    assert entry.spot_price == (None if spot is None else Decimal(spot))
    assert entry.latency_class == latency
    assert entry.mig_model == mig_model
    assert entry.supports_mig is (mig_model is not None)
    assert entry.default_instance_type == instance
    assert entry.instance_type(instance).gpus == gpus


@pytest.mark.parametrize(
    ("name", "gpus"),
    [
        ("g6e.xlarge", 1),
        ("g6e.16xlarge", 1),
        ("g6e.12xlarge", 4),
        ("g6e.24xlarge", 4),
        ("g6e.48xlarge", 8),
    ],
)
def test_l40s_instance_family(name: str, gpus: int) -> None:
    assert CATALOG["l40s"].instance_type(name).gpus == gpus


def test_h100_instances_are_p5() -> None:
    for key in ("h100-pcie", "h100-sxm"):
        assert CATALOG[key].instance_type_names == ("p5.4xlarge", "p5.48xlarge")


def test_mig_profile_sets() -> None:
    eighty = ("1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")
    assert mig.profiles("a100-80gb") == eighty
    assert mig.profiles("h100-pcie") == eighty
    assert mig.profiles("h100-sxm") == eighty
    assert mig.profiles("l40s") == ()


def test_unknown_gpu_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown GPU 'b200'; known: l40s, a100-80gb"):
        gpu("b200")


@pytest.mark.parametrize(
    ("mark", "instance_types", "expected"),
    [
        ("h100-sxm", ["p5.48xlarge"], "h100-sxm"),  # the mark names the key exactly
        (None, ["p5.48xlarge"], "h100-pcie"),  # the first key that carries the type
        ("not-a-key", ["g6e.2xlarge"], "l40s"),
        (None, ["g6e.metal"], "l40s"),  # an unknown size of a known family
        (None, ["p4de.24xlarge", "g6e.2xlarge"], "a100-80gb"),
        (None, ["g5.xlarge"], None),  # A10G: not in the catalog
        (None, [], None),
    ],
)
def test_gpu_for_a_node_group(
    mark: str | None, instance_types: list[str], expected: str | None
) -> None:
    found = gpu_for(mark, instance_types)
    assert (found.key if found else None) == expected


def test_latency_classes_from_the_catalog() -> None:
    assert classes(suited("ttft-first")) == ("H100",)
    assert classes(suited("throughput-first")) == ("L40S", "A100")
    assert families(suited("throughput-first")) == ("g6e", "p4de")
    assert suited("no-such-class") == ()
