"""Stack configuration: the validated form of every ``agentfleet:*`` key of a stack.

- ``fields``: the models' base, value types and patterns;
- ``cron``: cron expressions as KEDA's cron trigger parses and fires them (the simulator
  uses it too);
- ``tier``, ``cluster``, ``fleet``: the models, key by key (``StackConfig`` is the whole);
- ``loading``: a stack file or the running Pulumi program's config into a ``StackConfig``;
- ``errors``: ``ConfigError``, whose problems each name the full key path
  (``agentfleet:fleet.tiers.orchestrator.mig``) and the reason.

Values that cannot be built raise ``ConfigError``. Values that can be built but break the
production checklist are accepted here and reported by the policy pack, which also guards
stacks that use the components directly. Optional fields left unset (None) take their
defaults in the planner (``infra.plan``); each description says which.

May import: ``facts``, pydantic, pyyaml, croniter (and pulumi, lazily, to read a running
program's config); never ``components`` or ``policies``.
"""

from infra.config.cluster import AddonConfig, AddonsConfig, ClusterConfig, NodeGroupConfig
from infra.config.errors import ConfigError
from infra.config.fields import HF_TOKEN_KEY, NAMESPACE, REGION_KEY, KeyedError
from infra.config.fleet import (
    FleetConfig,
    ModelStoreConfig,
    MonitoringConfig,
    SecretReference,
    StackConfig,
    WorkerConfig,
)
from infra.config.front import LoadBalancerConfig, QueueConfig
from infra.config.loading import (
    load_pulumi_config,
    load_stack_file,
    parse_stack_config,
    project_root,
    read_stack_file,
    stack_file,
)
from infra.config.reservation import ReservationConfig
from infra.config.tier import (
    BurstConfig,
    ModelProfileConfig,
    ScalingConfig,
    ScheduleWindow,
    TierConfig,
)

__all__ = [
    "HF_TOKEN_KEY",
    "NAMESPACE",
    "REGION_KEY",
    "AddonConfig",
    "AddonsConfig",
    "BurstConfig",
    "ClusterConfig",
    "ConfigError",
    "FleetConfig",
    "KeyedError",
    "LoadBalancerConfig",
    "ModelProfileConfig",
    "ModelStoreConfig",
    "MonitoringConfig",
    "NodeGroupConfig",
    "QueueConfig",
    "ReservationConfig",
    "ScalingConfig",
    "ScheduleWindow",
    "SecretReference",
    "StackConfig",
    "TierConfig",
    "WorkerConfig",
    "load_pulumi_config",
    "load_stack_file",
    "parse_stack_config",
    "project_root",
    "read_stack_file",
    "stack_file",
]
