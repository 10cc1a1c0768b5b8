"""Will it fit? A tier's model against its GPUs, the way vLLM budgets memory
(``facts.vllm_memory``): the tensor-parallel degree and instance type that fit, the KV tokens
a replica holds and the sessions that makes. Plain functions over plain data, no Pulumi.

Where the stack does not pin them, the planner picks the instance type and tensor-parallel
degree that serve the most sessions per GPU (never more than the catalog's figure), and
among equals the smallest degree, the catalog's instance type, the fewest GPUs per node.
"Smallest degree that fits" alone would starve the KV cache: Llama-3.1-70B fits two H100s
with room for 13 sessions a GPU, and four with room for the catalog's 100.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from facts import mig, models
from facts.catalog import CATALOG, Gpu, InstanceType
from facts.models import Model, ModelConfigError
from facts.serving import Workload, step_budget
from facts.vllm_memory import Budget, budget, gib
from infra.config import TierConfig
from infra.physics import Demand, PhysicsError, Serving, demand_of, serve_shape, workload_for

CONFIG_JSON_MAX_BYTES = 1_000_000
"""A model's config.json is a few KB; a larger file is not one."""


class FitError(ValueError):
    """A model that cannot fit what the tier pinned; ``key`` is the tier key to blame."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


def read_local_model(path: str, inside: Path | None = None) -> Model | None:
    """The model in a local directory, from its ``config.json``; None when ``path`` is not a
    directory on this machine (a Hugging Face id, or a path inside the image). With
    ``inside`` (a stack's project folder), only a relative path whose directory and
    config.json, symlinks followed, stay inside it is read: a stack file under review must
    not make the plan read (and print) files elsewhere on the machine."""
    folder = Path(path)
    if inside is not None:
        root = inside.resolve()
        if folder.is_absolute() or not all(
            (root / p).resolve().is_relative_to(root) for p in (folder, folder / "config.json")
        ):
            return None
        folder = root / folder
    config = folder / "config.json"
    if not folder.is_dir() or not config.is_file():
        return None
    if config.stat().st_size > CONFIG_JSON_MAX_BYTES:
        raise FitError("model", f"{config} is over {CONFIG_JSON_MAX_BYTES:,} bytes: not a model's")
    try:
        loaded = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FitError("model", f"cannot read {config}: {error}") from None
    if not isinstance(loaded, dict):
        raise FitError("model", f"{config} is not a JSON object")
    try:
        return models.from_config(path, loaded)
    except ModelConfigError as error:
        raise FitError("model", f"{config}: {error}") from None


@dataclass(frozen=True)
class ShapeFit:
    """One replica shape (whole GPUs, or one MIG profile) with its model's budget."""

    profile: str | None
    model_name: str
    """The model this shape serves: the tier's, or another in a MIG slice of its own."""
    tensor_parallel: int
    budget: Budget | None
    """None when the model is unknown: nothing can be checked."""
    catalog_sessions: int
    """Sessions the catalog's per-GPU figure gives a replica of this shape."""
    sessions: int
    """Sessions a replica is planned for (``serving`` says what bound them)."""
    session_tokens: int
    serving: Serving
    """The replica at its planned batch: the serving model's figures, and the bound."""

    @property
    def model(self) -> Model | None:
        """The shape's model, when it could be sized."""
        return None if self.budget is None else self.budget.model

    @property
    def kv_sessions(self) -> int | None:
        """Sessions the KV cache holds; None for an unknown model or an embedding model."""
        if self.budget is None or self.budget.model.embedding:
            return None
        return self.budget.sessions(self.session_tokens)

    @property
    def max_model_len(self) -> int | None:
        return None if self.budget is None else self.budget.max_model_len()

    @property
    def kv_limited(self) -> bool:
        return self.serving.bound == "kv"

    @property
    def per_gpu_capacity(self) -> Fraction:
        """Interactions of the tier's expected concurrency one GPU of this shape carries:
        its sessions over the pace they run at, per GPU."""
        return Fraction(self.sessions) / self.serving.pace / self.tensor_parallel


@dataclass(frozen=True)
class TierFit:
    model: Model | None
    instance: InstanceType
    shapes: tuple[ShapeFit, ...]
    notes: tuple[str, ...]


def _shape(
    name: str,
    device: Budget | None,
    profile: str | None,
    tensor_parallel: int,
    catalog: int,
    place: tuple[Gpu, InstanceType],
    demand: Demand,
) -> ShapeFit:
    gpu, instance = place
    model = None if device is None else device.model
    serving = serve_shape(model, device, gpu, instance, tensor_parallel, profile, catalog, demand)
    return ShapeFit(
        profile,
        name,
        tensor_parallel,
        device,
        catalog,
        serving.sessions,
        demand.kv_tokens,
        serving,
    )


def stepped(device: Budget, work: Workload, where: tuple[Decimal, str, Fraction]) -> Budget:
    """The budget again with the step budget (``--max-num-batched-tokens``) the sessions its
    KV cache holds need to keep their prompts flowing (``facts.serving.step_budget``): a
    larger step's activations leave the KV cache a little less. Where the larger step would
    not fit, vLLM's default stays. ``where``: the device's memory, class and the share vLLM
    takes of it."""
    model = device.model
    if model.embedding:
        return device
    tokens = step_budget(device.batched_tokens, device.sessions(work.kv_tokens), work)
    if tokens == device.batched_tokens:
        return device
    memory, gpu_class, utilization = where
    larger = budget(model, memory, gpu_class, device.tensor_parallel, utilization, tokens)
    return device if _problem(model, larger, "", work.kv_tokens) else larger


def _problem(model: Model, device: Budget, where: str, session_tokens: int) -> str | None:
    """Why ``model`` cannot serve from ``where``, or None when one full session fits."""
    if not device.fits_weights:
        return (
            f"{model.name} needs {gib(model.weight_bytes)} of weights"
            + (f" ({gib(device.weights)} a GPU)" if device.tensor_parallel > 1 else "")
            + f"; {where} has {gib(device.usable)} for vLLM (gpuMemoryUtilization), "
            f"{gib(device.activation + device.overhead)} of it for activations and CUDA"
        )
    if not model.embedding and device.kv_tokens < session_tokens:
        return (
            f"{model.name} leaves room for {device.kv_tokens} tokens of KV cache on {where}; "
            f"one session takes {session_tokens} (sessionTokens)"
        )
    return None


def fit_slices(
    served: Mapping[str, tuple[str, Model | None]],
    gpu: Gpu,
    instance: InstanceType,
    per_gpu: int,
    demand: Demand,
    utilization: Fraction,
    main: str,
) -> TierFit:
    """Each MIG profile serving its model (by name, and its shape when known) in one
    replica; a profile too small for its model is refused on the tier's ``mig`` key, or
    ``migModels`` when the model is not the tier's ``main`` one."""
    geometry = mig.model_for(gpu.key)
    session_tokens = demand.kv_tokens
    devices: dict[str, Budget | None] = {}
    for name, (model_name, model) in served.items():  # every slice's memory first
        devices[name] = None
        if model is not None:
            memory = geometry.profiles[name].memory_gib
            device = budget(model, memory, gpu.gpu_class, 1, utilization)
            where = f"a {name} slice"
            problem = _problem(model, device, where, session_tokens)
            if problem:
                key = "mig" if model_name == main else f"migModels.{name}"
                raise FitError(key, f"{problem}; use a larger profile or a smaller model")
            work = workload_for(model, demand)
            devices[name] = stepped(device, work, (memory, gpu.gpu_class, utilization))
    shapes, notes = [], []
    for name, (model_name, _) in served.items():
        catalog = max(1, per_gpu * geometry.profiles[name].compute // mig.COMPUTE_SLICES)
        try:
            shape = _shape(model_name, devices[name], name, 1, catalog, (gpu, instance), demand)
        except PhysicsError as error:
            raise FitError(error.key, f"{name} slice: {error}") from None
        if shape.kv_limited:
            notes.append(
                f"{name}: the KV cache holds {shape.kv_sessions} sessions of {session_tokens} "
                f"tokens: planned for {shape.sessions}"
            )
        shapes.append(shape)
    tier_model = next((model for name, model in served.values() if name == main), None)
    return TierFit(tier_model, instance, tuple(shapes), tuple(notes))


def _candidates(
    model: Model | None, gpu: Gpu, instance_type: str | None, gpus_per_replica: int | None
) -> list[tuple[InstanceType, int]]:
    instances = (
        [gpu.instance_type(instance_type)]
        if instance_type is not None
        else list(gpu.instance_types)
    )
    pairs = []
    for instance in instances:
        degrees = (
            [gpus_per_replica]
            if gpus_per_replica is not None
            else [d for d in range(1, instance.gpus + 1) if instance.gpus % d == 0]
        )
        for degree in degrees:
            if instance.gpus % degree:
                continue
            if model is None and gpus_per_replica is None and degree > 1:
                continue  # nothing to gain from splitting a model we cannot size
            if model is not None and not model.splits_over(degree):
                continue
            pairs.append((instance, degree))
    return pairs


def fit_whole_gpus(
    name: str,
    model: Model | None,
    gpu: Gpu,
    instance_type: str | None,
    gpus_per_replica: int | None,
    per_gpu: int,
    demand: Demand,
    utilization: Fraction,
) -> TierFit:
    """The instance type and tensor-parallel degree a replica of ``model`` on whole
    ``gpu``s takes; pinned ones are checked, unpinned ones chosen."""
    pairs = _candidates(model, gpu, instance_type, gpus_per_replica)
    session_tokens = demand.kv_tokens
    if not pairs:
        assert model is not None  # an unknown model splits over any pinned degree
        raise FitError(
            "gpusPerReplica",
            f"vLLM cannot split {model.name} ({model.attention_heads} attention heads, "
            f"{model.kv_heads} KV heads) over {gpus_per_replica} GPUs",
        )
    fits: list[tuple[tuple[object, ...], InstanceType, ShapeFit]] = []
    problems: list[str] = []
    missed: list[PhysicsError] = []
    for instance, degree in pairs:
        device = None
        if model is not None:
            device = budget(model, gpu.memory_gib, gpu.gpu_class, degree, utilization)
            where = f"one {gpu.gpu_class}" if degree == 1 else f"each of {degree} {gpu.gpu_class}s"
            problem = _problem(model, device, where, session_tokens)
            if problem:
                problems.append(problem)
                continue
            work = workload_for(model, demand)
            device = stepped(device, work, (gpu.memory_gib, gpu.gpu_class, utilization))
        try:
            shape = _shape(name, device, None, degree, per_gpu * degree, (gpu, instance), demand)
        except PhysicsError as error:
            missed.append(error)
            continue
        rank = (
            -shape.per_gpu_capacity,
            degree,
            instance.name != gpu.default_instance_type,
            instance.gpus,
        )
        fits.append((rank, instance, shape))
    if not fits and missed:  # the shape nearest to the targets says why
        nearest = min(missed, key=lambda error: error.shortfall)
        raise FitError(nearest.key, str(nearest))
    if not fits:
        assert model is not None
        key = "model"
        if gpus_per_replica is not None:
            key = "gpusPerReplica"
        elif instance_type is not None:
            key = "instanceType"
        raise FitError(key, f"{problems[-1]}; {_remedy(key, gpu)}")
    _, instance, shape = min(fits, key=lambda fit: fit[0])
    return TierFit(model, instance, (shape,), _why(model, gpu, shape, fits, per_gpu))


def _remedy(key: str, gpu: Gpu) -> str:
    if key == "model":
        return (
            f"no {gpu.key} instance type holds it: choose a GPU with more memory or a smaller model"
        )
    if key == "gpusPerReplica":
        return "raise gpusPerReplica (tensor parallelism) or use a smaller model"
    return "choose an instance type with more GPUs (tensor parallelism) or a smaller model"


def _why(
    model: Model | None,
    gpu: Gpu,
    chosen: ShapeFit,
    fits: list[tuple[tuple[object, ...], InstanceType, ShapeFit]],
    per_gpu: int,
) -> tuple[str, ...]:
    if model is None:
        return ()
    notes = []
    smaller = [shape for _, _, shape in fits if shape.tensor_parallel < chosen.tensor_parallel]
    if smaller:
        best = max(smaller, key=lambda shape: shape.per_gpu_capacity)
        notes.append(
            f"tensor parallelism {chosen.tensor_parallel}: a GPU carries "
            f"{float(chosen.per_gpu_capacity):.1f} of the tier's interactions, "
            f"{float(best.per_gpu_capacity):.1f} at {best.tensor_parallel} GPU"
            f"{'s' if best.tensor_parallel > 1 else ''} a replica"
        )
    if chosen.kv_limited and chosen.serving.point is None:
        notes.append(
            f"the KV cache holds {chosen.kv_sessions} sessions of {chosen.session_tokens} "
            f"tokens a replica, below the catalog's {per_gpu} a GPU: planned for "
            f"{chosen.sessions}"
        )
    return tuple(notes)


def served_model(tier: TierConfig, name: str | None = None) -> Model | None:
    """The shape of a tier's model (or of ``name``, another model a MIG slice serves):
    its modelProfile's, the shipped table's, or a local directory's config.json; None when
    none of them knows it. A local config.json that cannot be read is refused on the key
    that named the model."""
    name = name or tier.model
    if tier.model_profile is not None and name == tier.model:
        return tier.model_profile.model(tier.model)
    try:
        return named_model(name, inside=Path.cwd())
    except FitError as error:
        raise FitError("model" if name == tier.model else "migModels", str(error)) from None


def named_model(name: str, inside: Path | None = None) -> Model | None:
    """The model ``name`` names: the shipped table's, or a local directory's config.json
    (``FitError`` when that cannot be read; ``read_local_model`` on ``inside``); None when
    neither knows it."""
    return models.find(name) or read_local_model(name, inside)


def within_context(tier: TierConfig, model: Model | None) -> Model | None:
    """``model``, when a tier's interactions fit its context; ``FitError`` on the token key
    that does not. An encoder reads ``inputTokens`` a request (its default is cut to the
    context, a value the stack sets is not); a decoder keeps the prompt, the reply and the
    earlier turns ``sessionTokens`` carries."""
    if model is None:
        return None
    context = model.max_positions
    if model.embedding:
        if "input_tokens" in tier.model_fields_set and tier.input_tokens > context:
            raise FitError(
                "inputTokens",
                f"{model.name} reads at most {context} tokens a request; inputTokens is "
                f"{tier.input_tokens}",
            )
        return model
    if tier.input_tokens + tier.output_tokens > context:
        raise FitError(
            "inputTokens",
            f"{tier.input_tokens} tokens in and {tier.output_tokens} out exceed {model.name}'s "
            f"context of {context} tokens",
        )
    if tier.session_tokens > context:
        raise FitError(
            "sessionTokens",
            f"{tier.session_tokens} tokens a session exceed {model.name}'s context of "
            f"{context} tokens",
        )
    return model


def fit_tier(tier: TierConfig) -> TierFit:
    """A tier's model against its GPUs: MIG slices, or whole GPUs with the tensor
    parallelism and instance type that serve the most sessions. A shape the stack pinned
    and the model cannot fit raises ``FitError`` on the key that pinned it."""
    gpu = CATALOG[tier.gpu]
    per_gpu = tier.concurrency_per_gpu or gpu.interactions_per_gpu
    utilization = Fraction(tier.gpu_memory_utilization)
    if tier.mig:
        instance = gpu.instance_type(tier.instance_type or gpu.default_instance_type)
        served = {
            profile: (name, within_context(tier, served_model(tier, name)))
            for profile, name in tier.slice_models().items()
        }
        return fit_slices(served, gpu, instance, per_gpu, demand_of(tier), utilization, tier.model)
    return fit_whole_gpus(
        tier.model,
        within_context(tier, served_model(tier)),
        gpu,
        tier.instance_type,
        tier.gpus_per_replica,
        per_gpu,
        demand_of(tier),
        utilization,
    )
