"""MigConfiguration: the GPU operator's mig-parted config for every MIG tier of a fleet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Self

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.common import Args, KubernetesName, TierName, child_options
from facts import mig
from facts.labels import MANAGED_BY, ROLE

TYPE = "agentfleet:index:MigConfiguration"
CONFIG_KEY = "config.yaml"


class MigLayout(BaseModel):
    """One tier's MIG layout: the GPU it partitions and profile -> count per GPU. It is
    checked against NVIDIA's placement rules when it is made, once: the node pool that
    carries it and the MigConfiguration that applies it take the same object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gpu: str = Field(description="Catalog key of the GPU (or a MIG model key).")
    layout: dict[str, int] = Field(description="MIG profile -> instances per GPU.")

    @model_validator(mode="after")
    def _fits(self) -> Self:
        try:
            mig.validate(self.gpu, self.layout)
        except mig.MigLayoutError as error:
            raise ValueError(str(error)) from None
        return self


class MigConfigurationArgs(Args):
    """Inputs of a MigConfiguration."""

    namespace: KubernetesName = Field(
        "gpu-operator", description="Namespace of the NVIDIA GPU operator."
    )
    config_map_name: KubernetesName = Field(
        "agentfleet-mig-parted-config",
        description="Name of the config map; the GPU operator's MIG manager is pointed at it "
        "(ClusterPolicy migManager.config.name).",
    )
    layouts: Annotated[dict[TierName, MigLayout], Field(min_length=1)] = Field(
        description="The MIG layout of each MIG tier, by tier (each checked when made)."
    )


def config_name(tier: str) -> str:
    """The mig-parted config name of a tier: the value of its nodes' nvidia.com/mig.config."""
    return f"agentfleet-{tier}"


def mig_parted_config(layouts: dict[str, MigLayout]) -> dict[str, Any]:
    """The mig-parted document: one config per tier, plus ``all-disabled``, the MIG
    manager's default for nodes without the label."""
    configs: dict[str, Any] = {"all-disabled": [{"devices": "all", "mig-enabled": False}]}
    for tier, layout in layouts.items():
        configs[config_name(tier)] = mig.mig_parted_entry(layout.layout)
    return {"version": "v1", "mig-configs": configs}


class MigConfiguration(pulumi.ComponentResource):
    """The mig-parted config map in the GPU operator's namespace. Each MIG tier's node
    group carries ``nvidia.com/mig.config=<config_names[tier]>`` (GpuNodePool's
    ``mig_config``), so its nodes come up partitioned; pods request
    ``nvidia.com/mig-<profile>`` (mixed strategy)."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        config_map: k8s.core.v1.ConfigMap
        config_names: dict[str, str]
        """The MIG configuration name each layout's nodes are labelled with."""

    def __init__(
        self, name: str, args: MigConfigurationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self.config_names = {tier: config_name(tier) for tier in args.layouts}
        document = mig_parted_config(args.layouts)
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.config_map_name,
                namespace=args.namespace,
                labels={**MANAGED_BY, ROLE: "mig-config"},
            ),
            data={CONFIG_KEY: yaml.safe_dump(document, sort_keys=False)},
            opts=child_options(self, opts),
        )
        self.register_outputs({"config_map": self.config_map, "config_names": self.config_names})
