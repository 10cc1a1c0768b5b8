"""Helpers for the policy tests: the shipped stacks' resources as the engine sends them,
hand-declared resources, and a direct way to run one policy."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from pulumi.runtime import rpc
from pulumi_policy import (
    Policy,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import PolicyCustomTimeouts, _NotApplicableError
from pulumi_policy.proxy import unknown_checking_proxy

from infra.offline.mocks import Registration, run_program
from tests.helpers import stack_values

STACK_URN = "urn:pulumi:prod::agentfleet::pulumi:pulumi:Stack::agentfleet-prod"


def as_engine_sends(value: Any) -> Any:
    """Inputs as a policy sees them: secrets decrypted, numbers still floats."""
    if rpc.is_rpc_secret(value):
        return as_engine_sends(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: as_engine_sends(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_engine_sends(v) for v in value]
    return value


@functools.cache
def _recorded(stack: str) -> tuple[Registration, ...]:
    registrations, _ = run_program(stack_values(stack), stack=stack)
    return tuple(registrations)


def stack_resources(stack: str = "prod") -> list[Registration]:
    """A fresh copy of a shipped stack's registrations (safe to mutate)."""
    return copy.deepcopy(list(_recorded(stack)))


def find(registrations: list[Registration], name: str) -> Registration:
    (found,) = [r for r in registrations if r.name == name]
    return found


def props(name: str, stack: str = "prod") -> dict[str, Any]:
    """The properties of one resource of a shipped stack, as the engine sends them."""
    return as_engine_sends(copy.deepcopy(find(list(_recorded(stack)), name).inputs))  # type: ignore[no-any-return]


def hand_declared(type_: str, name: str, inputs: dict[str, Any]) -> Registration:
    """A resource another stack declares by hand, as the engine would receive it."""
    return Registration(
        type=type_,
        name=name,
        urn=f"urn:pulumi:prod::agentfleet::{type_}::{name}",
        parent=STACK_URN,
        custom=True,
        inputs=inputs,
    )


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


Outcome = list[str] | None
"""The messages a policy reported, or None when it was not applicable."""


def check_resource(
    policy: Policy,
    type_: str,
    properties: dict[str, Any],
    config: dict[str, Any] | None = None,
) -> Outcome:
    assert isinstance(policy, ResourceValidationPolicy)
    messages: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        messages.append(message)

    args = ResourceValidationArgs(
        type_, unknown_checking_proxy(properties), f"urn:x::{type_}::r", "r", _options(),
        None, config,
    )  # fmt: skip
    try:
        policy.validate(args, report)
    except _NotApplicableError:
        return None
    return messages


def check_stack(
    policy: Policy,
    registrations: list[Registration],
    config: dict[str, Any] | None = None,
) -> list[tuple[str, str | None]] | None:
    assert isinstance(policy, StackValidationPolicy)
    found: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append((message, urn))

    resources = [
        PolicyResource(r.type, unknown_checking_proxy(as_engine_sends(r.inputs)), r.urn, r.name,
                       _options(), None, None, [], {})
        for r in registrations
    ]  # fmt: skip
    args = StackValidationArgs(resources, config)
    try:
        policy.validate(args, report)
    except _NotApplicableError:
        return None
    return found


Mutation = Callable[[dict[str, Any]], None]
