"""The policies that judge node groups judge Karpenter's NodePools (and EC2NodeClasses) as
they do: each compliant as prod builds it under Karpenter, and failing when broken the way
a node group would be. A5's own cases are in test_spot_only_interruptible."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from facts import names
from facts.labels import CAPACITY_BLOCK_ENDS, CAPACITY_RESERVATION, CAPACITY_RESERVATION_KIND
from facts.labels import SPOT_PRICE as SPOT_MARK
from facts.resource_types import DEPLOYMENT, EC2_NODE_CLASS, NODE_POOL, PDB
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    check_stack,
    find,
    policy,
    props,
    same,
    stack_resources,
    steps,
)

KARPENTER = "prod-karpenter"


def pool(tier: str) -> dict[str, Any]:
    return props(names.karpenter_node_pool(tier), KARPENTER)


def node_class(tier: str) -> dict[str, Any]:
    return props(names.karpenter_node_class(tier), KARPENTER)


def requirement(p: dict[str, Any], key: str, *values: str) -> None:
    for found in p["spec"]["template"]["spec"]["requirements"]:
        if found["key"] == key:
            found["values"] = list(values)


CASES: dict[str, tuple[str, ResourceCase]] = {
    "k2-ok": ("background-tiers-use-spot", (NODE_POOL, lambda: pool("mid-tier"), same, [])),
    "k2-cheaper-spot": (
        "background-tiers-use-spot",
        (
            NODE_POOL,
            lambda: pool("mid-tier"),
            lambda p: p["metadata"]["annotations"].update({SPOT_MARK: "0.6"}),
            [
                "background tier on ON_DEMAND a100-80gb at $3.43088125/GPU-hour while spot "
                "lists $0.6; want SPOT (K2). Set capacity: spot; interrupted work returns to "
                "the queue."
            ],
        ),
    ),
    "k2-spot-allowed": (  # it may launch spot already: nothing to advise
        "background-tiers-use-spot",
        (
            NODE_POOL,
            lambda: pool("mid-tier"),
            steps(
                lambda p: p["metadata"]["annotations"].update({SPOT_MARK: "0.6"}),
                lambda p: requirement(p, "karpenter.sh/capacity-type", "spot", "on-demand"),
            ),
            [],
        ),
    ),
    "c1-ok": (
        "gpu-tier-matches-latency-class",
        (NODE_POOL, lambda: pool("orchestrator"), same, []),
    ),
    "c1-l40s-for-ttft": (
        "gpu-tier-matches-latency-class",
        (
            NODE_POOL,
            lambda: pool("orchestrator"),
            lambda p: requirement(p, "node.kubernetes.io/instance-type", "g6e.2xlarge"),
            [
                "ttft-first tier on g6e.2xlarge (L40S); want H100 (p5). Use such an "
                "instance, or correct the tier's latencyClass."
            ],
        ),
    ),
    "m4-ok": ("cost-tags-by-tier", (EC2_NODE_CLASS, lambda: node_class("lightweight"), same, [])),
    "m4-untagged-nodes": (
        "cost-tags-by-tier",
        (
            EC2_NODE_CLASS,
            lambda: node_class("lightweight"),
            lambda p: p["spec"]["tags"].pop("agentfleet.io/tier"),
            [
                "launches Karpenter's nodes without the tag agentfleet.io/tier; want "
                "agentfleet.io/tier, agentfleet.io/environment in spec.tags, which Karpenter "
                "puts on the instances and volumes, so their cost counts against the tier "
                "(components.KarpenterNodePool does)."
            ],
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    name, resource_case = CASES[case]
    assert_resource_case(name, resource_case)


def karpenter_prod() -> list[Registration]:
    return stack_resources(KARPENTER)


def findings(name: str, registrations: list[Registration]) -> list[str]:
    found = check_stack(policy(name), registrations) or []
    return [message for message, _ in found]


def test_prod_under_karpenter_stands_on_two_instances_behind_its_balancer() -> None:
    assert findings("min-two-gpu-instances", karpenter_prod()) == []


def test_without_a_spread_over_nodes_two_replicas_may_share_one() -> None:
    registrations = karpenter_prod()
    deployment = find(registrations, "orchestrator-deployment")
    assert deployment.type == DEPLOYMENT
    pod = deployment.inputs["spec"]["template"]["spec"]
    pod["topologySpreadConstraints"] = [
        c for c in pod["topologySpreadConstraints"] if c["topologyKey"] != "kubernetes.io/hostname"
    ]
    (message,) = findings("min-two-gpu-instances", registrations)
    assert message.startswith("tier orchestrator behind a load balancer runs on Karpenter")
    assert "topologySpreadConstraint on kubernetes.io/hostname" in message


def test_without_a_disruption_budget_both_floor_nodes_may_go() -> None:
    registrations = [r for r in karpenter_prod() if r.type != PDB]
    found = findings("min-two-gpu-instances", registrations)
    assert len(found) == 1
    assert "no PodDisruptionBudget keeps one of its 2 floor replica(s)" in found[0]
    # Under node groups, their minimum keeps the instances: no such finding.
    assert findings("min-two-gpu-instances", [r for r in stack_resources() if r.type != PDB]) == []


@pytest.mark.parametrize(
    ("budget", "kept"),
    [
        ({"maxUnavailable": 1}, True),
        ({"maxUnavailable": 2}, False),  # both of the floor's two at once
        ({"maxUnavailable": "50%"}, True),  # 1 of 2, rounded up
        ({"maxUnavailable": "100%"}, False),
        ({"minAvailable": 1}, True),
        ({"minAvailable": "0%"}, False),
    ],
)
def test_the_disruption_budget_must_leave_one_of_the_floor(
    budget: dict[str, Any], kept: bool
) -> None:
    registrations = karpenter_prod()
    pdb = find(registrations, "orchestrator-pdb")
    for key in ("maxUnavailable", "minAvailable"):
        pdb.inputs["spec"].pop(key, None)
    pdb.inputs["spec"].update(budget)
    found = findings("min-two-gpu-instances", registrations)
    assert (found == []) is kept, found


def reserve(registrations: list[Registration], tier: str, kind: str, *capacity: str) -> None:
    node_pool = find(registrations, names.karpenter_node_pool(tier))
    node_pool.inputs["metadata"]["annotations"].update(
        {
            CAPACITY_RESERVATION: "cr-0123456789abcdef0",
            CAPACITY_RESERVATION_KIND: kind,
            CAPACITY_BLOCK_ENDS: "2026-12-20T11:30:00+00:00",
        }
    )
    requirement(node_pool.inputs, "karpenter.sh/capacity-type", *capacity)


def test_a_reserved_node_pool_allowing_spot_is_found() -> None:
    registrations = karpenter_prod()
    reserve(registrations, "mid-tier", "capacity-reservation", "reserved", "spot")
    assert findings("reserved-capacity-fits", registrations) == [
        "tier mid-tier's NodePool allowing spot launches into capacity reservation "
        "cr-0123456789abcdef0: a reservation holds on-demand instances only, and it is billed "
        "whether they run or not. Set capacity: on-demand."
    ]
    registrations = karpenter_prod()
    reserve(registrations, "mid-tier", "capacity-reservation", "reserved")
    assert findings("reserved-capacity-fits", registrations) == []


def test_a_capacity_block_tier_keeping_replicas_loses_them_with_the_block() -> None:
    registrations = karpenter_prod()
    reserve(registrations, "mid-tier", "capacity-block", "reserved")  # mid-tier keeps one
    (message,) = findings("reserved-capacity-fits", registrations)
    assert message.startswith("tier mid-tier keeps a floor of 1 instance(s) on Capacity Block")
    registrations = copy.deepcopy(karpenter_prod())
    for scaler in (r for r in registrations if r.type.endswith("ScaledObject")):
        if scaler.name.startswith("mid-tier"):
            scaler.inputs["spec"]["minReplicaCount"] = 0
    reserve(registrations, "mid-tier", "capacity-block", "reserved")
    assert findings("reserved-capacity-fits", registrations) == []
