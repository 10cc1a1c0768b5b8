"""MIG geometry: NVIDIA's own layouts validate, impossible ones are refused with the reason,
and validate() agrees with an exhaustive enumeration of every placement."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from facts import mig

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "mig-parted-config-default.yaml"

# PCI device ids of NVIDIA's mig-parted config, per MIG model we know.
DEVICE_IDS = {
    "A100-80GB": {"0x20B210DE", "0x20B510DE"},
    "H100-80GB": {"0x233010DE", "0x233110DE", "0x232210DE"},
    "A100-40GB": {"0x20B010DE", "0x20B110DE"},
    "H200-141GB": {"0x233510DE", "0x233B10DE"},
}


def reference_layouts() -> Iterator[tuple[str, str, dict[str, int]]]:
    """(entry name, MIG model, layout) for every all-* entry that applies to a model."""
    configs = yaml.safe_load(REFERENCE.read_text())["mig-configs"]
    for name, items in configs.items():
        if not name.startswith("all-"):
            continue
        for item in items:
            if not item.get("mig-enabled"):
                continue
            layout = dict(item.get("mig-devices") or {})
            device_filter = item.get("device-filter")
            if device_filter is not None:
                ids = {device_filter} if isinstance(device_filter, str) else set(device_filter)
                models = [model for model, known in DEVICE_IDS.items() if known & ids]
            else:
                models = [
                    model
                    for model in mig.MODELS
                    if all(profile in mig.MODELS[model].profiles for profile in layout)
                ]
            for model in models:
                yield name, model, layout


REFERENCE_CASES = list(reference_layouts())


def test_reference_covers_every_model() -> None:
    per_model = Counter(model for _, model, _ in REFERENCE_CASES)
    # all-enabled, all-1g.10gb, all-1g.10gb.me, all-1g.20gb, all-2g.20gb, all-3g.40gb,
    # all-4g.40gb, all-7g.80gb, all-balanced
    assert per_model["H100-80GB"] == 9
    assert per_model["A100-80GB"] == 9
    assert per_model["A100-40GB"] >= 8
    assert per_model["H200-141GB"] >= 8
    names = {name for name, model, _ in REFERENCE_CASES if model == "H100-80GB"}
    assert "all-balanced" in names


@pytest.mark.parametrize(
    ("entry", "model", "layout"),
    REFERENCE_CASES,
    ids=[f"{name}-{model}" for name, model, _ in REFERENCE_CASES],
)
def test_nvidia_reference_layout_validates(entry: str, model: str, layout: dict[str, int]) -> None:
    slots = mig.validate(model, layout)
    assert Counter(slot.profile for slot in slots) == Counter(layout)
    assert_witness(model, layout, slots)


def test_catalog_keys_share_the_80gb_geometry() -> None:
    balanced = {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1}
    # 1g.10gb cannot start at slice 7, so the 3g.40gb instance must take the upper half.
    expected = [("2g.20gb", 0), ("1g.10gb", 2), ("1g.10gb", 3), ("3g.40gb", 4)]
    for key in ("a100-80gb", "h100-pcie", "h100-sxm", "A100-80GB", "H100-80GB"):
        assert [(slot.profile, slot.start) for slot in mig.validate(key, balanced)] == expected


@pytest.mark.parametrize(
    ("gpu", "layout", "reason"),
    [
        ("l40s", {"1g.10gb": 1}, "l40s has no MIG: it cannot be partitioned"),
        (
            "b200",
            {"1g.10gb": 1},
            "unknown GPU 'b200'; known: l40s, a100-80gb, h100-pcie, "
            "h100-sxm, A100-40GB, A100-80GB, H100-80GB, H200-141GB",
        ),
        (
            "h100-pcie",
            {"1g.5gb": 1},
            "unknown MIG profile '1g.5gb' for h100-pcie; known: "
            "1g.10gb, 1g.10gb+me, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb",
        ),
        ("h100-pcie", {"1g.10gb": 0}, "count of 1g.10gb must be a whole number of at least 1"),
        (
            "h100-pcie",
            {"7g.80gb": 1, "1g.10gb": 1},
            "{7g.80gb: 1, 1g.10gb: 1} needs 8 compute slices; h100-pcie has 7",
        ),
        ("a100-80gb", {"4g.40gb": 2}, "{4g.40gb: 2} needs 8 compute slices; a100-80gb has 7"),
        ("a100-80gb", {"1g.10gb": 8}, "{1g.10gb: 8} needs 8 compute slices; a100-80gb has 7"),
        (
            "h100-pcie",
            {"1g.10gb+me": 2},
            "{1g.10gb+me: 2} asks for 2 instances with media engines; h100-pcie has one set",
        ),
        (
            "h100-pcie",
            {"3g.40gb": 2, "1g.10gb": 1},
            "no free start slot for 1g.10gb (it starts at 0, 1, 2, 3, 4, 5, 6 and takes 1 of 8 "
            "memory slices) in {3g.40gb: 2, 1g.10gb: 1} on h100-pcie",
        ),
        (
            "h100-pcie",
            {"1g.20gb": 4, "1g.10gb": 1},
            "no free start slot for 1g.10gb (it starts at 0, 1, 2, 3, 4, 5, 6 and takes 1 of 8 "
            "memory slices) in {1g.20gb: 4, 1g.10gb: 1} on h100-pcie",
        ),
        (
            "a100-80gb",
            {"3g.40gb": 1, "1g.20gb": 3},
            "no free start slot for 1g.20gb (it starts at 0, 2, 4, 6 and takes 2 of 8 memory "
            "slices) in {3g.40gb: 1, 1g.20gb: 3} on a100-80gb",
        ),
        (
            "a100-80gb",
            {"4g.40gb": 1, "3g.40gb": 1, "1g.10gb": 1},
            "{4g.40gb: 1, 3g.40gb: 1, 1g.10gb: 1} needs 8 compute slices; a100-80gb has 7",
        ),
    ],
)
def test_impossible_layout_is_refused_with_the_reason(
    gpu: str, layout: dict[str, int], reason: str
) -> None:
    with pytest.raises(mig.MigLayoutError) as raised:
        mig.validate(gpu, layout)
    assert str(raised.value) == reason


@pytest.mark.parametrize(
    "layout",
    [
        {"4g.40gb": 1, "3g.40gb": 1},
        {"2g.20gb": 3, "1g.20gb": 1},
        {"2g.20gb": 3, "1g.10gb": 1},
        {"4g.40gb": 1, "2g.20gb": 1, "1g.20gb": 1},
        {"1g.10gb": 7},
        {"1g.10gb+me": 1, "1g.10gb": 6},
        {"2g.20gb": 1, "1g.10gb": 1},  # an orchestrator beside embeddings on one GPU
    ],
)
def test_tight_layouts_fit(layout: dict[str, int]) -> None:
    assert_witness("H100-80GB", layout, mig.validate("h100-pcie", layout))


def test_mig_parted_entry() -> None:
    # The layout is checked where it is made (components.MigLayout; its test refuses
    # {7g.80gb: 1, 1g.10gb: 1}); the entry only writes it out.
    assert mig.mig_parted_entry({"2g.20gb": 1, "1g.10gb": 1}) == [
        {"devices": "all", "mig-enabled": True, "mig-devices": {"2g.20gb": 1, "1g.10gb": 1}}
    ]


def test_resource_name_is_the_mixed_strategy_resource() -> None:
    assert mig.resource_name("2g.20gb") == "nvidia.com/mig-2g.20gb"
    # k8s-device-plugin v0.18: a `+me` profile's resource has `.me` (`+` is not allowed).
    assert mig.resource_name("1g.10gb+me") == "nvidia.com/mig-1g.10gb.me"


def test_a_profile_in_a_name_has_only_name_characters() -> None:
    assert mig.slug("1g.10gb+me") == "1g-10gb-me"
    assert mig.slug("3g.40gb") == "3g-40gb"


# --- an independent oracle: every placement of every layout, by brute force -----------


def assert_witness(model: str, layout: Mapping[str, int], slots: tuple[mig.Slot, ...]) -> None:
    """The placement is one slot per instance, each at an allowed start, none overlapping,
    within 7 compute slices and one set of media engines."""
    profiles = mig.model_for(model).profiles
    assert Counter(slot.profile for slot in slots) == Counter(
        {name: count for name, count in layout.items() if count}
    )
    taken: set[int] = set()
    for slot in slots:
        profile = profiles[slot.profile]
        assert slot.start in profile.starts
        cells = set(range(slot.start, slot.start + profile.width))
        assert max(cells) < mig.MEMORY_SLICES
        assert not cells & taken
        taken |= cells
    assert sum(profiles[slot.profile].compute for slot in slots) <= mig.COMPUTE_SLICES
    assert sum(profiles[slot.profile].media_engines for slot in slots) <= 1


Layout = frozenset[tuple[str, int]]


def _key(counts: Mapping[str, int]) -> Layout:
    return frozenset((name, count) for name, count in counts.items() if count)


@functools.cache
def feasible(model: str) -> frozenset[Layout]:
    """Every layout that has some placement, found by placing instances left to right in
    every possible way."""
    profiles = list(mig.MODELS[model].profiles.values())
    found: set[Layout] = {frozenset()}

    def extend(first_free: int, used: int, compute: int, media: int, counts: Counter[str]) -> None:
        for profile in profiles:
            for start in profile.starts:
                mask = ((1 << profile.width) - 1) << start
                if (
                    start < first_free
                    or start + profile.width > mig.MEMORY_SLICES
                    or used & mask
                    or compute + profile.compute > mig.COMPUTE_SLICES
                    or media + profile.media_engines > 1
                ):
                    continue
                counts[profile.name] += 1
                found.add(_key(counts))
                extend(
                    start + 1,
                    used | mask,
                    compute + profile.compute,
                    media + profile.media_engines,
                    counts,
                )
                counts[profile.name] -= 1

    extend(0, 0, 0, 0, Counter())
    return frozenset(found)


def maximal(model: str) -> list[dict[str, int]]:
    """Feasible layouts to which no profile can be added."""
    names = list(mig.MODELS[model].profiles)
    layouts = feasible(model)
    result = []
    for layout in layouts:
        counts = Counter(dict(layout))
        if all(_key(counts + Counter({name: 1})) not in layouts for name in names):
            result.append(dict(counts))
    return sorted(result, key=lambda layout: sorted(layout.items()))


MODEL_KEYS = sorted(mig.MODELS)


@st.composite
def layouts(draw: Any) -> tuple[str, dict[str, int]]:
    model = draw(st.sampled_from(MODEL_KEYS))
    names = list(mig.MODELS[model].profiles)
    counts = draw(st.dictionaries(st.sampled_from(names), st.integers(1, 8), min_size=1))
    return model, counts


@settings(max_examples=400, deadline=None)
@given(layouts())
def test_validate_agrees_with_exhaustive_enumeration(case: tuple[str, dict[str, int]]) -> None:
    model, layout = case
    try:
        slots = mig.validate(model, layout)
    except mig.MigLayoutError:
        assert _key(layout) not in feasible(model)
    else:
        assert _key(layout) in feasible(model)
        assert_witness(model, layout, slots)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_adding_any_profile_to_a_maximal_layout_is_rejected(data: st.DataObject) -> None:
    model = data.draw(st.sampled_from(MODEL_KEYS))
    layout = data.draw(st.sampled_from(maximal(model)))
    assert_witness(model, layout, mig.validate(model, layout))
    extra = data.draw(st.sampled_from(list(mig.MODELS[model].profiles)))
    grown = dict(Counter(layout) + Counter({extra: 1}))
    with pytest.raises(mig.MigLayoutError):
        mig.validate(model, grown)


def test_oracle_is_not_trivial() -> None:
    # 7 x 1g.10gb, 1 x 7g.80gb and the balanced layout are all maximal on an 80GB GPU.
    found = maximal("H100-80GB")
    assert {"1g.10gb": 7} in found
    assert {"7g.80gb": 1} in found
    assert {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1} in found
    assert len(feasible("H100-80GB")) > 50
