"""Stack configuration: the validated form of every ``agentfleet:*`` key of a stack.

The same models load a stack file from disk (``load_stack_file``) and the configuration of
a running Pulumi program (``load_pulumi_config``); both go through ``parse_stack_config``,
so the two give the same result. Values that cannot be built raise ``ConfigError``, whose
problems each name the full key path (``agentfleet:fleet.tiers.orchestrator.mig``) and the
reason. Values that can be built but break the production checklist are accepted here and
reported by the policy pack, which also guards stacks that use the components directly.

Optional fields left unset (None) take their defaults in the planner (``infra.plan``),
which derives them from the checklist and the catalog; each description says which.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from infra import __version__, mig
from infra.catalog import CATALOG, LatencyClass

NAMESPACE = "agentfleet"
REGION_KEY = "aws:region"
DEFAULT_QUEUE_DEPTH_PER_INSTANCE = 10  # A2
DEFAULT_SCALE_OUT_SUSTAIN_SECONDS = 60  # A2
SCALE_TO_ZERO_SCALE_OUT_SUSTAIN_SECONDS = 30  # batch tiers that scale to zero
DEFAULT_SCALE_IN_IDLE_SECONDS = 300  # A3
DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS = 10  # C6
DEFAULT_TTFT_P95_ALERT_SECONDS = 0.5  # M1
DEFAULT_KV_CACHE_ALERT_PERCENT = 85.0  # M2
HPA_MAX_WINDOW_SECONDS = 3600  # the HPA's limit on a stabilisation window
WORKER_IMAGE = f"agentfleet-worker:{__version__}"  # what the README's `docker build` tags


class ConfigError(Exception):
    """Configuration that cannot be built. ``problems`` holds (key path, reason) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{path}: {reason}" for path, reason in self.problems))


class KeyedError(ValueError):
    """Raised by a model validator to blame one field of the model by its key."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


def _to_decimal(value: object) -> object:
    """Prices and budgets: exact decimals from YAML ints, floats or numeric strings."""
    if isinstance(value, bool):
        return value  # let pydantic reject it as a wrong type
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"must be a number (got {value!r})") from None
        if not parsed.is_finite():
            raise ValueError("must be a finite number")
        return parsed
    return value


Money = Annotated[Decimal, BeforeValidator(_to_decimal), Field(gt=0, allow_inf_nan=False)]
Count = Annotated[StrictInt, Field(ge=1)]
Seconds = Annotated[StrictInt, Field(ge=0, le=HPA_MAX_WINDOW_SECONDS)]
TierName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", strict=True)
]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
CIDR = r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        extra="forbid",
        frozen=True,
        validate_by_alias=True,
        validate_by_name=True,
    )


CRON_FIELD = r"[0-9*/,\-A-Za-z?]+"
CRON = rf"^{CRON_FIELD}( {CRON_FIELD}){{4}}$"


class ScheduleWindow(_Model):
    """A known peak: pre-scale the tier for it on a schedule (KEDA cron trigger)."""

    start: Annotated[StrictStr, StringConstraints(pattern=CRON)] = Field(
        description="Cron expression (5 fields) of when the peak window opens, e.g. '0 8 * * 1-5'."
    )
    end: Annotated[StrictStr, StringConstraints(pattern=CRON)] = Field(
        description="Cron expression of when it closes, e.g. '0 18 * * 1-5'."
    )
    timezone: StrictStr = Field("UTC", description="IANA time zone of the two expressions.")
    predicted_peak: Count = Field(
        description="Concurrent interactions predicted at the peak; the tier is held at "
        "replicas for that plus 30% headroom during the window."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (IANA names, e.g. Europe/Paris)"
            ) from None
        return value


class ScalingConfig(_Model):
    """Queue-depth autoscaling of a tier (checklist A1-A3)."""

    queue_depth_per_instance: Count = Field(
        DEFAULT_QUEUE_DEPTH_PER_INSTANCE,
        description="A2: scale out when the queue holds more than this many requests per "
        "GPU instance (KEDA's target backlog per replica). Default 10.",
    )
    scale_out_sustain_seconds: Seconds | None = Field(
        None,
        description="A2: the backlog must last this long before scaling out (scale-up "
        "stabilisation). Default 60 s; 30 s for tiers that scale to zero.",
    )
    scale_in_idle_seconds: Seconds = Field(
        DEFAULT_SCALE_IN_IDLE_SECONDS,
        description="A3: scale in only after the queue has been below the threshold this "
        "long (scale-down stabilisation and cooldown). Default 300 s (5 min).",
    )
    schedule: list[ScheduleWindow] = Field(
        default_factory=list,
        description="Known peaks to pre-scale for, with 30% headroom above the prediction.",
    )


class LoadBalancerConfig(_Model):
    """The load balancer in front of a user-facing tier (checklist C5-C7)."""

    health_check_interval_seconds: Annotated[StrictInt, Field(ge=5, le=300)] = Field(
        DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS,
        description="C6: seconds between health checks of vLLM's /health endpoint; the "
        "checklist wants 10-15 s. Default 10. AWS accepts 5-300.",
    )
    internal: StrictBool = Field(
        True, description="Internal (reachable inside the VPC only) unless set false."
    )
    certificate_arn: (
        Annotated[
            StrictStr,
            StringConstraints(pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/\S+$"),
        ]
        | None
    ) = Field(
        None,
        description="ACM certificate for an HTTPS listener on 443; without one the listener "
        "is HTTP on 80 (internal load balancers only).",
    )
    allowed_cidrs: list[Annotated[StrictStr, StringConstraints(pattern=CIDR)]] | None = Field(
        None, description="Who may reach the listener. Default: the VPC's CIDR block."
    )

    @model_validator(mode="after")
    def _tls_when_public(self) -> LoadBalancerConfig:
        if not self.internal and self.certificate_arn is None:
            raise KeyedError(
                "certificateArn",
                "an internet-facing load balancer needs a certificate (HTTPS); plain HTTP is "
                "only for internal ones",
            )
        return self


IMAGE = re.compile(r"^[\w./:-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$")
SQS_ARN = r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_*?-]{1,80}(\.fifo)?$"


class QueueConfig(_Model):
    """The tier's SQS task queue (checklist C4)."""

    max_receive_count: Annotated[StrictInt, Field(ge=1, le=1000)] = Field(
        5,
        description="Receives before a message moves to the dead-letter queue. Default 5.",
    )
    kms_key_id: StrictStr | None = Field(
        None,
        description="KMS key (id, ARN or alias) for server-side encryption. Default: "
        "SQS-managed encryption (SSE-SQS).",
    )
    reply_queue_arns: list[Annotated[StrictStr, StringConstraints(pattern=SQS_ARN)]] = Field(
        default_factory=list,
        description="The agents' reply queues the tier's workers may send replies to "
        "(ARNs; '*' and '?' allowed in the queue name, as in IAM). The workers' role may "
        "send to these only, and a request naming another reply queue is refused unrun. "
        "Default: none (requests are answered only by deleting them once done).",
    )


class TierConfig(_Model):
    """One inference pool: GPU nodes of one kind serving one model, scaled on queue depth."""

    gpu: StrictStr = Field(
        description="Catalog key of the GPU: " + ", ".join(CATALOG) + ". C1: H100-class "
        "for TTFT-first tiers, A100/L40S for throughput-first ones.",
    )
    latency_class: LatencyClass = Field(
        description="ttft-first (user-facing, latency-bound) or throughput-first (workers, "
        "embeddings); C1 checks the GPU against it.",
    )
    user_facing: StrictBool = Field(
        description="User-facing tiers keep a floor of at least 2 instances behind a load "
        "balancer (A4, C7) and run on on-demand capacity (K1, A5).",
    )
    capacity: Literal["on-demand", "spot"] | None = Field(
        None,
        description="on-demand or spot. Default: on-demand for user-facing tiers (K1); "
        "spot for background tiers where the GPU's spot price is below its on-demand price "
        "(K2), on-demand otherwise.",
    )
    model: Annotated[StrictStr, StringConstraints(min_length=1, pattern=r"^\S+$")] = Field(
        description="The model vLLM serves (a Hugging Face id or a path in the image).",
    )
    expected_concurrency: Count = Field(
        description="Concurrent interactions this tier serves at peak; sizes the tier.",
    )
    concurrency_per_gpu: Count | None = Field(
        None,
        description="Concurrent interactions one GPU serves. Default: the catalog's figure "
        "for the GPU (l40s 50, a100-80gb 75, h100 100).",
    )
    gpus_per_replica: Count | None = Field(
        None,
        description="GPUs per vLLM replica (tensor parallelism) for models too large for "
        "one GPU. Default 1. Must divide the instance's GPUs; not with MIG.",
    )
    max_num_seqs: Count | None = Field(
        None,
        description="vLLM --max-num-seqs. Default 1.75x the expected concurrent sessions "
        "per replica, inside the 1.5-2x band of C2.",
    )
    min_instances: Annotated[StrictInt, Field(ge=0)] | None = Field(
        None,
        description="Floor of GPU instances. Default 2 for user-facing tiers (A4 floor, C7 "
        "failover), 0 for background tiers (they may scale to zero).",
    )
    max_instances: Count | None = Field(
        None,
        description="Ceiling of GPU instances. Default: the instances the capacity plan "
        "needs for expectedConcurrency, and never below the floor.",
    )
    instance_type: StrictStr | None = Field(
        None,
        description="AWS instance type. Default: the catalog's type for the GPU "
        "(l40s g6e.2xlarge, a100-80gb p4de.24xlarge, h100-pcie p5.4xlarge, h100-sxm "
        "p5.48xlarge); it must carry that GPU.",
    )
    price_per_gpu_hour: Money | None = Field(
        None,
        description="On-demand USD per GPU-hour. Default: the catalog's list price.",
    )
    spot_price_per_gpu_hour: Money | None = Field(
        None,
        description="Spot USD per GPU-hour. Default: the catalog's spot price; set null "
        "to say there is no spot price.",
    )
    mig: dict[StrictStr, Count] | None = Field(
        None,
        description="MIG layout of each GPU, profile -> count (e.g. {2g.20gb: 1, 1g.10gb: "
        "1}); each instance serves one vLLM replica. Only on MIG GPUs, and it must fit.",
    )
    scaling: ScalingConfig = Field(
        default_factory=ScalingConfig, description="Queue-depth autoscaling (A1-A3)."
    )
    load_balancer: LoadBalancerConfig = Field(
        default_factory=LoadBalancerConfig,
        description="The load balancer of a user-facing tier (C5-C7).",
    )
    queue: QueueConfig = Field(
        default_factory=QueueConfig, description="The tier's task queue (C4)."
    )
    request_timeout_seconds: Annotated[StrictInt, Field(ge=1, le=3600)] = Field(
        300,
        description="The longest request the tier allows (seconds). The queue's visibility "
        "timeout and the replicas' drain are longer. Default 300.",
    )

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, value: str) -> str:
        if value not in CATALOG:
            raise ValueError(f"unknown GPU {value!r}; known: {', '.join(CATALOG)}")
        return value

    @model_validator(mode="after")
    def _buildable(self) -> TierConfig:
        gpu = CATALOG[self.gpu]
        if self.instance_type is not None and self.instance_type not in gpu.instance_type_names:
            raise KeyedError(
                "instanceType",
                f"{self.instance_type} does not carry {gpu.key} GPUs; choose one of "
                f"{', '.join(gpu.instance_type_names)}",
            )
        instance = gpu.instance_type(self.instance_type or gpu.default_instance_type)
        if self.mig is not None:
            if not self.mig:
                raise KeyedError("mig", "a MIG layout needs at least one profile")
            try:
                mig.validate(self.gpu, self.mig)
            except mig.MigLayoutError as error:
                raise KeyedError("mig", str(error)) from None
            if self.gpus_per_replica not in (None, 1):
                raise KeyedError(
                    "gpusPerReplica",
                    "a replica on a MIG slice uses part of one GPU; gpusPerReplica must be "
                    "1 (or unset) when mig is set",
                )
        if self.gpus_per_replica is not None and instance.gpus % self.gpus_per_replica:
            raise KeyedError(
                "gpusPerReplica",
                f"{self.gpus_per_replica} GPUs per replica do not divide the "
                f"{instance.gpus} GPU(s) of instanceType {instance.name}",
            )
        if (
            self.min_instances is not None
            and self.max_instances is not None
            and self.min_instances > self.max_instances
        ):
            raise KeyedError(
                "minInstances",
                f"minInstances ({self.min_instances}) is above maxInstances ({self.max_instances})",
            )
        if self.capacity == "spot" and self.spot_price is None:
            raise KeyedError(
                "capacity",
                f"spot capacity needs a spot price and the catalog has none for {gpu.key}; "
                "set spotPricePerGpuHour or use on-demand",
            )
        return self

    @property
    def on_demand_price(self) -> Decimal:
        return self.price_per_gpu_hour or CATALOG[self.gpu].on_demand_price

    @property
    def spot_price(self) -> Decimal | None:
        """The stack's spot price, the catalog's when unset, None when set to null."""
        if "spot_price_per_gpu_hour" in self.model_fields_set:
            return self.spot_price_per_gpu_hour
        return CATALOG[self.gpu].spot_price


class MonitoringConfig(_Model):
    """Fleet-wide alerts and dashboards (checklist M1-M3, K3)."""

    ttft_p95_alert_seconds: Annotated[Number, Field(gt=0)] = Field(
        DEFAULT_TTFT_P95_ALERT_SECONDS,
        description="M1: alert when a tier's p95 time to first token exceeds this many "
        "seconds; set it below the SLA so the alert comes before the breach. Default 0.5.",
    )
    kv_cache_alert_percent: Annotated[Number, Field(gt=0, le=100)] = Field(
        DEFAULT_KV_CACHE_ALERT_PERCENT,
        description="M2: alert when vLLM's KV-cache usage stays above this percentage. Default 85.",
    )
    prometheus_address: (
        Annotated[StrictStr, StringConstraints(pattern=r"^https?://\S+$")] | None
    ) = Field(
        None,
        description="Prometheus the autoscaler may query: user-facing tiers then also "
        "scale on vLLM's own waiting queue (vllm:num_requests_waiting).",
    )
    alert_emails: list[Annotated[StrictStr, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]] = (
        Field(
            default_factory=list,
            description="Who gets budget and queue alerts (by e-mail, through an SNS topic).",
        )
    )


class WorkerConfig(_Model):
    """The queue worker beside vLLM in every inference pod (``agentfleet worker``)."""

    enabled: StrictBool = Field(
        True,
        description="Run the worker that moves the tier's queue into vLLM. Turn it off "
        "only when something else consumes the queues.",
    )
    image: StrictStr = Field(
        WORKER_IMAGE,
        description="The worker image built from this package's Dockerfile, by tag or "
        f"digest. Default {WORKER_IMAGE!r}: build and push it to your registry (README).",
    )
    cpu_millis: Annotated[StrictInt, Field(ge=50, le=8000)] = Field(
        500, description="The worker container's CPU request and limit (millicores)."
    )
    memory_mib: Annotated[StrictInt, Field(ge=64, le=16384)] = Field(
        512, description="The worker container's memory request and limit (MiB)."
    )

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str) -> str:
        if not IMAGE.match(image) or image.endswith(":latest"):
            raise ValueError(
                f"{image!r} is not a pinned image: give a tag other than 'latest', or a "
                "digest (e.g. <registry>/agentfleet-worker:0.1.0)"
            )
        return image


class FleetConfig(_Model):
    """The tiers and the fleet-wide settings."""

    environment: Literal["dev", "staging", "prod"] = Field(
        description="dev, staging or prod; tagged on every billable resource (M4)."
    )
    budget_per_hour_usd: Money | None = Field(
        None,
        description="K3: the fleet's cost budget per hour (USD); alerts fire at 80% and "
        "100%. Leaving it unset is reported by the cost-budget-alerts policy.",
    )
    tiers: Annotated[dict[TierName, TierConfig], Field(min_length=1)] = Field(
        description="The inference pools, by name (lowercase letters, digits and '-', at "
        "most 40 characters)."
    )
    monitoring: MonitoringConfig = Field(
        default_factory=MonitoringConfig, description="Alerts and dashboards (M1-M3)."
    )
    namespace: Annotated[
        StrictStr, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    ] = Field(
        "agentfleet",
        description="Kubernetes namespace of the fleet; it enforces Pod Security 'restricted'.",
    )
    cost_center: StrictStr = Field(
        "agentfleet", description="Value of the agentfleet.io/cost-center tag (M4)."
    )
    worker: WorkerConfig = Field(
        default_factory=WorkerConfig,
        description="The queue worker that feeds each vLLM replica from its tier's queue.",
    )


ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"
SubnetId = Annotated[StrictStr, StringConstraints(pattern=r"^subnet-[0-9a-f]{1,17}$")]


class NodeGroupConfig(_Model):
    """The CPU node group of a new cluster: controllers, add-ons and MCP servers (C3)."""

    instance_type: Annotated[StrictStr, StringConstraints(pattern=r"^[a-z0-9-]+\.[a-z0-9]+$")] = (
        Field("m7i.xlarge", description="Instance type of the CPU nodes.")
    )
    min_size: Annotated[StrictInt, Field(ge=1, le=100)] = Field(
        2, description="Fewest nodes; two keep the controllers up through a node's loss."
    )
    max_size: Annotated[StrictInt, Field(ge=1, le=1000)] = Field(
        6, description="Most nodes the cluster autoscaler may add."
    )

    @model_validator(mode="after")
    def _range(self) -> NodeGroupConfig:
        if self.min_size > self.max_size:
            raise KeyedError("minSize", f"{self.min_size} is above maxSize ({self.max_size})")
        return self


EXISTING_CLUSTER_KEYS = ("vpc_id", "subnet_ids", "node_role_arn")
NEW_CLUSTER_KEYS = (
    "kubernetes_version",
    "vpc_cidr",
    "availability_zones",
    "admin_role_arns",
    "public_access_cidrs",
    "system_nodes",
)
DEFAULT_KUBERNETES_VERSION = "1.34"
DEFAULT_VPC_CIDR = "10.0.0.0/16"
DEFAULT_AVAILABILITY_ZONES = 3


class ClusterConfig(_Model):
    """The EKS cluster the fleet is built into: an existing one (name, vpcId, subnetIds,
    nodeRoleArn), or with `create: true` a new one agentfleet builds (VPC, private
    endpoint, encrypted secrets, logs, Pod Identity, a CPU node group)."""

    name: Annotated[StrictStr, StringConstraints(pattern=r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")] = (
        Field(description="The EKS cluster's name.")
    )
    create: StrictBool = Field(
        False, description="Build a new cluster with this name instead of using an existing one."
    )
    vpc_id: Annotated[StrictStr, StringConstraints(pattern=r"^vpc-[0-9a-f]{1,17}$")] | None = Field(
        None,
        description="Existing cluster: its VPC; load balancers and their security groups go here.",
    )
    subnet_ids: Annotated[list[SubnetId], Field(min_length=1)] | None = Field(
        None,
        description="Existing cluster: subnets for GPU nodes and internal load balancers; use "
        "subnets in at least two availability zones so a tier survives the loss of one (C7).",
    )
    node_role_arn: Annotated[StrictStr, StringConstraints(pattern=ROLE_ARN)] | None = Field(
        None, description="Existing cluster: IAM role of the GPU nodes (the cluster's node role)."
    )
    keda_operator_role_arn: Annotated[StrictStr, StringConstraints(pattern=ROLE_ARN)] | None = (
        Field(
            None,
            description="IAM role of the KEDA operator; only it may assume the tiers' "
            "queue-reading roles. Default: the role of the KEDA add-on when agentfleet installs "
            "it, else any principal of the account that IAM allows.",
        )
    )
    kubernetes_version: Annotated[StrictStr, StringConstraints(pattern=r"^1\.\d{2}$")] | None = (
        Field(
            None,
            description=f"New cluster: Kubernetes version. Default {DEFAULT_KUBERNETES_VERSION}.",
        )
    )
    vpc_cidr: Annotated[StrictStr, StringConstraints(pattern=CIDR)] | None = Field(
        None,
        description="New cluster: the VPC's address range, /16 to /20. "
        f"Default {DEFAULT_VPC_CIDR}.",
    )
    availability_zones: Annotated[StrictInt, Field(ge=2, le=6)] | None = Field(
        None,
        description="New cluster: availability zones to spread subnets and nodes over (at least "
        f"two, C7). Default {DEFAULT_AVAILABILITY_ZONES}.",
    )
    admin_role_arns: list[Annotated[StrictStr, StringConstraints(pattern=ROLE_ARN)]] | None = Field(
        None,
        description="New cluster: IAM roles given cluster-admin through EKS access entries "
        "(the identity running `pulumi up` gets it too, as the cluster's creator).",
    )
    public_access_cidrs: list[Annotated[StrictStr, StringConstraints(pattern=CIDR)]] | None = Field(
        None,
        description="New cluster: CIDRs that may reach the API endpoint from the internet. "
        "Default: none, the endpoint is private (eks-private-endpoint).",
    )
    system_nodes: NodeGroupConfig | None = Field(
        None, description="New cluster: the CPU node group for controllers and MCP servers."
    )

    @field_validator("subnet_ids")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        repeated = sorted({subnet for subnet in value or () if value.count(subnet) > 1})  # type: ignore[union-attr]
        if repeated:
            raise ValueError(f"subnet listed twice: {', '.join(repeated)}")
        return value

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError as error:
            raise ValueError(f"{value}: {error}") from None
        if not 16 <= int(value.rsplit("/", 1)[1]) <= 20:
            raise ValueError(f"{value}: a VPC for a fleet needs a /16 to /20 range")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> ClusterConfig:
        for key in EXISTING_CLUSTER_KEYS:
            given = getattr(self, key) is not None
            if self.create and given:
                raise KeyedError(
                    to_camel(key), "a new cluster (create: true) makes its own; remove it"
                )
            if not self.create and not given:
                raise KeyedError(
                    to_camel(key), "required for an existing cluster (or set create: true)"
                )
        if not self.create:
            for key in NEW_CLUSTER_KEYS:
                if getattr(self, key) is not None:
                    raise KeyedError(to_camel(key), "only for a new cluster (create: true)")
        return self

    @property
    def nodes(self) -> NodeGroupConfig:
        return self.system_nodes or NodeGroupConfig()


class AddonConfig(_Model):
    """One cluster add-on, installed by agentfleet as a Helm release with a pinned chart."""

    enabled: StrictBool = Field(
        True, description="Install it; turn it off when the cluster already runs it."
    )
    version: Annotated[StrictStr, StringConstraints(min_length=1)] | None = Field(
        None,
        description="Chart version; default: the one agentfleet pins (README). An unpinned "
        "one is reported by helm-chart-pinned.",
    )


class AddonsConfig(_Model):
    """The cluster add-ons the fleet needs, each on by default. Turn one off when the
    cluster already runs it; the README says what it must then provide."""

    gpu_operator: AddonConfig = Field(
        default_factory=AddonConfig,
        description="NVIDIA GPU operator: device plugin, MIG manager (mixed strategy, the "
        "MigConfiguration config map), DCGM exporter.",
    )
    keda: AddonConfig = Field(
        default_factory=AddonConfig,
        description="KEDA: the ScaledObjects that scale tiers on queue depth (A1).",
    )
    load_balancer_controller: AddonConfig = Field(
        default_factory=AddonConfig,
        description="AWS Load Balancer Controller: the TargetGroupBindings of user-facing tiers.",
    )
    cluster_autoscaler: AddonConfig = Field(
        default_factory=AddonConfig,
        description="Cluster autoscaler: adds and removes GPU nodes as replicas come and go.",
    )
    prometheus: AddonConfig = Field(
        default_factory=AddonConfig,
        description="kube-prometheus-stack: the Prometheus Operator (PrometheusRule CRD) and a "
        "Prometheus for the alerts (M1, M2). Off: set monitoring.prometheusAddress.",
    )


HF_TOKEN_KEY = f"{NAMESPACE}:hfToken"


class SecretReference(BaseModel):
    """A secret config value as a stack file holds it: ``{secure: <ciphertext>}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secure: StrictStr = Field(description="The encrypted value, as Pulumi stores it.")


class StackConfig(BaseModel):
    """Everything agentfleet reads from one stack."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_alias=True, validate_by_name=True
    )

    region: Annotated[StrictStr, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")] = Field(
        alias=REGION_KEY, description="The AWS region of the cluster and the queues."
    )
    cluster: ClusterConfig = Field(alias=f"{NAMESPACE}:cluster")
    fleet: FleetConfig = Field(alias=f"{NAMESPACE}:fleet")
    addons: AddonsConfig = Field(default_factory=AddonsConfig, alias=f"{NAMESPACE}:addons")
    hf_token: SecretReference | None = Field(
        None,
        alias=HF_TOKEN_KEY,
        description="Hugging Face token for gated models: `pulumi config set --secret "
        "agentfleet:hfToken`. Only its presence is kept here; the program reads the value "
        "as a Pulumi secret.",
    )

    @field_validator("hf_token", mode="before")
    @classmethod
    def _secret_only(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(
                "store it as a secret: pulumi config set --secret agentfleet:hfToken <token>"
            )
        return value


def parse_stack_config(values: Mapping[str, Any]) -> StackConfig:
    """Validate a stack's configuration given as full Pulumi keys -> values.

    Keys of other namespaces (``aws:profile``, ...) are ignored; an unknown
    ``agentfleet:`` key is an error.
    """
    ours = {
        key: value
        for key, value in values.items()
        if key == REGION_KEY or key.startswith(f"{NAMESPACE}:")
    }
    try:
        return StackConfig.model_validate(ours)
    except ValidationError as error:
        raise ConfigError(_problems(error)) from None


def load_stack_file(path: Path) -> StackConfig:
    """Load and validate a Pulumi stack file (``Pulumi.<stack>.yaml``)."""
    return parse_stack_config(read_stack_file(path))


def read_stack_file(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file, duplicate keys refused."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([(str(path), f"cannot read the stack file: {error.strerror}")]) from None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        raise ConfigError([(str(path), f"not valid YAML: {error}")]) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([(str(path), "a stack file is a mapping with a 'config' key")])
    config = document.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError([(f"{path}: config", "must be a mapping of config keys")])
    return config


def load_pulumi_config() -> StackConfig:
    """Load and validate the configuration of the running Pulumi program."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    present = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values: dict[str, Any] = {}
    namespaces = {NAMESPACE: pulumi.Config(NAMESPACE), "aws": pulumi.Config("aws")}
    for key in present:
        namespace, _, name = key.partition(":")
        if namespace not in namespaces:
            continue
        config = namespaces[namespace]
        if key == REGION_KEY:
            values[key] = config.get(name)
            continue
        if key == HF_TOKEN_KEY:
            # Validation needs to know it is there, never what it is.
            values[key] = {"secure": "[secret]"} if config.get(name) else None
            continue
        try:
            values[key] = config.get_object(name)
        except (pulumi.ConfigTypeError, ValueError):
            values[key] = config.get(name)  # not JSON: the model reports the type
    return parse_stack_config(values)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping with the same key twice (YAML would keep the
    last one silently, and a stack would run with a value nobody meant)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for detail in error.errors(include_url=False):
        loc = list(detail["loc"])
        kind = detail["type"]
        cause = (detail.get("ctx") or {}).get("error")
        if isinstance(cause, KeyedError):
            loc.append(cause.key)
            reason = str(cause)
        elif kind == "missing":
            reason = "required key is missing"
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            reason = "unknown key" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        elif loc and loc[-1] == "[key]":
            loc.pop()
            reason = "tier names are lowercase letters, digits and '-' (at most 40 characters)"
        elif isinstance(cause, Exception):
            reason = str(cause)
        else:
            reason = f"{detail['msg'][0].lower()}{detail['msg'][1:]} (got {_show(detail['input'])})"
        problems.append((_path(loc), reason))
    return problems


def _path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _show(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: Sequence[int | str]) -> list[str]:
    """The keys a mapping at ``loc`` accepts, found by walking the models along it."""
    model: type[BaseModel] | None = StackConfig
    expect_key = False
    for part in loc:
        if model is None:
            return []
        if expect_key:  # inside dict[str, Model]: the part is a key, the model stays
            expect_key = False
            continue
        field = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        if field is None:
            return []
        annotation = field.annotation
        origin = getattr(annotation, "__origin__", None)
        if origin is dict:
            model = annotation.__args__[1]  # type: ignore[union-attr]
            expect_key = True
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return []
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


STACK_NAME = r"^[A-Za-z0-9_.-]+$"


def project_root(start: Path | None = None) -> Path:
    """The directory holding Pulumi.yaml: the nearest at or above ``start`` (the working
    directory by default), else the one this package was installed from."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    source = Path(__file__).resolve().parent.parent
    if (source / "Pulumi.yaml").is_file():
        return source
    raise ConfigError([("--stack", "no Pulumi.yaml here or above; use --config FILE")])


def stack_file(name: str, start: Path | None = None) -> Path:
    """The stack file of stack ``name``, in the project's ``stackConfigDir``."""
    if not re.match(STACK_NAME, name):
        raise ConfigError([("--stack", f"{name!r} is not a stack name")])
    root = project_root(start)
    try:
        project = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError([(str(root / "Pulumi.yaml"), f"cannot read: {error}")]) from None
    directory = root / str(project.get("stackConfigDir", "."))
    path = directory / f"Pulumi.{name}.yaml"
    if not path.is_file():
        known = sorted(
            found.name.removeprefix("Pulumi.").removesuffix(".yaml")
            for found in directory.glob("Pulumi.*.yaml")
        )
        raise ConfigError(
            [("--stack", f"no stack file {path}; stacks here: {', '.join(known) or 'none'}")]
        )
    return path
