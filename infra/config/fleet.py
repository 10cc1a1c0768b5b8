"""The fleet-wide keys (``agentfleet:fleet``: environment, budget, monitoring, worker, the
tiers) and the whole stack (``StackConfig``: every ``agentfleet:*`` key and the region)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from facts import defaults
from facts import weights as model_weights
from facts.checklist import KV_CACHE_ALERT_PERCENT, TTFT_ALERT_SHARE
from facts.defaults import VLLM_IMAGE
from facts.labels import COST_CENTER
from facts.worker import IMAGE as WORKER_IMAGE
from infra.config.cluster import AddonsConfig, ClusterConfig
from infra.config.fields import (
    HF_TOKEN_KEY,
    IMAGE,
    NAMESPACE,
    REGION_KEY,
    TAG_VALUE,
    ConfigModel,
    KeyedError,
    Money,
    Number,
    TierName,
)
from infra.config.tier import TierConfig

PRICES_SETTING = r"^(aws|seed|[^\x00-\x1f]+\.json)$"
"""``aws``, ``seed`` or the path of a prices file (``*.json``)."""


class MonitoringConfig(ConfigModel):
    """Fleet-wide alerts and dashboards (checklist M1-M3, K3)."""

    ttft_p95_alert_seconds: Annotated[Number, Field(gt=0)] | None = Field(
        None,
        description="M1: alert when a tier's p95 time to first token exceeds this many "
        "seconds, for every tier. Default: each tier at "
        f"{TTFT_ALERT_SHARE:.0%} of its own slaTtftSeconds, below its target so the alert "
        "comes before the breach.",
    )
    kv_cache_alert_percent: Annotated[Number, Field(gt=0, le=100)] = Field(
        KV_CACHE_ALERT_PERCENT,
        description="M2: alert when vLLM's KV-cache usage stays above this percentage. "
        f"Default {KV_CACHE_ALERT_PERCENT:g}.",
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
            description="Who gets the fleet's alerts (by e-mail, through its SNS topic): the "
            "budget, the queue alarms and, through Alertmanager, every Prometheus alert.",
        )
    )


class WorkerConfig(ConfigModel):
    """The queue worker beside vLLM in every inference pod (``agentfleet worker``)."""

    enabled: StrictBool = Field(
        True,
        description="Run the worker that moves the tier's queue into vLLM. Turn it off "
        "only when something else consumes the queues.",
    )
    image: StrictStr = Field(
        WORKER_IMAGE,
        description="The worker image built from this package's Dockerfile, by tag or "
        f"digest. Default {WORKER_IMAGE!r}: build and push it to your registry "
        "(docs/queue-bridge.md).",
    )
    cpu_millis: Annotated[StrictInt, Field(ge=50, le=8000)] = Field(
        defaults.WORKER_CPU_MILLIS,
        description="The worker container's CPU request and limit (millicores).",
    )
    memory_mib: Annotated[StrictInt, Field(ge=64, le=16384)] = Field(
        defaults.WORKER_MEMORY_MIB,
        description="The worker container's memory request and limit (MiB), at least: a "
        "replica whose max-num-seqs may hold more at worst (1.7 MiB a request in flight, "
        "its largest answer read, decoded and its reply serialised, over 65 MiB idle, with "
        "25% room) gets that.",
    )

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str) -> str:
        return pinned_image(image, "<registry>/agentfleet-worker:0.1.0")


def pinned_image(image: str, example: str) -> str:
    """An image reference with a tag other than ``latest`` or a digest; ValueError else."""
    found = IMAGE.fullmatch(image)
    if (
        found is None
        or len(image) > 512
        or not (found["tag"] or found["digest"])
        or found["tag"] == "latest"
    ):
        raise ValueError(
            f"{image!r} is not a pinned image: give a tag other than 'latest', or a "
            f"digest (e.g. {example})"
        )
    return image


KMS_KEY_ARN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$"


class ModelStoreConfig(ConfigModel):
    """An S3 bucket the tiers' weights are streamed from (``agentfleet:fleet.modelStore``)."""

    bucket: Annotated[StrictStr, StringConstraints(pattern=f"^{model_weights.BUCKET}$")] = Field(
        description="The bucket's name (S3 names are global: include the account or the "
        "cluster, e.g. agents-prod-weights-123456789012)."
    )
    create: StrictBool = Field(
        True,
        description="Create the bucket (SSE-KMS under a key of its own, no public access, "
        "TLS only). false: use an existing bucket of this account and region.",
    )
    prefix: Annotated[
        StrictStr, StringConstraints(max_length=512, pattern=model_weights.KEY_PREFIX.pattern)
    ] = Field(
        "models",
        description="Where the store keeps models: a Hub model <org>/<name> at "
        "s3://<bucket>/<prefix>/<org>/<name>/.",
    )
    kms_key_arn: Annotated[StrictStr, StringConstraints(pattern=KMS_KEY_ARN)] | None = Field(
        None,
        description="An existing bucket's KMS key, when its objects are encrypted under a "
        "customer managed key: the pods may decrypt with it (through S3 only).",
    )
    endpoints: StrictBool = Field(
        True,
        description="Create the VPC endpoints the pods reach AWS through without the "
        "internet: S3's gateway endpoint on the VPC's route tables and SQS's interface "
        "endpoint (private DNS) in the cluster's subnets. false: the VPC has them already.",
    )
    mirror: StrictBool = Field(
        True,
        description="Copy each Hub model a tier reads from the store into it, once, with a "
        "Kubernetes Job before the tier's pods start (agentfleet:hfToken for gated models).",
    )

    @model_validator(mode="after")
    def _key_of_an_existing_bucket(self) -> ModelStoreConfig:
        if self.create and self.kms_key_arn is not None:
            raise KeyedError(
                "kmsKeyArn",
                "a bucket the stack creates is encrypted under a key the stack creates; set "
                "kmsKeyArn only with create: false",
            )
        return self

    def folder(self, model: str) -> str:
        """The S3 folder the store keeps ``model`` (a Hub id) in."""
        return model_weights.folder(self.bucket, self.prefix, model)


class FleetConfig(ConfigModel):
    """The tiers and the fleet-wide settings."""

    environment: Literal["dev", "staging", "prod"] = Field(
        description="dev, staging or prod; tagged on every billable resource (M4)."
    )
    budget_per_hour_usd: Money | None = Field(
        None,
        description="K3: the fleet's cost budget per hour (USD); alerts fire at 80% and "
        "100%. Leaving it unset is reported by the cost-budget-alerts policy.",
    )
    prices: Annotated[
        StrictStr, StringConstraints(min_length=1, max_length=1024, pattern=PRICES_SETTING)
    ] = Field(
        "aws",
        description="The price list the plan, the simulator, the cost tags, the budget and "
        "the cost alert use: aws (AWS's on-demand price list as shipped; no spot prices), "
        "seed (the seed's list prices per GPU-hour, a GPU cloud's) or the path of a prices "
        "file written by `agentfleet prices refresh` (*.json, from the project folder). A "
        "tier's pricePerGpuHour and spotPricePerGpuHour win over it.",
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
        defaults.NAMESPACE,
        description="Kubernetes namespace of the fleet; it enforces Pod Security 'restricted'.",
    )
    cost_center: Annotated[
        StrictStr, StringConstraints(min_length=1, max_length=256, pattern=TAG_VALUE)
    ] = Field(
        defaults.COST_CENTER,
        description=f"Value of the {COST_CENTER} tag (M4): an AWS tag value (at most 256 "
        "letters, digits, spaces and _ . : / = + - @).",
    )
    worker: WorkerConfig = Field(
        default_factory=WorkerConfig,
        description="The queue worker that feeds each vLLM replica from its tier's queue.",
    )
    model_store: ModelStoreConfig | None = Field(
        None,
        description="An S3 bucket the tiers' weights are streamed from instead of the "
        "Hugging Face Hub (docs/operating.md#weights-from-s3). With one, a tier reads from "
        "it unless it sets weights: hub.",
    )
    vllm_image: StrictStr = Field(
        VLLM_IMAGE,
        description=f"vLLM's image, by tag or (better) by digest: {VLLM_IMAGE}@sha256:<digest> "
        "(`crane digest` or `docker buildx imagetools inspect` gives it). Keep the release "
        "agentfleet pins: the arguments it renders are checked against that release's "
        f"parser. Default {VLLM_IMAGE!r}.",
    )

    @field_validator("vllm_image")
    @classmethod
    def _vllm_pinned(cls, image: str) -> str:
        return pinned_image(image, f"{VLLM_IMAGE}@sha256:<digest>")

    @model_validator(mode="after")
    def _burst_pools_named(self) -> FleetConfig:
        _burst_names_free(self.tiers)
        return self

    @model_validator(mode="after")
    def _weights_have_a_source(self) -> FleetConfig:
        for name, tier in self.tiers.items():
            if tier.weights == "store" and self.model_store is None:
                raise KeyedError(
                    f"tiers.{name}.weights",
                    "store needs fleet.modelStore (the bucket to read from)",
                )
            if tier.weights == "store" and not model_weights.is_hub_id(tier.model):
                raise KeyedError(
                    f"tiers.{name}.weights",
                    f"store holds Hub models; {tier.model} is a path in the image: leave "
                    "weights out, or name the model's S3 folder as the model",
                )
            if self.weights_uri(name) is not None and not self.worker.enabled:
                raise KeyedError(
                    f"tiers.{name}.model",
                    "weights in S3 are read with the pods' Pod Identity role, which the queue "
                    "worker's service account carries: keep worker.enabled",
                )
        return self

    def weights_uri(self, tier: str, model: str | None = None) -> str | None:
        """Where a tier's pods read ``model`` (default: the tier's) from: its S3 folder, or
        None for the Hub (or a path in the image)."""
        config = self.tiers[tier]
        model = model or config.model
        if model_weights.is_s3(model):
            return model_weights.normalized(model)
        if self.model_store is not None and config.weights != "hub":
            if not model_weights.is_hub_id(model):
                return None
            return self.model_store.folder(config.pinned(model))
        return None

    def weights_folders(self, tier: str) -> dict[str, str]:
        """``weights_uri`` of each model a tier serves (its own, and each co-resident one
        of migModels), for those in S3."""
        config = self.tiers[tier]
        models = [config.model, *(config.mig_models or {}).values()]
        found = {model: self.weights_uri(tier, model) for model in models}
        return {model: folder for model, folder in found.items() if folder is not None}


def _burst_names_free(tiers: dict[str, TierConfig]) -> None:
    """A bursting tier's spot node pool is named ``<tier>-burst``: no tier may take it."""
    for name, tier in tiers.items():
        if tier.burst is not None and f"{name}-burst" in tiers:
            raise KeyedError(
                f"tiers.{name}-burst",
                f"the name is taken by tier {name}'s burst node pool; rename this tier",
            )


class SecretReference(BaseModel):
    """A secret config value as a stack file holds it: ``{secure: <ciphertext>}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secure: StrictStr = Field(description="The encrypted value, as Pulumi stores it.")


def _minor(version: str) -> int:
    return int(version.split(".")[1])


NEWEST_KUBERNETES = max(defaults.CLUSTER_AUTOSCALER_IMAGE_TAGS, key=_minor)
"""The newest Kubernetes minor agentfleet knows EKS to offer."""


class StackConfig(BaseModel):
    """Everything agentfleet reads from one stack."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_alias=True, validate_by_name=True
    )

    region: Annotated[
        StrictStr, StringConstraints(max_length=25, pattern=r"^[a-z]{2}(-[a-z]+){1,3}-\d{1,2}$")
    ] = Field(alias=REGION_KEY, description="The AWS region of the cluster and the queues.")
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

    @model_validator(mode="after")
    def _autoscaler_pairs_with_the_cluster(self) -> StackConfig:
        """The cluster autoscaler supports only the cluster's own minor."""
        version = self.cluster.kubernetes_version
        if self.cluster.create:
            version = version or defaults.KUBERNETES_VERSION
        supported = defaults.CLUSTER_AUTOSCALER_IMAGE_TAGS
        if self.cluster.create and version and _minor(version) > _minor(NEWEST_KUBERNETES):
            raise KeyedError(
                f"{NAMESPACE}:cluster.kubernetesVersion",
                f"EKS has no Kubernetes {version} that agentfleet knows of; the newest is "
                f"{NEWEST_KUBERNETES}",
            )
        autoscaler = self.cluster.node_provisioner == "cluster-autoscaler"
        if (
            autoscaler
            and self.addons.cluster_autoscaler.enabled
            and version
            and (version not in supported)
        ):
            raise KeyedError(
                f"{NAMESPACE}:cluster.kubernetesVersion",
                f"the cluster autoscaler add-on runs the release of the cluster's minor and "
                f"has one for {', '.join(supported)}; choose one of them, or turn the add-on "
                "off (agentfleet:addons.clusterAutoscaler.enabled: false)",
            )
        return self

    @model_validator(mode="after")
    def _karpenter_tiers(self) -> StackConfig:
        """Karpenter cannot provision a MIG tier's nodes."""
        if self.cluster.node_provisioner != "karpenter":
            return self
        for name, tier in self.fleet.tiers.items():
            if tier.mig:
                raise KeyedError(
                    f"{NAMESPACE}:fleet.tiers.{name}.mig",
                    "Karpenter cannot provision MIG nodes: it learns a node's resources "
                    "from its instance type, which has whole GPUs, so a pod asking for a MIG "
                    "slice never makes it launch one (its NodeOverlay is alpha). Remove mig, "
                    "or keep cluster.nodeProvisioner: cluster-autoscaler",
                )
        return self

    @field_validator("hf_token", mode="before")
    @classmethod
    def _secret_only(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(
                "store it as a secret: pulumi config set --secret agentfleet:hfToken <token>"
            )
        return value
