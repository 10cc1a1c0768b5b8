"""The stack's config models: every kind of input that cannot be built is refused with its
key path and reason; input that can be built but breaks the checklist is left to the
policy pack; every field says why it is there."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from infra.config import (
    ConfigError,
    StackConfig,
    TierConfig,
    load_stack_file,
    parse_stack_config,
)
from infra.plan import plan_fleet
from tests.helpers import REPO, stack_values
from tests.infra.config.support import DELETE, LIGHT, MID, TIER, setting

# (case id, key path to change, new value, key path in the error, reason)
# fmt: off
INVALID: list[tuple[str, str, object, str, str]] = [
    ("unknown-tier-key", f"{TIER}.gpuCount", 2, f"{TIER}.gpuCount",
     "unknown key; allowed here: gpu, latencyClass, userFacing, capacity, model, revision, "
     "weights, "
     "modelProfile, inputTokens, outputTokens, sessionTokens, serviceSeconds, slaTtftSeconds, "
     "gpuMemoryUtilization, expectedConcurrency, "
     "concurrencyPerGpu, gpusPerReplica, maxNumSeqs, minInstances, maxInstances, "
     "instanceType, pricePerGpuHour, spotPricePerGpuHour, mig, migModels, burst, reservation, "
     "scaling, loadBalancer, queue, requestTimeoutSeconds"),
    ("revision-with-a-slash", f"{TIER}.revision", "refs/pr/1", f"{TIER}.revision",
     "string should match pattern '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' (got 'refs/pr/1')"),
    ("unknown-namespace-key", "agentfleet:tier", {}, "agentfleet:tier",
     "unknown key; allowed here: aws:region, agentfleet:cluster, agentfleet:fleet, "
     "agentfleet:addons, "
     "agentfleet:hfToken"),
    ("unknown-cluster-key", "agentfleet:cluster.version", "1.31", "agentfleet:cluster.version",
     "unknown key; allowed here: name, create, nodeProvisioner, amiRelease, vpcId, subnetIds, "
     "loadBalancerSubnetIds, nodeRoleArn, kedaOperatorRoleArn, kubernetesVersion, vpcCidr, "
     "availabilityZones, adminRoleArns, publicAccessCidrs, systemNodes"),
    ("unknown-scaling-key", f"{TIER}.scaling.targetGpuUtilization", 80,
     f"{TIER}.scaling.targetGpuUtilization",
     "unknown key; allowed here: queueDepthPerInstance, scaleOutSustainSeconds, "
     "scaleInIdleSeconds, schedule"),
    ("unknown-monitoring-key", "agentfleet:fleet.monitoring.ttft", 1,
     "agentfleet:fleet.monitoring.ttft",
     "unknown key; allowed here: ttftP95AlertSeconds, kvCacheAlertPercent, "
     "prometheusAddress, alertEmails"),
    ("wrong-type-int", f"{TIER}.expectedConcurrency", "many", f"{TIER}.expectedConcurrency",
     "input should be a valid integer (got 'many')"),
    ("wrong-type-float-for-int", f"{TIER}.expectedConcurrency", 500.5,
     f"{TIER}.expectedConcurrency", "input should be a valid integer (got 500.5)"),
    ("wrong-type-bool", f"{TIER}.userFacing", "yes", f"{TIER}.userFacing",
     "input should be a valid boolean (got 'yes')"),
    ("wrong-type-tiers", "agentfleet:fleet.tiers", ["orchestrator"], "agentfleet:fleet.tiers",
     'input should be a valid dictionary (got ["orchestrator"])'),
    ("wrong-type-price", f"{TIER}.pricePerGpuHour", "cheap", f"{TIER}.pricePerGpuHour",
     "must be a number (got 'cheap')"),
    ("wrong-type-subnets", "agentfleet:cluster.subnetIds", "subnet-0a",
     "agentfleet:cluster.subnetIds", "input should be a valid list (got 'subnet-0a')"),
    ("missing-model", f"{TIER}.model", DELETE, f"{TIER}.model", "required key is missing"),
    ("missing-cluster", "agentfleet:cluster", DELETE, "agentfleet:cluster",
     "required key is missing"),
    ("missing-region", "aws:region", DELETE, "aws:region", "required key is missing"),
    ("bad-region", "aws:region", "us-east", "aws:region",
     "string should match pattern '^[a-z]{2}(-[a-z]+){1,3}-\\d{1,2}$' (got 'us-east')"),
    ("unknown-gpu", f"{TIER}.gpu", "b200", f"{TIER}.gpu",
     "unknown GPU 'b200'; known: l40s, a100-80gb, h100-pcie, h100-sxm"),
    ("unknown-latency-class", f"{TIER}.latencyClass", "fast", f"{TIER}.latencyClass",
     "input should be 'ttft-first' or 'throughput-first' (got 'fast')"),
    ("unknown-capacity", f"{TIER}.capacity", "reserved", f"{TIER}.capacity",
     "input should be 'on-demand' or 'spot' (got 'reserved')"),
    ("unknown-environment", "agentfleet:fleet.environment", "qa", "agentfleet:fleet.environment",
     "input should be 'dev', 'staging' or 'prod' (got 'qa')"),
    ("mig-does-not-fit", f"{TIER}.mig", {"7g.80gb": 1, "1g.10gb": 1}, f"{TIER}.mig",
     "{7g.80gb: 1, 1g.10gb: 1} needs 8 compute slices; h100-pcie has 7"),
    ("mig-no-free-slot", f"{TIER}.mig", {"3g.40gb": 2, "1g.10gb": 1}, f"{TIER}.mig",
     "no free start slot for 1g.10gb (it starts at 0, 1, 2, 3, 4, 5, 6 and takes 1 of 8 "
     "memory slices) in {3g.40gb: 2, 1g.10gb: 1} on h100-pcie"),
    ("mig-on-gpu-without-mig", f"{LIGHT}.mig", {"1g.10gb": 1}, f"{LIGHT}.mig",
     "l40s has no MIG: it cannot be partitioned"),
    ("mig-unknown-profile", f"{TIER}.mig", {"1g.5gb": 2}, f"{TIER}.mig",
     "unknown MIG profile '1g.5gb' for h100-pcie; known: 1g.10gb, 1g.10gb+me, 1g.20gb, "
     "2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb"),
    ("mig-empty", f"{TIER}.mig", {}, f"{TIER}.mig", "a MIG layout needs at least one profile"),
    ("mig-zero-count", f"{TIER}.mig", {"1g.10gb": 0}, f"{TIER}.mig.1g.10gb",
     "input should be greater than or equal to 1 (got 0)"),
    ("min-above-max", f"{TIER}.minInstances", 6, f"{TIER}.minInstances",
     "minInstances (6) is above maxInstances (4)"),
    ("instance-type-wrong-gpu", f"{LIGHT}.instanceType", "p5.4xlarge", f"{LIGHT}.instanceType",
     "p5.4xlarge does not carry l40s GPUs; choose one of g6e.xlarge, g6e.2xlarge, "
     "g6e.4xlarge, g6e.8xlarge, g6e.16xlarge, g6e.12xlarge, g6e.24xlarge, g6e.48xlarge"),
    ("gpus-per-replica-does-not-divide", f"{MID}.gpusPerReplica", 3, f"{MID}.gpusPerReplica",
     "3 GPUs per replica do not divide the 8 GPU(s) of instanceType p4de.24xlarge"),
    ("bad-tier-name", "agentfleet:fleet.tiers.Orchestrator_1",
     {"gpu": "h100-pcie", "latencyClass": "ttft-first", "userFacing": True, "model": "m",
      "expectedConcurrency": 1},
     "agentfleet:fleet.tiers.Orchestrator_1",
     "tier names are lowercase letters, digits and '-', starting with a letter (at most 40 "
     "characters: they name Services, DNS-1035)"),
    ("no-tiers", "agentfleet:fleet.tiers", {}, "agentfleet:fleet.tiers",
     "dictionary should have at least 1 item after validation, not 0 (got {})"),
    ("zero-concurrency", f"{TIER}.expectedConcurrency", 0, f"{TIER}.expectedConcurrency",
     "input should be greater than or equal to 1 (got 0)"),
    ("negative-price", f"{TIER}.pricePerGpuHour", -1, f"{TIER}.pricePerGpuHour",
     "must be at least 0.01 (a cent); got -1"),
    ("negative-budget", "agentfleet:fleet.budgetPerHourUsd", 0, "agentfleet:fleet.budgetPerHourUsd",
     "must be at least 0.01 (a cent); got 0"),
    ("health-check-outside-aws-range", f"{TIER}.loadBalancer.healthCheckIntervalSeconds", 2,
     f"{TIER}.loadBalancer.healthCheckIntervalSeconds",
     "input should be greater than or equal to 5 (got 2)"),
    ("window-beyond-hpa-limit", f"{TIER}.scaling.scaleInIdleSeconds", 7200,
     f"{TIER}.scaling.scaleInIdleSeconds",
     "input should be less than or equal to 3600 (got 7200)"),
    ("kv-cache-percent-above-100", "agentfleet:fleet.monitoring.kvCacheAlertPercent", 120,
     "agentfleet:fleet.monitoring.kvCacheAlertPercent",
     "input should be less than or equal to 100 (got 120)"),
    ("bad-subnet-id", "agentfleet:cluster.subnetIds", ["subnet-zz"],
     "agentfleet:cluster.subnetIds[0]",
     "string should match pattern '^subnet-[0-9a-f]{1,17}$' (got 'subnet-zz')"),
    ("repeated-subnet", "agentfleet:cluster.subnetIds", ["subnet-0a", "subnet-0a"],
     "agentfleet:cluster.subnetIds", "subnet listed twice: subnet-0a"),
    ("bad-role-arn", "agentfleet:cluster.nodeRoleArn", "agents-prod-nodes",
     "agentfleet:cluster.nodeRoleArn",
     "string should match pattern '^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]+$' "
     "(got 'agents-prod-nodes')"),
    ("bad-cron", f"{TIER}.scaling.schedule", [{"start": "8am", "end": "0 18 * * *",
     "predictedPeak": 10}], f"{TIER}.scaling.schedule[0].start",
     "'8am' is not a cron expression: five fields (minute hour day-of-month month "
     "day-of-week) separated by spaces"),
    ("unknown-time-zone", f"{TIER}.scaling.schedule", [{"start": "0 8 * * *",
     "end": "0 18 * * *", "timezone": "Mars/Olympus", "predictedPeak": 10}],
     f"{TIER}.scaling.schedule[0].timezone",
     "unknown time zone 'Mars/Olympus' (IANA names, e.g. Europe/Paris)"),
    ("window-closes-as-it-opens", f"{TIER}.scaling.schedule", [{"start": "0 8 * * *",
     "end": "0 8 * * *", "predictedPeak": 10}], f"{TIER}.scaling.schedule[0].end",
     "the window must close at another time than it opens"),
    ("public-lb-without-tls", f"{TIER}.loadBalancer", {"internal": False},
     f"{TIER}.loadBalancer.certificateArn",
     "an internet-facing load balancer needs a certificate (HTTPS); plain HTTP is only for "
     "internal ones"),
    ("bad-cidr", f"{TIER}.loadBalancer.allowedCidrs", ["10.0.0.0"],
     f"{TIER}.loadBalancer.allowedCidrs[0]",
     "'10.0.0.0' is not an IPv4 CIDR block (e.g. 10.0.0.0/16)"),
    ("plaintext-token", "agentfleet:hfToken", "hf_abc", "agentfleet:hfToken",
     "store it as a secret: pulumi config set --secret agentfleet:hfToken <token>"),
    ("zero-receive-count", f"{TIER}.queue.maxReceiveCount", 0, f"{TIER}.queue.maxReceiveCount",
     "input should be greater than or equal to 1 (got 0)"),
    ("unpinned-worker-image", "agentfleet:fleet.worker.image", "agentfleet-worker:latest",
     "agentfleet:fleet.worker.image",
     "'agentfleet-worker:latest' is not a pinned image: give a tag other than 'latest', or a "
     "digest (e.g. <registry>/agentfleet-worker:0.1.0)"),
    ("worker-cpu-too-small", "agentfleet:fleet.worker.cpuMillis", 10,
     "agentfleet:fleet.worker.cpuMillis", "input should be greater than or equal to 50 (got 10)"),
    ("reply-queue-not-an-arn", f"{TIER}.queue.replyQueueArns", ["agents-prod-replies"],
     f"{TIER}.queue.replyQueueArns[0]",
     "string should match pattern '^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_*?-]{1,80}"
     "(\\.fifo)?$' (got 'agents-prod-replies')"),
    ("bad-alert-email", "agentfleet:fleet.monitoring.alertEmails", ["oncall"],
     "agentfleet:fleet.monitoring.alertEmails[0]",
     "string should match pattern '^[^@\\s]+@[^@\\s]+$' (got 'oncall')"),
]
# fmt: on


def invalid_values(path: str, value: object) -> dict[str, Any]:
    values = stack_values("prod")
    if path == f"{TIER}.minInstances":
        setting(values, f"{TIER}.maxInstances", 4)
    return setting(values, path, value)


@pytest.mark.parametrize(
    ("path", "value", "where", "reason"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_config_names_key_path_and_reason(
    path: str, value: object, where: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(invalid_values(path, value))
    assert raised.value.problems == ((where, reason),)


def test_a_revision_pins_only_a_hugging_face_model() -> None:
    values = stack_values("prod")
    setting(values, f"{TIER}.model", "s3://agents-finetunes/support-bot/v3/")
    setting(values, f"{TIER}.revision", "v3")
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    assert raised.value.problems == (
        (f"{TIER}.revision", "a revision pins a Hugging Face model; this model is not one"),
    )


def test_several_problems_are_all_reported() -> None:
    values = stack_values("prod")
    setting(values, f"{TIER}.expectedConcurrency", "many")
    setting(values, f"{LIGHT}.mig", {"1g.10gb": 1})
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    assert [where for where, _ in raised.value.problems] == [
        f"{TIER}.expectedConcurrency",
        f"{LIGHT}.mig",
    ]


# --- checklist breaches are buildable: the policy pack reports them -------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (f"{MID}.capacity", "spot"),  # spot price exists, above on-demand: K2's business
        (f"{TIER}.maxNumSeqs", 500),  # C2
        (f"{TIER}.minInstances", 1),  # C7, A4
        (f"{TIER}.scaling.scaleInIdleSeconds", 60),  # A3
        (f"{TIER}.scaling.queueDepthPerInstance", 50),  # A2
        (f"{TIER}.loadBalancer.healthCheckIntervalSeconds", 30),  # C6
        ("agentfleet:fleet.budgetPerHourUsd", DELETE),  # K3
        (f"{TIER}.gpu", "l40s"),  # C1
        ("agentfleet:fleet.monitoring.ttftP95AlertSeconds", 30),  # M1
    ],
)
def test_checklist_breaches_are_accepted(path: str, value: object) -> None:
    config = parse_stack_config(setting(stack_values("prod"), path, value))
    # Kept as given, not corrected: the policy pack is what reports it.
    kept = value_at(config.model_dump(by_alias=True, mode="json"), path)
    assert kept == (None if value is DELETE else value)


def value_at(document: dict[str, Any], path: str) -> Any:
    """The value at a key path like ``agentfleet:fleet.tiers.x.gpu`` of a dumped config."""
    first, *rest = path.split(".")
    node: Any = document[first]
    for key in rest:
        node = node[key]
    return node


def test_spot_on_a_user_facing_tier_is_accepted_when_a_spot_price_exists() -> None:
    values = stack_values("prod")
    setting(values, f"{TIER}.capacity", "spot")
    setting(values, f"{TIER}.spotPricePerGpuHour", 1.9)
    tier = plan_fleet(parse_stack_config(values)).tier("orchestrator")
    assert tier.capacity == "spot"
    assert tier.spot_price == Decimal("1.9")
    assert tier.price_per_gpu_hour == Decimal("1.9")


@pytest.mark.parametrize(
    ("key", "value", "blamed", "reason"),
    [
        ("capacity", "spot", "capacity", "spot capacity needs a spot price and the prices have "
         "none for l40s; set spotPricePerGpuHour or use on-demand"),
        ("burst", {"capacity": "spot", "maxInstances": 4}, "burst.capacity", "a burst onto "
         "spot needs a spot price and the prices have none for l40s; set spotPricePerGpuHour"),
    ],
)  # fmt: skip
def test_spot_without_a_spot_price_is_refused_by_the_plan(
    key: str, value: object, blamed: str, reason: str
) -> None:
    """AWS's shipped table has no spot prices: a tier asking for spot names the key."""
    values = stack_values("prod")
    setting(values, f"{LIGHT}.{key}", value)
    with pytest.raises(ConfigError) as raised:
        plan_fleet(parse_stack_config(values))
    assert raised.value.problems == ((f"{LIGHT}.{blamed}", reason),)


# --- defaults and values --------------------------------------------------------------


def test_prod_values() -> None:
    config = load_stack_file(REPO / "stacks" / "Pulumi.prod.yaml")
    assert config.region == "us-east-1"
    assert config.cluster.name == "agents-prod"
    assert list(config.fleet.tiers) == ["orchestrator", "mid-tier", "lightweight"]
    assert config.fleet.budget_per_hour_usd == Decimal(800)
    orchestrator = config.fleet.tiers["orchestrator"]
    assert orchestrator.user_facing is True
    assert orchestrator.scaling.queue_depth_per_replica == 10
    assert orchestrator.scaling.scale_in_idle_seconds == 300
    (peak,) = orchestrator.scaling.schedule
    assert (peak.start, peak.end, peak.timezone, peak.predicted_peak) == (
        "0 7 * * 1-5",
        "0 19 * * 1-5",
        "America/New_York",
        600,
    )
    assert orchestrator.load_balancer.health_check_interval_seconds == 10
    assert config.fleet.monitoring.ttft_p95_alert_seconds is None  # each tier its own
    assert config.fleet.monitoring.kv_cache_alert_percent == 85


def test_prices_are_exact_decimals() -> None:
    values = stack_values("prod")
    setting(values, f"{TIER}.pricePerGpuHour", 2.1)
    setting(values, f"{MID}.spotPricePerGpuHour", "0.93")
    plan = plan_fleet(parse_stack_config(values))
    assert plan.tier("orchestrator").on_demand_price == Decimal("2.1")
    assert plan.tier("mid-tier").spot_price == Decimal("0.93")


def test_spot_price_null_means_no_spot_price() -> None:
    values = stack_values("prod")
    setting(values, "agentfleet:fleet.prices", "seed")
    assert plan_fleet(parse_stack_config(values)).tier("mid-tier").spot_price == Decimal("1.14")
    setting(values, f"{MID}.spotPricePerGpuHour", None)
    assert plan_fleet(parse_stack_config(values)).tier("mid-tier").spot_price is None


def test_models_are_frozen() -> None:
    config = load_stack_file(REPO / "stacks" / "Pulumi.prod.yaml")
    with pytest.raises(ValueError, match="frozen"):
        config.fleet.tiers["orchestrator"].expected_concurrency = 1  # type: ignore[misc]


def test_tier_config_accepts_python_names_for_direct_use() -> None:
    tier = TierConfig(
        gpu="h100-pcie",
        latency_class="ttft-first",
        user_facing=True,
        model="m",
        expected_concurrency=10,
    )
    assert tier.min_instances is None


def test_every_field_says_why() -> None:
    def models(model: type[Any]) -> Iterator[type[Any]]:
        yield model
        for field in model.model_fields.values():
            annotation = field.annotation
            args = getattr(annotation, "__args__", ())
            for candidate in (annotation, *args):
                if isinstance(candidate, type) and hasattr(candidate, "model_fields"):
                    yield from models(candidate)

    for model in set(models(StackConfig)) - {StackConfig}:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


# --- stack files on disk --------------------------------------------------------------


# --- the same result from pulumi.Config -----------------------------------------------
