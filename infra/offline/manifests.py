"""Kubernetes objects as `kubectl apply` reads them, from what the program declared.

Under Pulumi's mocks (and on the wire to the engine) numbers arrive as floats and unset
fields as None; a manifest has integers where the schema wants them and no nulls.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc

from infra.offline.mocks import Registration

REDACTED = "[secret]"


def clean(value: Any, *, redact: bool = False) -> Any:
    """Integral floats as ints, None-valued keys dropped, Pulumi secrets unwrapped (or,
    with ``redact``, kept in shape with every value replaced by ``[secret]``)."""
    if rpc.is_rpc_secret(value):
        inner = clean(rpc.unwrap_rpc_secret(value))
        return _redacted(inner) if redact else inner
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: clean(item, redact=redact) for k, item in value.items() if item is not None}
    if isinstance(value, list):
        return [clean(item, redact=redact) for item in value]
    return value


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return REDACTED


HELM = "kubernetes:helm.sh/"


def is_kubernetes_object(registration: Registration) -> bool:
    """A Kubernetes object, not a Helm release (which is the chart's many objects)."""
    return (
        registration.custom
        and registration.type.startswith("kubernetes:")
        and not registration.type.startswith(HELM)
    )


def manifest(registration: Registration, *, redact: bool = False) -> dict[str, Any]:
    """The manifest of a recorded Kubernetes resource; ``redact`` hides secret values."""
    if not is_kubernetes_object(registration):
        raise ValueError(f"{registration.type} {registration.name} is not a Kubernetes object")
    body = clean(registration.inputs, redact=redact)
    group_version, kind = registration.type.removeprefix("kubernetes:").rsplit(":", 1)
    body.setdefault("apiVersion", group_version.removeprefix("core/"))
    body.setdefault("kind", kind)
    return {"apiVersion": body.pop("apiVersion"), "kind": body.pop("kind"), **body}
