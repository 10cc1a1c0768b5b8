"""The keys of one tier (``agentfleet:fleet.tiers.<name>``): the GPUs and model it serves,
its sizing, autoscaling, load balancer and queue. Descriptions that list GPUs are made
from the catalog, so a new GPU shows up in them and in the docs by itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from facts import defaults, mig, models
from facts import weights as model_weights
from facts.catalog import (
    CATALOG,
    LatencyClass,
    classes,
    either,
    known_keys,
    suited,
)
from facts.checklist import (
    MAX_NUM_SEQS_FACTOR,
    MAX_NUM_SEQS_MAX_RATIO,
    MAX_NUM_SEQS_MIN_RATIO,
    QUEUE_DEPTH_PER_REPLICA,
    SCALE_IN_IDLE_SECONDS,
    SCALE_OUT_SUSTAIN_SECONDS,
    SCALE_TO_ZERO_SCALE_OUT_SUSTAIN_SECONDS,
    USER_FACING_FLOOR,
)
from infra.config.fields import (
    ConfigModel,
    Count,
    Cron,
    KeyedError,
    Money,
    Seconds,
    to_decimal,
)
from infra.config.front import LoadBalancerConfig, QueueConfig
from infra.config.reservation import ReservationConfig


def _suits(latency_class: str) -> str:
    return either(classes(suited(latency_class)))


def _per_gpu() -> str:
    return ", ".join(f"{gpu.key} {gpu.interactions_per_gpu}" for gpu in CATALOG.values())


def _default_instances() -> str:
    return ", ".join(f"{gpu.key} {gpu.default_instance_type}" for gpu in CATALOG.values())


class ScheduleWindow(ConfigModel):
    """A known peak: pre-scale the tier for it on a schedule (KEDA cron trigger)."""

    start: Cron = Field(
        description="Cron expression (5 fields) of when the peak window opens, e.g. '0 8 * * 1-5'."
    )
    end: Cron = Field(description="Cron expression of when it closes, e.g. '0 18 * * 1-5'.")
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

    @model_validator(mode="after")
    def _opens_and_closes_apart(self) -> ScheduleWindow:
        if self.start == self.end:  # KEDA's cron scaler refuses the trigger
            raise KeyedError("end", "the window must close at another time than it opens")
        return self


class ScalingConfig(ConfigModel):
    """Queue-depth autoscaling of a tier (checklist A1-A3)."""

    queue_depth_per_replica: Count = Field(
        QUEUE_DEPTH_PER_REPLICA,
        alias="queueDepthPerInstance",
        # the key, and its Python spelling from before the field had its true name
        validation_alias=AliasChoices("queueDepthPerInstance", "queue_depth_per_instance"),
        description="A2: scale out when more than this many requests wait per vLLM replica "
        "(KEDA's target backlog per replica, its queueLength). A replica is one vLLM "
        "instance: a whole GPU instance where a node holds one replica, a share of a node "
        "where it holds several (MIG slices, one replica a GPU on multi-GPU instances). "
        f"Default {QUEUE_DEPTH_PER_REPLICA}.",
    )
    scale_out_sustain_seconds: Seconds | None = Field(
        None,
        description="A2: the backlog must last this long before scaling out (scale-up "
        f"stabilisation). Default {SCALE_OUT_SUSTAIN_SECONDS} s; "
        f"{SCALE_TO_ZERO_SCALE_OUT_SUSTAIN_SECONDS} s for tiers that scale to zero.",
    )
    scale_in_idle_seconds: Seconds = Field(
        SCALE_IN_IDLE_SECONDS,
        description="A3: scale in only after the queue has been below the threshold this "
        f"long (scale-down stabilisation and cooldown). Default {SCALE_IN_IDLE_SECONDS} s.",
    )
    schedule: list[ScheduleWindow] = Field(
        default_factory=list,
        description="Known peaks to pre-scale for, with 30% headroom above the prediction.",
    )


MigCount = Annotated[StrictInt, Field(ge=1, le=mig.COMPUTE_SLICES)]


def _share(value: Decimal) -> Decimal:
    if not Decimal(0) < value <= Decimal(1):
        raise ValueError(f"must be above 0 and at most 1 (got {value})")
    return value


Share = Annotated[Decimal, BeforeValidator(to_decimal), AfterValidator(_share)]


def _hold_seconds(value: Decimal) -> Decimal:
    if not Decimal("0.001") <= value <= Decimal(3600):
        raise ValueError(f"must be 0.001 to 3600 seconds (got {value})")
    return value


def _billions(value: Decimal) -> Decimal:
    if not Decimal(0) < value <= Decimal(100_000):
        raise ValueError(f"must be above 0 and at most 100000 (got {value})")
    return value


class ModelProfileConfig(ConfigModel):
    """The shape of a model the shipped table does not know (from its config.json)."""

    parameters_billions: Annotated[
        Decimal, BeforeValidator(to_decimal), AfterValidator(_billions)
    ] = Field(description="Parameters, in billions (e.g. 8.03).")
    layers: Count = Field(description="Transformer layers (num_hidden_layers).")
    kv_heads: Count = Field(description="Key/value heads (num_key_value_heads).")
    head_dim: Count = Field(description="Dimension of one attention head (head_dim).")
    dtype: Literal[models.PROFILE_DTYPES] = Field(  # type: ignore[valid-type]
        "bfloat16",
        description="Weights as served: bfloat16, float16, fp8, int8 or int4. Default bfloat16.",
    )
    max_model_len: Count = Field(
        description="Longest context the model takes (max_position_embeddings)."
    )
    attention_heads: Count | None = Field(
        None,
        description="Attention heads (num_attention_heads): tensor parallelism must divide "
        "them. Default: unchecked.",
    )
    vocab_size: Count | None = Field(
        None,
        description="Vocabulary (vocab_size); sizes the activation allowance. Default "
        f"{models.DEFAULT_VOCAB}.",
    )
    embedding: StrictBool = Field(
        False, description="An embedding (encoder) model: no KV cache to size."
    )

    def model(self, name: str) -> models.Model:
        return models.Model(
            name=name,
            parameters=int(self.parameters_billions * 10**9),
            layers=self.layers,
            kv_heads=self.kv_heads,
            head_dim=self.head_dim,
            dtype=self.dtype,
            max_positions=self.max_model_len,
            vocab=self.vocab_size or models.DEFAULT_VOCAB,
            attention_heads=self.attention_heads,
            embedding=self.embedding,
        )


class BurstConfig(ConfigModel):
    """Burst capacity above the tier's on-demand floor: spot nodes for the peaks."""

    capacity: Literal["spot"] = Field(
        description="spot: the floor stays on on-demand nodes, the peaks go to spot ones."
    )
    max_instances: Count = Field(
        description="Ceiling of spot instances the tier bursts onto, above its on-demand ones."
    )
    accept_interruptions: StrictBool = Field(
        False,
        description="A5: a user-facing tier's burst on spot is accepted only when this is "
        "true (docs/capacity-and-cost.md, Burst on spot). Background tiers need not say so.",
    )


ModelName = Annotated[StrictStr, StringConstraints(min_length=1, pattern=r"^\S+$")]


class TierConfig(ConfigModel):
    """One inference pool: GPU nodes of one kind serving one model, scaled on queue depth."""

    gpu: StrictStr = Field(
        description=f"Catalog key of the GPU: {known_keys()}. C1: {_suits('ttft-first')} "
        f"GPUs for TTFT-first tiers, {_suits('throughput-first')} for throughput-first ones.",
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
    model: ModelName = Field(
        description="The model vLLM serves: a Hugging Face id (<owner>/<name>), a path in "
        "the image (/models/x), a folder of the project (./models/x) or an S3 folder "
        "(s3://<bucket>/<prefix>/, streamed at start-up). A model of the shipped table, or "
        "a project folder with a config.json (read only when it and its config.json stay "
        "inside the project, symlinks followed), is checked against the GPUs "
        "(docs/will-it-fit.md); another (an S3 folder too) needs modelProfile for that.",
    )
    revision: (
        Annotated[StrictStr, StringConstraints(pattern="^" + model_weights.REVISION.pattern + "$")]
        | None
    ) = Field(
        None,
        description="The Hub revision (a commit hash, a tag, a branch) to serve the model at, "
        "instead of its repository's main, which moves; for a Hugging Face model only. "
        "vLLM gets --revision; with a modelStore the mirror copies that revision into a "
        "folder of its own (<model>--<revision>/).",
    )
    weights: Literal["hub", "store"] | None = Field(
        None,
        description="Where a Hub model's weights come from: hub (downloaded from Hugging "
        "Face by every new pod) or store (streamed from fleet.modelStore, where they are "
        "mirrored). Default: store when the fleet has a modelStore, else hub.",
    )
    model_profile: ModelProfileConfig | None = Field(
        None,
        description="The model's shape, for a model the shipped table does not know; "
        "without one such a model's fit is not checked (an advisory finding).",
    )
    input_tokens: Count = Field(
        defaults.INPUT_TOKENS,
        description="Tokens one interaction sends (its prompt); for an embedding model, the "
        f"tokens of one request (at most the model's context). Default {defaults.INPUT_TOKENS}. "
        "The serving model times the prefill from it (docs/serving-physics.md).",
    )
    output_tokens: Count = Field(
        defaults.OUTPUT_TOKENS,
        description="Tokens one interaction gets back. Default "
        f"{defaults.OUTPUT_TOKENS}. The serving model times the decode from it.",
    )
    session_tokens: Count = Field(
        defaults.SESSION_TOKENS,
        description="Tokens of KV cache one interaction keeps (prompt and reply, and earlier "
        "turns it carries). Default: inputTokens + outputTokens "
        f"({defaults.SESSION_TOKENS}). Sessions a replica holds = its KV tokens / this.",
    )
    service_seconds: Annotated[
        Decimal, BeforeValidator(to_decimal), AfterValidator(_hold_seconds)
    ] = Field(
        Decimal(defaults.SERVICE_SECONDS),
        description="The time one interaction may take, and the pace the tier's demand is "
        "counted at: expectedConcurrency / serviceSeconds interactions a second. A ttft-first "
        "tier's replicas run the largest batch that finishes an interaction within it; a "
        "throughput-first tier's may take up to requestTimeoutSeconds "
        f"(docs/serving-physics.md). Default {defaults.SERVICE_SECONDS} (the seed's 350 tokens "
        "in about 3 s).",
    )
    sla_ttft_seconds: (
        Annotated[Decimal, BeforeValidator(to_decimal), AfterValidator(_hold_seconds)] | None
    ) = Field(
        None,
        description="Time-to-first-token target: the planned batch meets it, and agentfleet "
        "simulate's SLA attainment counts against it. "
        f"Default {defaults.SLA_TTFT_SECONDS['ttft-first']} s for ttft-first tiers, "
        f"{defaults.SLA_TTFT_SECONDS['throughput-first']} s for throughput-first ones.",
    )
    gpu_memory_utilization: Share = Field(
        Decimal("0.9"),
        description="vLLM --gpu-memory-utilization: the share of each GPU's memory vLLM "
        "takes for weights, activations and KV cache. Default 0.9 (vLLM's).",
    )
    expected_concurrency: Count = Field(
        description="Concurrent interactions this tier serves at peak, counted at "
        "serviceSeconds each: its demand is expectedConcurrency / serviceSeconds interactions "
        "a second, and it is sized for what is in flight at its replicas' planned pace "
        "(docs/serving-physics.md).",
    )
    concurrency_per_gpu: Count | None = Field(
        None,
        description="Pins the sessions one GPU runs; refused when the replica cannot serve "
        "them within the tier's targets (slaTtftSeconds, serviceSeconds). Default: the batch "
        "the serving physics plans (docs/serving-physics.md), or the catalog's figure for the "
        f"GPU ({_per_gpu()}) for a model it cannot size.",
    )
    gpus_per_replica: Count | None = Field(
        None,
        description="GPUs per vLLM replica (tensor parallelism) for models too large for "
        "one GPU. Default 1. Must divide the instance's GPUs; not with MIG.",
    )
    max_num_seqs: Count | None = Field(
        None,
        description=f"vLLM --max-num-seqs. Default {float(MAX_NUM_SEQS_FACTOR):g}x the expected "
        "concurrent sessions per replica, inside the "
        f"{MAX_NUM_SEQS_MIN_RATIO:g}-{MAX_NUM_SEQS_MAX_RATIO:g}x band of C2.",
    )
    min_instances: Annotated[StrictInt, Field(ge=0)] | None = Field(
        None,
        description=f"Floor of GPU instances. Default {USER_FACING_FLOOR} for user-facing tiers "
        "(A4 floor, C7 failover), 0 for background tiers (they may scale to zero).",
    )
    max_instances: Count | None = Field(
        None,
        description="Ceiling of GPU instances. Default: the instances for expectedConcurrency "
        "with a 50% burst on top at the tier's headroom (sized by queueing: "
        "docs/capacity-and-cost.md) and for every scheduled peak, and never below the floor.",
    )
    instance_type: StrictStr | None = Field(
        None,
        description=f"AWS instance type. Default: the catalog's type for the GPU "
        f"({_default_instances()}); it must carry that GPU.",
    )
    price_per_gpu_hour: Money | None = Field(
        None,
        description="On-demand USD per GPU-hour. Default: the price list's "
        "(agentfleet:fleet.prices) for the tier's instance type, over its GPUs.",
    )
    spot_price_per_gpu_hour: Money | None = Field(
        None,
        description="Spot USD per GPU-hour. Default: the price list's spot price (the "
        "shipped AWS table has none; a prices file from `agentfleet prices refresh` does); "
        "set null to say there is no spot price.",
    )
    mig: dict[StrictStr, MigCount] | None = Field(
        None,
        description="MIG layout of each GPU, profile -> count (e.g. {2g.20gb: 1, 1g.10gb: "
        "1}); each instance serves one vLLM replica. Only on MIG GPUs, and it must fit.",
    )
    mig_models: dict[StrictStr, ModelName] | None = Field(
        None,
        description="Co-resident models on MIG: the model a profile of mig serves instead "
        "of the tier's (e.g. {1g.10gb: BAAI/bge-large-en-v1.5} beside a 7B model in "
        "2g.20gb). Each is checked against its own slice; each other model gets its own "
        "task queue, workers and autoscaler.",
    )
    burst: BurstConfig | None = Field(
        None,
        description="Burst onto spot above an on-demand floor: the cluster autoscaler "
        "prefers the spot node group for the peaks and falls back to on-demand (up to "
        "maxInstances) when spot is short. The tier's own capacity must be on-demand.",
    )
    reservation: ReservationConfig | None = Field(
        None,
        description="Reserved capacity for the tier's on-demand nodes: an On-Demand Capacity "
        "Reservation or a Capacity Block for ML, priced as AWS bills it.",
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
        defaults.REQUEST_TIMEOUT_SECONDS,
        description="The longest request the tier allows (seconds). The queue's visibility "
        f"timeout and the replicas' drain are longer. Default {defaults.REQUEST_TIMEOUT_SECONDS}.",
    )

    @model_validator(mode="before")
    @classmethod
    def _session_from_tokens(cls, data: object) -> object:
        """sessionTokens unset: the interaction's own tokens, in and out."""
        if not isinstance(data, dict) or {"sessionTokens", "session_tokens"} & data.keys():
            return data
        tokens = [
            data.get(camel, data.get(snake, default))
            for camel, snake, default in (
                ("inputTokens", "input_tokens", defaults.INPUT_TOKENS),
                ("outputTokens", "output_tokens", defaults.OUTPUT_TOKENS),
            )
        ]
        if all(type(count) is int and count > 0 for count in tokens):
            return {**data, "sessionTokens": sum(tokens)}
        return data

    @field_validator("model")
    @classmethod
    def _a_model(cls, value: str) -> str:
        return model_weights.check_model(value)

    @field_validator("mig_models")
    @classmethod
    def _models(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for model in (value or {}).values():
            model_weights.check_model(model)
        return value

    @model_validator(mode="after")
    def _one_weights_source(self) -> TierConfig:
        if self.weights is not None and model_weights.is_s3(self.model):
            raise KeyedError(
                "weights", "the model is an S3 folder, where its weights come from: leave it out"
            )
        return self

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, value: str) -> str:
        if value not in CATALOG:
            raise ValueError(f"unknown GPU {value!r}; known: {known_keys()}")
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
        self._mig_models_fit_the_layout()
        if self.revision is not None and not model_weights.is_hub_id(self.model):
            raise KeyedError(
                "revision", "a revision pins a Hugging Face model; this model is not one"
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
        reservation = self.reservation
        for key, value in (
            ("minInstances", self.min_instances),
            ("maxInstances", self.max_instances),
        ):
            if reservation is not None and value is not None and value > reservation.instances:
                raise KeyedError(
                    key,
                    f"{key} ({value}) is above the reservation's {reservation.instances} "
                    "instances: a node group that targets a reservation launches no others",
                )
        if self.burst is not None and self.capacity == "spot":
            raise KeyedError(
                "burst",
                "the tier already runs on spot: a burst onto spot needs an on-demand "
                "floor (capacity: on-demand)",
            )
        return self

    def pinned(self, model: str) -> str:
        """``model`` as the tier serves it: at the tier's revision when it is the tier's own
        model (``org/name@rev``), else as it is (co-resident models follow main)."""
        return model_weights.pinned(model, self.revision if model == self.model else None)

    def _mig_models_fit_the_layout(self) -> None:
        if self.mig_models is None:
            return
        if not self.mig:
            raise KeyedError("migModels", "co-resident models need a MIG layout (mig)")
        for profile in self.mig_models:
            if profile not in self.mig:
                raise KeyedError(
                    "migModels",
                    f"{profile} is not a profile of mig ({', '.join(self.mig)})",
                )
        if all(name != self.model for name in self.slice_models().values()):
            raise KeyedError(
                "migModels",
                f"every profile serves another model: {self.model} (the tier's model, "
                "which sizes it) would run nowhere",
            )

    def slice_models(self) -> dict[str, str]:
        """The model each MIG profile serves: ``migModels``' or the tier's."""
        return {
            profile: (self.mig_models or {}).get(profile, self.model) for profile in self.mig or {}
        }
