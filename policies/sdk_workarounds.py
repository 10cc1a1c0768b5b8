"""Work-arounds for what pulumi-policy's analyzer server costs at scale, applied where the
pack is served (``policies/__main__.py``). Each is safe to lose: without it the pack is
slower, never different.

- pulumi-policy 1.21 decodes a request's resources once per policy
  (``_PolicyAnalyzerServicer.Analyze`` and ``AnalyzeStack``: ``json_format.MessageToDict``
  and ``deserialize_properties`` inside the loop over policies): each resource some twenty
  times in Analyze, and every resource six times in AnalyzeStack with this pack's six
  stack policies. For the length of one request, on its thread, the two calls are memoised
  by the identity of the message (alive for the whole request), so each resource is
  decoded once. The policies read the decoded values through read-only proxies; none
  writes to them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_REQUEST = threading.local()


def _memoised(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def call(value: Any) -> Any:
        memo: dict[int, tuple[Any, Any]] | None = getattr(_REQUEST, "memo", None)
        if memo is None:
            return function(value)
        found = memo.get(id(value))
        if found is None or found[0] is not value:
            found = (value, function(value))
            memo[id(value)] = found
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
    if (
        servicer is None
        or not hasattr(sdk, "json_format")
        or not hasattr(sdk, "deserialize_properties")
    ):
        return False
    if getattr(servicer.AnalyzeStack, "agentfleet_memoised", False):
        return True
    for name in ("Analyze", "AnalyzeStack"):
        setattr(servicer, name, _within_a_request(getattr(servicer, name)))
    sdk.json_format = _JsonFormat(sdk.json_format)
    decode = getattr(sdk, "deserialize_properties")  # noqa: B009
    setattr(sdk, "deserialize_properties", _memoised(decode))  # noqa: B010
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
