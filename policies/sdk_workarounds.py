"""Work-arounds for what pulumi-policy's analyzer server costs at scale, applied where the
pack is served (``policies/__main__.py``). Each is safe to lose: without it the pack is
slower, never different.

- pulumi-policy 1.21 decodes a request's resources once per policy
  (``_PolicyAnalyzerServicer.Analyze`` and ``AnalyzeStack``: ``json_format.MessageToDict``,
  ``deserialize_properties`` and ``unknown_checking_proxy`` inside the loop over
  policies): each resource some twenty times in Analyze, and every resource six times in
  AnalyzeStack with this pack's six stack policies. Building the proxies alone was two
  fifths of the pack's time at 100 tiers. For the length of one request, on its thread,
  the three calls are memoised by the identity of their argument (alive for the whole
  request), so each resource is decoded and wrapped once. The policies read the decoded
  values through the proxies and none writes to them, so sharing one between policies
  changes nothing they see.

  Any other call (``Remediate`` passes ``deserialize_properties`` a second argument, and
  runs outside Analyze) goes straight to the SDK.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_REQUEST = threading.local()
_DECODERS = ("json_format", "deserialize_properties", "unknown_checking_proxy")
"""What pulumi_policy.policy calls per policy; json_format's MessageToDict is the one
memoised of that module."""


def _memoised(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(value: Any, *rest: Any, **options: Any) -> Any:
        memo: dict[tuple[int, int], tuple[Any, Any]] | None = getattr(_REQUEST, "memo", None)
        if memo is None or rest or options:
            return function(value, *rest, **options)
        key = (id(function), id(value))
        found = memo.get(key)
        if found is None or found[0] is not value:
            found = (value, function(value))
            memo[key] = found
        return found[1]

    return call


class _JsonFormat:
    """protobuf's json_format as pulumi-policy's module sees it, MessageToDict memoised."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.MessageToDict = _memoised(module.MessageToDict)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def memoise_decoding() -> bool:
    """Decode each resource of an Analyze or AnalyzeStack request once; False when this
    pulumi-policy does not have the shape this was written for (then nothing is changed)."""
    try:
        from pulumi_policy import policy as sdk
    except ImportError:
        return False
    servicer = getattr(sdk, "_PolicyAnalyzerServicer", None)
    if servicer is None or not all(hasattr(sdk, name) for name in _DECODERS):
        return False
    if getattr(servicer.AnalyzeStack, "agentfleet_memoised", False):
        return True
    for name in ("Analyze", "AnalyzeStack"):
        setattr(servicer, name, _within_a_request(getattr(servicer, name)))
    setattr(sdk, "json_format", _JsonFormat(getattr(sdk, "json_format")))  # noqa: B009, B010
    for name in _DECODERS[1:]:
        setattr(sdk, name, _memoised(getattr(sdk, name)))
    return True


def _within_a_request(method: Callable[..., Any]) -> Callable[..., Any]:
    def serve(self: Any, request: Any, context: Any) -> Any:
        _REQUEST.memo = {}
        try:
            return method(self, request, context)
        finally:
            _REQUEST.memo = None

    serve.agentfleet_memoised = True  # type: ignore[attr-defined]
    return serve
