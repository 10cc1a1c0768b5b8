"""The planner turns a validated stack into the per-tier numbers the components build
from, each computed once: instances, replicas, floors and ceilings, prices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from facts import defaults
from facts.catalog import CATALOG
from infra.config import ConfigError, load_stack_file, parse_stack_config
from infra.plan import TierPlan, plan_fleet
from infra.sizing import ceil_div, in_flight
from tests.helpers import REPO, prod_with_mixed_mig, stack_values

# --- stack plans ----------------------------------------------------------------------


def plan(values: dict[str, Any]) -> dict[str, TierPlan]:
    return {tier.name: tier for tier in plan_fleet(parse_stack_config(values)).tiers}


def seed(values: dict[str, Any]) -> dict[str, Any]:
    """The stack priced by the seed's list prices per GPU-hour (``prices: seed``)."""
    values["agentfleet:fleet"]["prices"] = "seed"
    return values


# tier: (GPUs with no headroom, instances held at the expected load, min, max, max-num-seqs,
# replicas/instance, capacity, $/h at AWS's us-east-1 on-demand prices). The sessions a
# replica runs come from the serving model (tests/infra/test_physics.py), the load the
# autoscaler holds it at from queueing (infra.headroom); each ceiling holds the expected
# load with a 50% burst and each scheduled peak with 30% headroom.
PROD = {
    # Qwen2.5-7B on one H100 SXM5: 91 sessions finish 350 tokens in 3 s; 498 in flight
    # need 6, held at 74 a replica (0.5 s TTFT, noise): 7 p5.4xlarge at $6.88; the burst
    # 498 x 1.5 / 74 -> 11
    "orchestrator": (6, 7, 2, 11, 160, 1, "on-demand", "48.16"),
    # Qwen2.5-7B on one A100 SXM4: 54 sessions (compute-bound), each interaction 5.1 s, so
    # 2500 interactions counted at 3 s are 4285 in flight: 80 replicas, held at 49 (the
    # HPA's tolerance): 88, 11 p4de.24xlarge at $27.44705
    "mid-tier": (80, 11, 1, 15, 95, 8, "on-demand", "301.91755"),
    # Qwen2.5-3B on one L40S: 171 sessions of 5.8 s; 7000 x 5.8 / 3 in flight -> 80, held
    # at 156: 88 g6e.2xlarge at $2.24208
    "lightweight": (80, 88, 2, 120, 300, 1, "on-demand", "197.30304"),
}


def test_prod_plan() -> None:
    fleet = plan_fleet(load_stack_file(REPO / "stacks" / "Pulumi.prod.yaml"))
    for name, expected in PROD.items():
        tier = fleet.tier(name)
        (group,) = tier.replica_groups
        assert (
            tier.needed_gpus,
            tier.instances,
            tier.min_instances,
            tier.max_instances,
            group.max_num_seqs,
            group.replicas_per_instance,
            tier.capacity,
            tier.cost_per_hour,
        ) == (*expected[:-1], Decimal(expected[-1]))
        assert group.resource == "nvidia.com/gpu"
        assert group.resource_count == 1
    assert fleet.gpus == 183  # 7 + 11 x 8 + 88
    assert fleet.prices.source == "aws"
    assert fleet.cost_per_hour == Decimal("547.38059")
    # 11 x 6.88 + 15 x 27.44705 + 120 x 2.24208
    assert fleet.max_cost_per_hour == Decimal("756.43535")
    assert fleet.floor_cost_per_hour == Decimal("45.69121")  # 2 x 6.88 + 27.44705 + 2 x 2.24208
    assert fleet.expected_concurrency == 10_000
    assert fleet.budget_per_hour == Decimal(800)
    orchestrator = fleet.tier("orchestrator")
    assert orchestrator.instance.name == "p5.4xlarge"
    assert orchestrator.scale_out_sustain_seconds == 60
    assert orchestrator.config.scaling.scale_in_idle_seconds == 300
    assert orchestrator.config.scaling.queue_depth_per_replica == 10
    assert orchestrator.config.load_balancer.health_check_interval_seconds == 10
    assert orchestrator.min_replicas == 2
    # 80% of a p5.4xlarge (16 vCPU, 256 GiB) for its one replica; p4de.24xlarge (96 vCPU,
    # 1152 GiB) shared by 8 replicas of one GPU.
    assert (orchestrator.replica_cpu_millis, orchestrator.replica_memory_mib) == (12800, 209715)
    mid = fleet.tier("mid-tier")
    assert (mid.replica_cpu_millis, mid.replica_memory_mib) == (9600, 117964)
    assert fleet.tier("mid-tier").max_replicas == 120
    # Replicas are counted once, here: the tier's floor and ceiling in each group's replicas.
    (mid_group,) = mid.replica_groups
    assert (mid_group.min_replicas, mid_group.max_replicas) == (8, 120)
    (orchestrator_group,) = orchestrator.replica_groups
    assert (orchestrator_group.min_replicas, orchestrator_group.max_replicas) == (2, 11)


def test_mig_tier_is_planned_per_slice() -> None:
    fleet = plan_fleet(load_stack_file(REPO / "stacks" / "Pulumi.staging.yaml"))
    tier = fleet.tier("mid-tier")
    (group,) = tier.replica_groups
    # Qwen2.5-7B in a 3g.40gb slice: KV room for 362 sessions of 950 tokens, but the slice
    # has 3/7 of the A100's compute: 34 sessions already reach 90% of its best throughput,
    # 7.4 s an interaction (a throughput-first tier may take that long).
    assert group.profile == "3g.40gb"
    assert group.resource == "nvidia.com/mig-3g.40gb"
    assert group.sessions_per_replica == 34
    assert group.max_num_seqs == 60
    assert group.replicas_per_instance == 16  # 8 GPUs x 2 slices
    assert tier.serving.bound == "compute"
    # 250 interactions counted at 3 s take 7.4 s each: 620 in flight, 68 a GPU.
    assert tier.needed_gpus == 10
    assert tier.instances == 2
    assert tier.min_instances == 0
    assert tier.scale_out_sustain_seconds == 30  # scales to zero
    assert (tier.replica_cpu_millis, tier.replica_memory_mib) == (4800, 58982)  # 16 replicas


def test_mixed_mig_layout_has_a_replica_group_per_profile() -> None:
    values = prod_with_mixed_mig()
    tier = plan(values)["orchestrator"]
    assert [
        (g.profile, g.sessions_per_replica, g.max_num_seqs, g.replicas_per_instance)
        for g in tier.replica_groups
    ] == [("2g.20gb", 245, 429, 1), ("1g.10gb", 9, 16, 1)]  # the 1g.10gb's KV holds 9
    # The 2g.20gb slice (2/8 of the H100's bandwidth) finishes 245 sessions within the
    # tier's 10 s; the pair carries 254 interactions a GPU: ceil(500 / 254) = 2.
    assert [shape.serving.bound for shape in tier.fit.shapes] == ["latency", "kv"]
    assert tier.needed_gpus == 2
    # One replica of each profile per single-GPU p5.4xlarge, over 2 instances up to the
    # weekday peak's ceil(600 x 1.3 / 254) = 4.
    assert [(g.min_replicas, g.max_replicas) for g in tier.replica_groups] == [(2, 4), (2, 4)]
    assert (tier.min_replicas, tier.max_replicas) == (4, 8)


def test_tensor_parallel_replicas() -> None:
    values = seed(stack_values("prod"))
    orchestrator = values["agentfleet:fleet"]["tiers"]["orchestrator"]
    orchestrator.update(gpu="h100-sxm", gpusPerReplica=2)
    tier = plan(values)["orchestrator"]
    (group,) = tier.replica_groups
    # Two H100s a replica halve each one's reads, but the all-reduces and the engine's
    # hand-off to both ranks cost every step: 120 sessions meet 3 s, not 2 x 91.
    assert (group.resource_count, group.sessions_per_replica, group.max_num_seqs) == (2, 120, 210)
    assert group.replicas_per_instance == 4
    assert tier.needed_gpus == 10  # 5 replicas of 2 GPUs
    assert tier.instances == 2  # held at 99 in flight a replica: 6 of the 8 on two p5.48xlarge
    assert tier.cost_per_hour == Decimal("70.56")  # 16 x 4.41


@pytest.mark.parametrize(
    ("user_facing", "spot", "expected", "price"),
    [
        (True, 1.5, "on-demand", "2.51"),  # K1: user-facing stays on-demand
        (False, 1.5, "spot", "1.5"),  # K2: spot where it is cheaper
        (False, 3.0, "on-demand", "2.51"),  # spot dearer than on-demand
        (False, None, "on-demand", "2.51"),  # no spot price
    ],
)
def test_default_capacity(user_facing: bool, spot: float | None, expected: str, price: str) -> None:
    values = seed(stack_values("prod"))
    orchestrator = values["agentfleet:fleet"]["tiers"]["orchestrator"]
    del orchestrator["capacity"]
    orchestrator.update(userFacing=user_facing, spotPricePerGpuHour=spot)
    tier = plan(values)["orchestrator"]
    assert tier.capacity == expected
    assert tier.price_per_gpu_hour == Decimal(price)


def test_a100_background_tier_stays_on_demand_by_default() -> None:
    values = stack_values("prod")
    del values["agentfleet:fleet"]["tiers"]["mid-tier"]["capacity"]
    assert plan(values)["mid-tier"].capacity == "on-demand"  # AWS's table has no spot price
    assert plan(seed(values))["mid-tier"].capacity == "on-demand"  # spot 1.14 > 1.04


def test_explicit_spot_uses_the_spot_price() -> None:
    values = seed(stack_values("prod"))
    values["agentfleet:fleet"]["tiers"]["mid-tier"]["capacity"] = "spot"
    assert plan(values)["mid-tier"].cost_per_hour == Decimal("100.32")  # 11 x 8 x 1.14


def test_price_override() -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["lightweight"]["pricePerGpuHour"] = 0.65
    assert plan(values)["lightweight"].cost_per_hour == Decimal("57.20")  # 88 x 0.65


@pytest.mark.parametrize(
    ("settings", "floor", "ceiling"),
    [
        ({}, 2, 11),  # 498 in flight x 1.5 (a burst) at 74 a replica: 11 H100s
        ({"maxInstances": 1}, 1, 1),  # the floor never exceeds an explicit ceiling
        ({"minInstances": 12}, 12, 12),  # the ceiling never falls below the floor
        ({"minInstances": 3, "maxInstances": 20}, 3, 20),
        ({"userFacing": False}, 0, 11),
    ],
)
def test_floor_and_ceiling(settings: dict[str, Any], floor: int, ceiling: int) -> None:
    values = stack_values("prod")
    del values["agentfleet:fleet"]["tiers"]["orchestrator"]["scaling"]  # no scheduled peak
    values["agentfleet:fleet"]["tiers"]["orchestrator"].update(settings)
    tier = plan(values)["orchestrator"]
    assert (tier.min_instances, tier.max_instances) == (floor, ceiling)


def test_scaling_settings_are_carried() -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["scaling"] = {
        "queueDepthPerInstance": 4,
        "scaleOutSustainSeconds": 90,
        "scaleInIdleSeconds": 600,
    }
    tier = plan(values)["orchestrator"]
    assert (
        tier.config.scaling.queue_depth_per_replica,
        tier.scale_out_sustain_seconds,
        tier.config.scaling.scale_in_idle_seconds,
    ) == (4, 90, 600)


def test_concurrency_per_gpu_override() -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["concurrencyPerGpu"] = 64
    tier = plan(values)["orchestrator"]
    assert (tier.needed_gpus, tier.replica_groups[0].max_num_seqs) == (8, 112)


def test_every_catalog_gpu_can_be_planned() -> None:
    """Every GPU plans the dev assistant (Qwen2.5-3B): the GPUs hold what is in flight at
    the planned batch's pace, in whole replicas; without a model the catalog's figure."""
    for key, gpu in CATALOG.items():
        values = stack_values("dev")
        assistant = values["agentfleet:fleet"]["tiers"]["assistant"]
        assistant["gpu"] = key
        tier = plan(values)["assistant"]
        shape = tier.fit.shapes[0]
        held = in_flight(100, shape.serving.pace)
        assert tier.needed_gpus == ceil_div(held, shape.sessions) * shape.tensor_parallel
        assert shape.serving.point is not None, key  # every shipped part is modelled
        assistant["model"] = "acme/unknown-model"
        assert plan(values)["assistant"].needed_gpus == ceil_div(100, gpu.interactions_per_gpu)


def test_scheduled_peak_with_headroom() -> None:
    fleet = plan_fleet(load_stack_file(REPO / "stacks" / "Pulumi.prod.yaml"))
    (peak,) = fleet.tier("orchestrator").schedule
    # 600 predicted x 1.3 = 780 interactions: 9 H100s of 91 sessions, 9 replicas.
    assert (peak.held_concurrency, peak.gpus, peak.desired_replicas) == (780, 9, (9,))
    assert (peak.start, peak.end, peak.timezone) == ("0 7 * * 1-5", "0 19 * * 1-5",
                                                     "America/New_York")  # fmt: skip
    # the ceiling makes room for it, and for a burst above the expected load: 11
    assert fleet.tier("orchestrator").max_instances == 11


def test_scheduled_peak_on_mig_slices() -> None:
    values = stack_values("staging")
    values["agentfleet:fleet"]["tiers"]["mid-tier"]["scaling"] = {
        "schedule": [{"start": "0 9 * * *", "end": "0 17 * * *", "predictedPeak": 1000}]
    }
    tier = plan(values)["mid-tier"]
    (peak,) = tier.schedule
    # 1300 interactions counted at 3 s take 7.4 s each on a 3g.40gb slice: 3220 in flight,
    # 68 a partitioned A100 = 48 GPUs = 96 replicas.
    assert (peak.held_concurrency, peak.gpus, peak.desired_replicas) == (1300, 48, (96,))
    assert tier.max_instances == 6  # 48 GPUs on 8-GPU instances


# --- node storage ----------------------------------------------------------------------


def test_prod_nodes_keep_the_weights_on_their_instance_store() -> None:
    """Each replica downloads its own copy of the weights (emptyDir): the mid-tier's eight
    Qwen2.5-7B replicas per p4de keep 8 x 25 GiB (7.62e9 x 2 bytes = 14.2 GiB, 15 rounded
    up, and 10 GiB of caches) beside 60 GiB of images and system: 260 GiB, on the p4de's
    8 x 1000 GB of NVMe (7450 GiB) rather than on a root volume."""
    tiers = plan(stack_values("prod"))
    mid = tiers["mid-tier"].storage
    assert (mid.replica_cache_gib, mid.need_gib, mid.instance_store_gib) == (25, 260, 7450)
    assert mid.on_instance_store
    assert mid.root_volume_gib == 100
    light = tiers["lightweight"].storage  # Qwen2.5-3B on a g6e.2xlarge (450 GB of NVMe)
    assert (light.replica_cache_gib, light.need_gib, light.instance_store_gib) == (16, 76, 419)


def test_a_model_agentfleet_does_not_know_gets_the_default_cache() -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["lightweight"]["model"] = "acme/private-model"
    values["agentfleet:fleet"]["tiers"]["lightweight"]["instanceType"] = "g6e.xlarge"
    storage = plan(values)["lightweight"].storage
    # 200 GiB + 60 GiB do not fit the g6e.xlarge's 250 GB (232 GiB): a 260 GiB root volume.
    assert (storage.replica_cache_gib, storage.need_gib) == (200, 260)
    assert not storage.on_instance_store
    assert storage.root_volume_gib == 260


def test_a_model_no_disk_holds_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights that fit GPU memory fit EBS's 16 TiB, so this is checked with a smaller cap:
    an unknown model's 200 GiB cache and 60 GiB for the node outgrow a g6e.xlarge's 232 GiB
    of NVMe and a 250 GiB limit."""
    monkeypatch.setattr(defaults, "EBS_MAX_VOLUME_GIB", 250)
    values = stack_values("prod")
    tier = values["agentfleet:fleet"]["tiers"]["lightweight"]
    tier.update(model="acme/private-model", instanceType="g6e.xlarge")
    config = parse_stack_config(values)  # the keys are valid: planning refuses the disk
    with pytest.raises(ConfigError) as raised:
        plan_fleet(config)
    ((where, reason),) = raised.value.problems
    assert where == "agentfleet:fleet.tiers.lightweight.model"
    assert reason.startswith("1 replica of acme/private-model on one g6e.xlarge keeps 260 GiB")
    assert "largest root volume (250 GiB)" in reason


# --- burst onto spot -------------------------------------------------------------------


def with_burst(**burst: Any) -> dict[str, Any]:
    values = stack_values("prod")
    orchestrator = values["agentfleet:fleet"]["tiers"]["orchestrator"]
    orchestrator.update(spotPricePerGpuHour=1.9, burst={"capacity": "spot", **burst})
    return values


def test_burst_keeps_the_floor_on_demand_and_prices_apart() -> None:
    """The floor (2 p5.4xlarge) stays on-demand at $2.51; up to 6 more on spot at $1.90.
    The autoscaler may reach both ceilings: (11 + 6) replicas of one GPU."""
    tier = plan(seed(with_burst(maxInstances=6)))["orchestrator"]
    assert tier.burst is not None
    assert (tier.capacity, tier.min_instances, tier.max_instances) == ("on-demand", 2, 11)
    assert (tier.burst.max_instances, tier.burst.price_per_gpu_hour) == (6, Decimal("1.9"))
    assert tier.max_replicas == 17
    assert tier.floor_cost_per_hour == Decimal("5.02")  # 2 x 2.51
    assert tier.burst_max_cost_per_hour == Decimal("11.40")  # 6 x 1.90
    assert tier.max_cost_per_hour == Decimal("39.01")  # 11 x 2.51 + 11.40
    # the 7 instances held at the expected load: the floor on-demand, the 5 above on spot
    assert (tier.instances, tier.burst_instances) == (7, 5)
    assert tier.cost_per_hour == Decimal("14.52")  # 2 x 2.51 + 5 x 1.90
    assert not tier.burst.accept_interruptions


def test_a_background_tier_with_a_burst_keeps_an_on_demand_floor() -> None:
    values = stack_values("prod")
    mid = values["agentfleet:fleet"]["tiers"]["mid-tier"]
    del mid["capacity"]
    mid.update(spotPricePerGpuHour=0.9, burst={"capacity": "spot", "maxInstances": 3})
    tier = plan(values)["mid-tier"]
    assert tier.capacity == "on-demand"  # not spot, though spot is cheaper: the floor holds
    assert tier.burst is not None
    assert tier.burst.price_per_gpu_hour == Decimal("0.9")


@pytest.mark.parametrize(
    ("tier", "changes", "key", "reason"),
    [
        (
            "orchestrator",
            {"capacity": "spot", "spotPricePerGpuHour": 1.9},
            "burst",
            "the tier already runs on spot: a burst onto spot needs an on-demand floor",
        ),
        (
            "lightweight",
            {},
            "burst.capacity",
            "a burst onto spot needs a spot price and the prices have none for l40s",
        ),
    ],
)
def test_a_burst_that_cannot_be_built_is_refused(
    tier: str, changes: dict[str, Any], key: str, reason: str
) -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"][tier].update(
        burst={"capacity": "spot", "maxInstances": 2}, **changes
    )
    with pytest.raises(ConfigError) as raised:
        plan_fleet(parse_stack_config(values))
    ((where, said),) = raised.value.problems
    assert where == f"agentfleet:fleet.tiers.{tier}.{key}"
    assert said.startswith(reason)


def test_a_tier_may_not_take_a_burst_pools_name() -> None:
    values = with_burst(maxInstances=2)
    tiers = values["agentfleet:fleet"]["tiers"]
    tiers["orchestrator-burst"] = dict(tiers["lightweight"])
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    ((where, said),) = raised.value.problems
    assert where == "agentfleet:fleet.tiers.orchestrator-burst"
    assert said == "the name is taken by tier orchestrator's burst node pool; rename this tier"


# --- reserved capacity -----------------------------------------------------------------

RESERVATION = "cr-0123456789abcdef0"
ZONE = ["subnet-0a1b2c3d4e5f60002"]


def reserved(kind: str, instances: int, **extra: Any) -> dict[str, Any]:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["reservation"] = {
        "kind": kind, "id": RESERVATION, "instances": instances, "subnetIds": ZONE, **extra
    }  # fmt: skip
    return values


def test_a_capacity_reservation_is_billed_whole_whether_used_or_not() -> None:
    """An On-Demand Capacity Reservation of 8 p5.4xlarge is billed at the on-demand rate
    (AWS's $6.88) for all 8 at any load, and the node group launches into it alone: the
    ceiling is 8 (the plan wanted 11), and floor, expected load and ceiling cost 8 x 6.88."""
    tier = plan(reserved("capacity-reservation", 8))["orchestrator"]
    assert tier.reservation is not None
    assert tier.reservation.price_per_instance_hour == Decimal("6.88")
    assert (tier.min_instances, tier.instances, tier.max_instances) == (2, 7, 8)
    costs = (tier.floor_cost_per_hour, tier.cost_per_hour, tier.max_cost_per_hour)
    assert costs == (Decimal("55.04"),) * 3


def test_a_capacity_block_costs_its_price_for_all_its_instances() -> None:
    tier = plan(reserved("capacity-block", 7, pricePerInstanceHour=4.2))["orchestrator"]
    assert (tier.min_instances, tier.instances, tier.max_instances) == (2, 7, 7)
    costs = (tier.floor_cost_per_hour, tier.cost_per_hour, tier.max_cost_per_hour)
    assert costs == (Decimal("29.4"),) * 3  # 7 x 4.20


def test_a_reservation_too_small_for_the_expected_load_is_refused() -> None:
    """The orchestrator's 498 in flight need 7 replicas at 74 each; 6 reserved cannot hold
    them, and a node group that targets a reservation launches no others."""
    with pytest.raises(ConfigError) as raised:
        plan_fleet(parse_stack_config(reserved("capacity-block", 6, pricePerInstanceHour=4.2)))
    assert raised.value.problems == (
        (
            "agentfleet:fleet.tiers.orchestrator.reservation.instances",
            "the expected load (498 in flight) needs 7 p5.4xlarge at the tier's headroom; the "
            "reservation holds 6 and the node group launches no others: reserve more, or "
            "lower expectedConcurrency",
        ),
    )


@pytest.mark.parametrize("key", ["minInstances", "maxInstances"])
def test_instances_beyond_the_reservation_are_refused(key: str) -> None:
    values = reserved("capacity-reservation", 8)
    values["agentfleet:fleet"]["tiers"]["orchestrator"][key] = 9
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    assert raised.value.problems == (
        (
            f"agentfleet:fleet.tiers.orchestrator.{key}",
            f"{key} (9) is above the reservation's 8 instances: a node group that targets a "
            "reservation launches no others",
        ),
    )


@pytest.mark.parametrize(
    ("reservation", "key", "reason"),
    [
        (
            {"kind": "capacity-block", "id": RESERVATION, "instances": 2, "subnetIds": ZONE},
            "reservation.pricePerInstanceHour",
            "a Capacity Block is priced when it is bought",
        ),
        (
            {"kind": "capacity-reservation", "id": RESERVATION, "instances": 2,
             "subnetIds": ZONE, "endsAt": "2026-12-20T11:30:00Z"},
            "reservation.endsAt",
            "only a Capacity Block ends with its instances",
        ),
        (
            {"kind": "capacity-block", "id": RESERVATION, "instances": 2, "subnetIds": ZONE,
             "pricePerInstanceHour": 4, "endsAt": "2026-12-20T11:30:00"},
            "reservation.endsAt",
            "input should have timezone info",
        ),
        (
            {"kind": "capacity-reservation", "id": "r-1", "instances": 2, "subnetIds": ZONE},
            "reservation.id",
            "string should match pattern",
        ),
        (
            {"kind": "capacity-reservation", "id": RESERVATION, "instances": 2},
            "reservation.subnetIds",
            "required key is missing",
        ),
    ],
)  # fmt: skip
def test_a_reservation_that_cannot_be_built_is_refused(
    reservation: dict[str, Any], key: str, reason: str
) -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["reservation"] = reservation
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    ((where, said),) = raised.value.problems
    assert where == f"agentfleet:fleet.tiers.orchestrator.{key}"
    assert said.lower().startswith(reason.lower())
