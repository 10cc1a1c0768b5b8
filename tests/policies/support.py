"""What the policy tests share: the shipped stacks' resources as the engine sends them,
hand-declared resources, fixtures to mutate (one compliant resource, one field changed per
failing case), ways to break a whole stack, and a direct way to run one policy.

Each policy has its test module in ``tests/policies/rules/`` (``test_<policy>.py``): its
``NAME``, for a resource policy the ``SUBJECT`` it judges (type and resource of the prod
stack), its ``CASES``, and for a mandatory policy a ``broken_stack()`` that gives exactly
its finding through the served pack (``tests/policies/test_pack_server.py``)."""

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

from components import McpServer, McpServerArgs
from facts.resource_types import DEPLOYMENT, EKS_CLUSTER, POD_MONITOR, QUEUE, SERVICE_MONITOR
from infra.offline.mocks import Registration, record, run_program
from policies.pack import all_policies
from tests.helpers import stack_or_karpenter, stack_values

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
    registrations, _ = run_program(stack_or_karpenter(stack), stack=stack)
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


Mutation = Callable[[dict[str, Any]], object]


def policy(name: str) -> Policy:
    """The pack's policy of that name."""
    (found,) = [p for p in all_policies() if p.name == name]
    return found


# --- one compliant resource, to change one field of --------------------------------------


def same(_: dict[str, Any]) -> None:
    return None


def orchestrator() -> dict[str, Any]:
    return props("orchestrator-deployment")


def sandbox_cluster() -> dict[str, Any]:
    return props("cluster-cluster", "sandbox")


def keda_release() -> dict[str, Any]:
    return props("addons-keda")


@functools.cache
def _mcp() -> dict[str, Any]:
    registrations = record(
        lambda: McpServer(
            "tools",
            McpServerArgs(name="tools-mcp", namespace="agentfleet", tier="mid-tier",
                          image="ghcr.io/example/tools-mcp:1.0", inference_url="http://x"),
        ).endpoint
    )  # fmt: skip
    (deployment,) = [r for r in registrations if r.type == DEPLOYMENT]
    return deployment.inputs


def mcp() -> dict[str, Any]:
    """An MCP server's Deployment as components.McpServer makes it."""
    return as_engine_sends(copy.deepcopy(_mcp()))  # type: ignore[no-any-return]


def container(p: dict[str, Any]) -> dict[str, Any]:
    return p["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def as_burst(p: dict[str, Any], accepted: bool | None) -> None:
    """A node group turned into its tier's burst onto spot, accepting interruptions or not
    (None: not saying)."""
    p["capacityType"] = "SPOT"
    p["labels"]["agentfleet.io/capacity-role"] = "burst"
    p["scalingConfig"].update(minSize=0.0, desiredSize=0.0)
    if accepted is not None:
        p["tags"]["agentfleet.io/interruptions-accepted"] = "true" if accepted else "false"


def steps(*changes: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], None]:
    """One change made of several, for a case that breaks a fixture in more than one place."""

    def change(p: dict[str, Any]) -> None:
        for one in changes:
            one(p)

    return change


def set_arg(p: dict[str, Any], flag: str, value: str | None) -> None:
    args = container(p)["args"]
    index = args.index(flag)
    if value is None:
        del args[index : index + 2]
    else:
        args[index + 1] = value


def sqs_trigger(p: dict[str, Any], name: str = "backlog") -> dict[str, Any]:
    """The metadata of one of a ScaledObject's triggers, by name."""
    found = next(t for t in p["spec"]["triggers"] if t.get("name") == name)
    return found["metadata"]  # type: ignore[no-any-return]


def behavior(p: dict[str, Any]) -> dict[str, Any]:
    return p["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]  # type: ignore[no-any-return]


def hpa(metric: str, scale_down: float | None = None) -> dict[str, Any]:
    """A hand-written HPA on the orchestrator's Deployment, on one external metric."""
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat-vllm"},
        "minReplicas": 2.0,
        "maxReplicas": 8.0,
        "metrics": [{"type": "External", "external": {
            "metric": {"name": metric}, "target": {"type": "AverageValue", "averageValue": "80"}}}],
    }  # fmt: skip
    if scale_down is not None:
        spec["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": scale_down}}
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "chat"}, "spec": spec}  # fmt: skip


# --- running a policy's cases ------------------------------------------------------------

ResourceCase = tuple[str, Callable[[], dict[str, Any]], Mutation, Outcome]
"""(resource type, compliant fixture, the one change, expected messages or None)."""
StackChange = Callable[[list[Registration]], list[Registration]]
StackCase = tuple[StackChange, list[tuple[str, str | None]]]
"""(how the prod stack is broken, expected (message, name of the resource at fault))."""


def assert_resource_case(
    name: str, case: ResourceCase, config: dict[str, Any] | None = None
) -> None:
    type_, fixture, mutate, expected = case
    properties = fixture()
    mutate(properties)
    assert check_resource(policy(name), type_, properties, config) == expected


def assert_stack_case(name: str, case: StackCase) -> None:
    """The prod stack broken one way gives exactly the expected findings, each at its
    resource; ``{tier}`` in a message stands for that tier's queue name."""
    breaking, expected = case
    registrations = breaking(stack_resources("prod"))
    queue_names = {r.name: r.inputs.get("name") for r in registrations if "sqs" in r.type}
    tiers = ("orchestrator", "mid-tier", "lightweight")
    wanted = [
        (
            message.format(**{t: queue_names.get(f"{t}-queue") for t in tiers}),
            None if at is None else find(registrations, at).urn,
        )
        for message, at in expected
    ]
    found = check_stack(policy(name), registrations)
    assert found is not None
    assert sorted(found, key=str) == sorted(wanted, key=str)  # registration order may vary


def assert_no_pool_no_check(name: str) -> None:
    """A stack with no inference pool (a lone queue) has nothing for the policy to check."""
    queue = hand_declared(QUEUE, "jobs", {"name": "jobs"})
    assert check_stack(policy(name), [queue]) is None


# --- ways to break the prod stack ----------------------------------------------------------


def without(*types: str) -> StackChange:
    return lambda rs: [r for r in rs if r.type not in types]


def scraping_only(port: str) -> StackChange:
    """The stack with every PodMonitor scraping one port of the pods, and that one only."""

    def apply(registrations: list[Registration]) -> list[Registration]:
        for monitor in (r for r in registrations if r.type == POD_MONITOR):
            for endpoint in monitor.inputs["spec"]["podMetricsEndpoints"]:
                endpoint["port"] = port
        return registrations

    return apply


def service_monitor_instead() -> StackChange:
    """The stack's PodMonitors replaced by one hand-written ServiceMonitor on every vLLM
    Service's ``http`` port, as a platform team with its own conventions would write."""
    monitor = hand_declared(
        SERVICE_MONITOR,
        "vllm-services",
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "vllm", "namespace": "agentfleet"},
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "vllm"}},
                "endpoints": [{"port": "http", "path": "/metrics"}],
            },
        },
    )
    return lambda rs: [*without(POD_MONITOR)(rs), monitor]


def edit(name: str, change: Callable[[dict[str, Any]], object]) -> StackChange:
    def apply(registrations: list[Registration]) -> list[Registration]:
        change(find(registrations, name).inputs)
        return registrations

    return apply


def rules(registrations: list[Registration]) -> list[dict[str, Any]]:
    rule = find(registrations, "fleet-rules").inputs
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def set_rule(alert: str, tier: str, expr: str) -> StackChange:
    def apply(registrations: list[Registration]) -> list[Registration]:
        for rule in rules(registrations):
            if rule["alert"] == alert and rule["labels"]["tier"] == tier:
                rule["expr"] = expr
        return registrations

    return apply


PODS = '{namespace="agentfleet",pod=~"(orchestrator-vllm)-.*"}'
"""The PromQL selector of the orchestrator's pods in the prod stack's alerts."""


# --- realistic broken stacks, as a user's change would make them ---------------------------

SECURE = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
TAGS = {"agentfleet.io/tier": "jobs", "agentfleet.io/environment": "prod"}


def deployment(name: str, labels: dict[str, str], **container: Any) -> Registration:
    """A Deployment another stack declares by hand, secure unless told otherwise."""
    return hand_declared(
        DEPLOYMENT,
        name,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "agentfleet", "labels": labels},
            "spec": {
                "replicas": 2.0,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name, **labels}},
                    "spec": {
                        "containers": [
                            {"name": name, "image": f"ghcr.io/example/{name}:1",
                             "securityContext": SECURE, **container}
                        ]
                    },
                },
            },
        },
    )  # fmt: skip


def prod_with(change: Callable[[dict[str, Any]], object]) -> list[Registration]:
    """The prod stack built with its ``agentfleet:fleet`` settings changed."""
    values = stack_values("prod")
    change(values["agentfleet:fleet"])
    registrations, _ = run_program(values, stack="prod")
    return registrations


def tier(name: str, **settings: Any) -> Callable[[dict[str, Any]], object]:
    """A change of one tier's settings, for ``prod_with``."""
    return lambda fleet: fleet["tiers"][name].update(settings)


def prod_and(*extra: Registration) -> list[Registration]:
    """The prod stack and resources a user declared by hand beside it."""
    return stack_resources("prod") + list(extra)


def sandbox_with(change: Callable[[dict[str, Any]], object]) -> list[Registration]:
    """The sandbox stack (create: true) with its cluster settings changed."""
    values = stack_values("sandbox")
    change(values["agentfleet:cluster"])
    registrations, _ = run_program(values, stack="sandbox")
    return registrations


def sandbox_cluster_registration(registrations: list[Registration]) -> Registration:
    return next(r for r in registrations if r.type == EKS_CLUSTER)


def unscraped_cases(item: str, metric: str) -> dict[str, StackCase]:
    """M1 and M2 alike: an alert on ``metric`` whose pods nothing scrapes on vLLM's port
    (no PodMonitor, or one on the worker's port only) is reported per tier; a hand-written
    ServiceMonitor on the vLLM Services counts."""
    unscraped = [
        (
            f"tier {t} alerts on {metric}, but no PodMonitor or ServiceMonitor scrapes its vLLM "
            "pods, so the alert never fires. Declare one on vLLM's port "
            "(components.VllmService's pod_monitor).",
            f"{t}-deployment",
        )
        for t in ("orchestrator", "mid-tier", "lightweight")
    ]
    return {
        f"{item}-unscraped": (without(POD_MONITOR), list(unscraped)),
        f"{item}-worker-port-only": (scraping_only("worker"), list(unscraped)),
        f"{item}-service-monitor": (service_monitor_instead(), []),
    }
