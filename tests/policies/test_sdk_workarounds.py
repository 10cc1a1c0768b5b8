"""The pack's work-around for pulumi-policy decoding a resource once per policy: it
applies to the SDK installed, and within one Analyze or AnalyzeStack request each message
is decoded once, outside a request every time."""

from __future__ import annotations

from typing import Any

import pytest

from policies import sdk_workarounds


def test_it_applies_to_the_installed_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    from pulumi_policy import policy as sdk

    servicer = sdk._PolicyAnalyzerServicer
    for name in ("json_format", "deserialize_properties"):
        monkeypatch.setattr(sdk, name, getattr(sdk, name))  # restored after the test
    for name in ("Analyze", "AnalyzeStack"):
        monkeypatch.setattr(servicer, name, getattr(servicer, name))
    assert sdk_workarounds.memoise_decoding()
    assert getattr(servicer.Analyze, "agentfleet_memoised", False)
    assert getattr(servicer.AnalyzeStack, "agentfleet_memoised", False)
    assert sdk_workarounds.memoise_decoding()  # twice is once


def test_a_message_is_decoded_once_per_request() -> None:
    decoded: list[Any] = []

    def decode(message: Any) -> dict[str, Any]:
        decoded.append(message)
        return {"decoded": id(message)}

    memoised = sdk_workarounds._memoised(decode)
    first, second = object(), object()
    sdk_workarounds._REQUEST.memo = {}
    try:
        for _ in range(6):  # six stack policies
            assert memoised(first) == {"decoded": id(first)}
            memoised(second)
    finally:
        sdk_workarounds._REQUEST.memo = None
    assert decoded == [first, second]
    memoised(first)
    assert decoded == [first, second, first]  # outside a request, every time
