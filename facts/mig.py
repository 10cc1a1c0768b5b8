"""NVIDIA MIG geometry: which layouts of GPU instances fit on one GPU, and where.

A MIG-capable GPU has 7 compute slices and 8 memory slices. Each profile takes a number of
compute slices and a run of memory slices that must start at one of the profile's start
slots. A layout (profile -> count) is valid exactly when every instance gets a start slot
with no two instances overlapping and at most 7 compute slices are used in all. A ``+me``
profile also takes the GPU's media engines, of which there is one set.

The shapes are the same on every GPU with 8 memory slices; only the memory in each
profile's name differs (NVIDIA's MIG user guide).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from facts.catalog import CATALOG

COMPUTE_SLICES = 7
MEMORY_SLICES = 8


class MigLayoutError(ValueError):
    """A layout that cannot be applied to the GPU; the message says why."""


@dataclass(frozen=True)
class Profile:
    name: str
    compute: int
    """Compute slices the instance takes."""
    width: int
    """Consecutive memory slices the instance takes."""
    starts: tuple[int, ...]
    """Memory slices the instance may start at."""
    media_engines: bool = False
    """A ``+me`` profile takes the GPU's one set of media engines."""
    memory_gib: Decimal = Decimal(0)
    """The memory the instance has (GiB), as ``nvidia-smi mig -lgip`` lists it: what vLLM
    inside it budgets from."""


@dataclass(frozen=True)
class MigModel:
    key: str
    profiles: Mapping[str, Profile]


@dataclass(frozen=True)
class Slot:
    """Where one instance of a layout sits: its profile and first memory slice."""

    profile: str
    start: int


def _model(key: str, small: int, double: int, half: int, full: int, gib: str) -> MigModel:
    """The profile set of an 8-memory-slice GPU from the memory (GB) in each shape's name
    and the GiB ``nvidia-smi mig -lgip`` lists for 1, 2, 4 and 8 memory slices."""
    one, two, four, eight = (Decimal(figure) for figure in gib.split())
    shapes = (
        Profile(f"1g.{small}gb", 1, 1, tuple(range(7)), memory_gib=one),
        Profile(f"1g.{small}gb+me", 1, 1, tuple(range(7)), media_engines=True, memory_gib=one),
        Profile(f"1g.{double}gb", 1, 2, (0, 2, 4, 6), memory_gib=two),
        Profile(f"2g.{double}gb", 2, 2, (0, 2, 4), memory_gib=two),
        Profile(f"3g.{half}gb", 3, 4, (0, 4), memory_gib=four),
        Profile(f"4g.{half}gb", 4, 4, (0,), memory_gib=four),
        Profile(f"7g.{full}gb", 7, 8, (0,), memory_gib=eight),
    )
    return MigModel(key, MappingProxyType({shape.name: shape for shape in shapes}))


_MODELS: dict[str, MigModel] = {
    model.key: model
    for model in (
        # Memory per instance from `nvidia-smi mig -lgip` listings on each GPU. H200's is
        # not confirmed here: 94% of the name's GB, in GiB, rounded down (it errs low).
        _model("A100-40GB", 5, 10, 20, 40, "4.75 9.75 19.62 39.50"),
        _model("A100-80GB", 10, 20, 40, 80, "9.50 19.50 39.25 79.25"),
        _model("H100-80GB", 10, 20, 40, 80, "9.75 19.62 39.38 79.12"),
        _model("H200-141GB", 18, 35, 71, 141, "15.75 30.64 62.15 123.43"),
    )
}
MODELS: Mapping[str, MigModel] = MappingProxyType(_MODELS)
"""Every MIG geometry by key, read-only (a view of ``_MODELS``). A new MIG GPU adds its
entry to ``_MODELS`` (``_model`` makes it from the memory in each shape's name) and names
it as its catalog entry's ``mig_model``."""


def model_for(gpu: str) -> MigModel:
    """The MIG geometry of a catalog GPU key or a MIG model key (e.g. ``H200-141GB``)."""
    if gpu in MODELS:
        return MODELS[gpu]
    if gpu not in CATALOG:
        raise MigLayoutError(f"unknown GPU {gpu!r}; known: {', '.join([*CATALOG, *MODELS])}")
    model_key = CATALOG[gpu].mig_model
    if model_key is None:
        raise MigLayoutError(f"{gpu} has no MIG: it cannot be partitioned")
    return MODELS[model_key]


def profiles(gpu: str) -> tuple[str, ...]:
    """The MIG profile names a GPU offers; empty for a GPU without MIG."""
    if gpu in CATALOG and CATALOG[gpu].mig_model is None:
        return ()
    return tuple(model_for(gpu).profiles)


def validate(gpu: str, layout: Mapping[str, int]) -> tuple[Slot, ...]:
    """Check ``layout`` on ``gpu`` and return a witness placement (one slot per instance).

    Raises MigLayoutError saying why when the layout cannot be applied: no MIG on this
    GPU, an unknown profile, a count below one, too many compute slices, a second set of
    media engines, or no free start slot for some profile.
    """
    model = model_for(gpu)
    for name, count in layout.items():
        if name not in model.profiles:
            raise MigLayoutError(
                f"unknown MIG profile {name!r} for {gpu}; known: {', '.join(model.profiles)}"
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise MigLayoutError(f"count of {name} must be a whole number of at least 1")
    instances = [model.profiles[name] for name, count in layout.items() for _ in range(count)]
    compute = sum(profile.compute for profile in instances)
    if compute > COMPUTE_SLICES:
        raise MigLayoutError(
            f"{_describe(layout)} needs {compute} compute slices; {gpu} has {COMPUTE_SLICES}"
        )
    media = sum(count for name, count in layout.items() if model.profiles[name].media_engines)
    if media > 1:
        raise MigLayoutError(
            f"{_describe(layout)} asks for {media} instances with media engines; {gpu} has one set"
        )
    # Widest and least flexible first: they have the fewest places to go.
    instances.sort(key=lambda profile: (-profile.width, len(profile.starts), profile.name))
    placed, slots = _place(instances)
    if placed < len(instances):
        blocked = instances[placed]
        raise MigLayoutError(
            f"no free start slot for {blocked.name} (it starts at "
            f"{', '.join(map(str, blocked.starts))} and takes {blocked.width} of "
            f"{MEMORY_SLICES} memory slices) in {_describe(layout)} on {gpu}"
        )
    return tuple(sorted(slots, key=lambda slot: (slot.start, slot.profile)))


def _place(instances: list[Profile]) -> tuple[int, list[Slot]]:
    """Backtracking placement. Returns how many leading instances fit, and their slots."""
    best: tuple[int, list[Slot]] = (0, [])
    slots: list[Slot] = []

    def search(index: int, used: int) -> bool:
        nonlocal best
        if index > best[0]:
            best = (index, list(slots))
        if index == len(instances):
            return True
        profile = instances[index]
        for start in profile.starts:
            mask = ((1 << profile.width) - 1) << start
            if start + profile.width > MEMORY_SLICES or used & mask:
                continue
            slots.append(Slot(profile.name, start))
            if search(index + 1, used | mask):
                return True
            slots.pop()
        return False

    search(0, 0)
    return best


def _describe(layout: Mapping[str, int]) -> str:
    return "{" + ", ".join(f"{name}: {count}" for name, count in layout.items()) + "}"


def mig_parted_entry(layout: Mapping[str, int]) -> list[dict[str, Any]]:
    """The mig-parted config entry (``mig-configs.<name>``) that applies ``layout`` to
    every GPU of a node. Give it a layout ``validate`` accepted (``components.MigLayout``
    is checked when it is made), so an entry is only ever emitted for a layout that fits."""
    return [{"devices": "all", "mig-enabled": True, "mig-devices": dict(layout)}]


def resource_name(profile: str) -> str:
    """The extended resource a pod requests for one instance (mixed strategy), as the
    NVIDIA device plugin names it: ``+`` becomes ``.`` (``1g.10gb+me`` is advertised as
    ``nvidia.com/mig-1g.10gb.me``)."""
    return f"nvidia.com/mig-{profile.replace('+', '.')}"


def slug(profile: str) -> str:
    """A profile as part of a Kubernetes or AWS name: ``1g.10gb+me`` -> ``1g-10gb-me``."""
    return profile.replace(".", "-").replace("+", "-")
