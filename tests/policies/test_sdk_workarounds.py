"""The pack's work-around for pulumi-policy decoding a resource once per policy: it
applies to the SDK installed, and within one Analyze or AnalyzeStack request each message
is decoded (and wrapped in its proxy) once, outside a request every time; a call with more
arguments than the memo knows (Remediate's) reaches the SDK unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from policies import sdk_workarounds


def test_it_applies_to_the_installed_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    from pulumi_policy import policy as sdk

    servicer = sdk._PolicyAnalyzerServicer
    for name in ("json_format", "deserialize_properties", "unknown_checking_proxy"):
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


def test_a_call_with_more_arguments_reaches_the_sdk_unmemoised() -> None:
    """Remediate decodes with ``deserialize_properties(props, True)``: it must neither
    fail nor be answered from a memo made for the one-argument call."""
    calls: list[tuple[Any, ...]] = []

    def decode(*arguments: Any, **options: Any) -> tuple[Any, ...]:
        calls.append((*arguments, *options.values()))
        return arguments

    memoised = sdk_workarounds._memoised(decode)
    message = object()
    sdk_workarounds._REQUEST.memo = {}
    try:
        memoised(message)
        assert memoised(message, True) == (message, True)
        assert memoised(message, proxy_secrets=True) == (message,)
        memoised(message)
    finally:
        sdk_workarounds._REQUEST.memo = None
    assert calls == [(message,), (message, True), (message, True)]


def test_each_memoised_function_keeps_its_own_answers() -> None:
    """deserialize_properties and unknown_checking_proxy may be handed the same object;
    each must get its own result back, never the other's."""
    first = sdk_workarounds._memoised(lambda value: ("decoded", value))
    second = sdk_workarounds._memoised(lambda value: ("proxied", value))
    shared = object()
    sdk_workarounds._REQUEST.memo = {}
    try:
        assert first(shared) == ("decoded", shared)
        assert second(shared) == ("proxied", shared)
    finally:
        sdk_workarounds._REQUEST.memo = None
