"""What a vLLM container serves and on what: its model (by name from the shipped table, or
from the pod's model-profile annotation), the GPU memory its resources give it, and the
arguments vLLM budgets with. model-fits-gpu and model-shape-known read workloads through it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts import mig, models
from facts import weights as model_weights
from facts.catalog import CATALOG
from facts.labels import GPU, GPU_RESOURCE, MODEL_PROFILE
from facts.models import Model, ModelConfigError
from facts.resource_types import DEPLOYMENT
from facts.vllm_memory import DEFAULT_GPU_MEMORY_UTILIZATION
from policies.properties import argument, containers, gpu_requests, is_vllm, items, number, pod_meta


@dataclass(frozen=True)
class Served:
    """One vLLM container: what it serves, on how much memory; ``unknown`` says why the
    fit cannot be checked (None when it can)."""

    container: str
    model_name: str
    model: Model | None
    device_gib: Decimal | None
    gpu_class: str | None
    where: str
    """The GPUs as a person names them: ``one L40S``, ``each of 4 H100s``, ``a 1g.10gb slice``."""
    tensor_parallel: int
    utilization: Fraction
    max_model_len: int | None
    batched_tokens: int | None
    """--max-num-batched-tokens; None: vLLM's default for the device."""
    slice: mig.Profile | None
    """The MIG profile one replica runs in; None for whole GPUs."""
    unknown: str | None


def model_argument(argv: list[str]) -> str | None:
    """What vLLM loads, as its argv gives it: a Hub id, a path, or an object-store folder."""
    named = argument(argv, "--model")
    if named:
        return named
    if "serve" in argv:
        after = argv[argv.index("serve") + 1 :]
        if after and not after[0].startswith("-"):
            return after[0]
    return None


def _model_name(argv: list[str]) -> str | None:
    """The model's name to look up: what vLLM loads, or, for a store's S3 copy, the name it
    serves it under (the Hub id it was mirrored from)."""
    loaded = model_argument(argv)
    served = argument(argv, "--served-model-name")
    if loaded is not None and model_weights.is_s3(loaded) and served:
        return served
    return loaded


def _model(name: str, annotations: Mapping[str, Any]) -> tuple[Model | None, str | None]:
    profile = annotations.get(MODEL_PROFILE)
    if isinstance(profile, str):
        try:
            return models.from_profile(name, profile), None
        except ModelConfigError as error:
            return None, f"its {MODEL_PROFILE} annotation is not a model profile ({error})"
    known = models.find(name)
    if known is None:
        return None, (
            f"{name} is not in the shipped model table and the pod has no {MODEL_PROFILE} "
            "annotation (give the tier a modelProfile)"
        )
    return known, None


def _device(
    gpu_key: Any, resource: str, count: float | None
) -> tuple[Decimal | None, str | None, str, str | None, mig.Profile | None]:
    """Memory of one device, the GPU class, how to name the devices, why unknown, and the
    MIG profile when the pod asks for a slice."""
    if not isinstance(gpu_key, str) or gpu_key not in CATALOG:
        return None, None, "", f"the pod does not say which catalog GPU it runs on ({GPU})", None
    gpu = CATALOG[gpu_key]
    if resource == GPU_RESOURCE:
        devices = int(count or 1)
        where = f"one {gpu.gpu_class}" if devices == 1 else f"each of {devices} {gpu.gpu_class}s"
        return gpu.memory_gib, gpu.gpu_class, where, None, None
    profile = resource.removeprefix("nvidia.com/mig-")
    profile = profile[:-3] + "+me" if profile.endswith(".me") else profile
    try:
        geometry = mig.model_for(gpu_key)
    except mig.MigLayoutError as error:
        return None, None, "", str(error), None
    if profile not in geometry.profiles:
        return None, None, "", f"{profile} is not a MIG profile of {gpu_key}", None
    shape = geometry.profiles[profile]
    return shape.memory_gib, gpu.gpu_class, f"a {profile} slice", None, shape


def served(props: Mapping[str, Any]) -> Iterator[Served]:
    """Each vLLM container of a workload that asks for GPUs."""
    annotations = pod_meta(props, "annotations")
    for container in containers(props):
        if not is_vllm(container):
            continue
        requests = gpu_requests(container)
        if not requests:
            continue
        argv = [
            str(word) for word in [*items(container.get("command")), *items(container.get("args"))]
        ]
        name = _model_name(argv) or ""
        model, unknown = _model(name, annotations) if name else (None, "it names no model")
        count = number(((container.get("resources") or {}).get("limits") or {}).get(requests[0]))
        device, gpu_class, where, device_unknown, shape = _device(
            annotations.get(GPU), requests[0], count
        )
        share = number(argument(argv, "--gpu-memory-utilization"))
        length = number(argument(argv, "--max-model-len"))
        steps = number(argument(argv, "--max-num-batched-tokens"))
        yield Served(
            container=str(container.get("name")),
            model_name=name,
            model=model,
            device_gib=device,
            gpu_class=gpu_class,
            where=where,
            tensor_parallel=int(number(argument(argv, "--tensor-parallel-size")) or 1),
            utilization=Fraction(str(share)) if share else DEFAULT_GPU_MEMORY_UTILIZATION,
            max_model_len=int(length) if length else None,
            batched_tokens=int(steps) if steps else None,
            slice=shape,
            unknown=unknown or device_unknown,
        )


def served_by(args: ResourceValidationArgs) -> list[Served]:
    """The vLLM containers of the Deployment ``args`` judges; not applicable to any other
    resource, nor to a Deployment that runs no vLLM server on GPUs."""
    if args.resource_type != DEPLOYMENT:
        args.not_applicable("not a Deployment")
    servers = list(served(args.props))
    if not servers:
        args.not_applicable("runs no vLLM server on GPUs")
    return servers
