"""GpuNodePool: the EKS managed node group of one tier, able to scale from zero."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.common import (
    TaggedArgs,
    TierName,
    child_options,
    cost_tags,
    tier_labels,
)
from components.mig_config import MigLayout
from facts import mig, names
from facts.catalog import CATALOG, Capacity, InstanceType, LatencyClass, known_keys
from facts.labels import (
    AUTOSCALER,
    CAPACITY,
    CAPACITY_BLOCK_ENDS,
    CAPACITY_RESERVATION,
    CAPACITY_RESERVATION_KIND,
    CAPACITY_ROLE,
    GPU,
    GPU_ACCELERATOR,
    GPU_RESOURCE,
    GPU_TAINT_KEY,
    INTERRUPTIONS_ACCEPTED,
    LATENCY_CLASS,
    MIG_CONFIG_LABEL,
    NO_PRICE,
    NODE_CLASS,
    ON_DEMAND_PRICE,
    SPOT_PRICE,
    TIER,
    USER_FACING,
    flag,
)

TYPE = "agentfleet:index:GpuNodePool"
NVIDIA_AMI = "AL2023_x86_64_NVIDIA"
ROOT_DEVICE = "/dev/xvda"  # the AL2023 EKS AMIs' root device
TAGGED_AT_LAUNCH = ("instance", "volume", "network-interface")
"""What the launch template tags as it launches: EKS copies a node group's tags to none of
them (Nodegroup.tags, EKS API reference), and the instances and volumes are the bill."""
MIME_BOUNDARY = "AGENTFLEET"


def node_config_user_data(instance_store: bool) -> str | None:
    """The launch template's user data, base64: a MIME multipart document whose
    ``application/node.eks.aws`` part nodeadm merges with the NodeConfig EKS writes. It
    stripes the instance store as RAID0 under kubelet's and containerd's data."""
    if not instance_store:
        return None
    node_config = (
        "---\n"
        "apiVersion: node.eks.aws/v1alpha1\n"
        "kind: NodeConfig\n"
        "spec:\n"
        "  instance:\n"
        "    localStorage:\n"
        "      strategy: RAID0\n"
    )
    document = (
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"\n\n'
        f"--{MIME_BOUNDARY}\n"
        "Content-Type: application/node.eks.aws\n\n"
        f"{node_config}\n"
        f"--{MIME_BOUNDARY}--\n"
    )
    return base64.b64encode(document.encode()).decode()


class GpuPrices(BaseModel):
    """The prices a tier was planned with, per GPU-hour: the policies judge capacity by
    these (a stack may override the catalog's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    on_demand: Annotated[Decimal, Field(gt=0)] = Field(
        description="On-demand price per GPU-hour, USD."
    )
    spot: Annotated[Decimal, Field(gt=0)] | None = Field(
        None,
        description="Spot price per GPU-hour, USD; none when the GPU is not sold on spot "
        "or the stack says so.",
    )

    def tags(self) -> dict[str, str]:
        return {
            ON_DEMAND_PRICE: str(self.on_demand),
            SPOT_PRICE: str(self.spot) if self.spot is not None else NO_PRICE,
        }


class CapacityReservation(BaseModel):
    """EC2 capacity a node group launches into: an On-Demand Capacity Reservation, or a
    Capacity Block for ML (the launch template's market type ``capacity-block``, the node
    group's capacity type ``CAPACITY_BLOCK``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["capacity-reservation", "capacity-block"] = Field(
        description="capacity-reservation or capacity-block."
    )
    id: Annotated[str, Field(pattern=r"^cr-[0-9a-f]{8,17}$")] = Field(
        description="The reservation's id, which the launch template targets."
    )
    ends_at: str | None = Field(
        None, description="When a Capacity Block ends (ISO 8601), tagged for the policies."
    )
    subnet_ids: tuple[Any, ...] | None = Field(
        None,
        description="The subnets of the reservation's availability zone; None: the node group's.",
    )

    def tags(self) -> dict[str, str]:
        tags = {CAPACITY_RESERVATION: self.id, CAPACITY_RESERVATION_KIND: self.kind}
        if self.ends_at is not None:
            tags[CAPACITY_BLOCK_ENDS] = self.ends_at
        return tags

    def launch_settings(self) -> dict[str, Any]:
        """The launch template's arguments that launch into the reservation."""
        settings: dict[str, Any] = {
            "capacity_reservation_specification": (
                aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(
                    capacity_reservation_target=aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
                        capacity_reservation_id=self.id
                    )
                )
            )
        }
        if self.kind == "capacity-block":
            settings["instance_market_options"] = aws.ec2.LaunchTemplateInstanceMarketOptionsArgs(
                market_type="capacity-block"
            )
        return settings


class TierBurst(BaseModel):
    """Spot capacity a tier bursts onto above its on-demand floor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_instances: Annotated[int, Field(ge=1)] = Field(
        description="Ceiling of the spot node group (its floor is 0)."
    )
    accept_interruptions: bool = Field(
        False,
        description="A5: the stack accepts spot interruptions of a user-facing tier's burst.",
    )


class GpuNodePoolArgs(TaggedArgs):
    """Inputs of a GpuNodePool."""

    cluster_name: str = Field(description="The EKS cluster the node group joins.")
    node_role_arn: Any = Field(description="IAM role of the nodes (a string or an Output).")
    subnet_ids: Annotated[tuple[Any, ...], Field(min_length=1)] = Field(
        description="Subnets of the nodes; several availability zones let a tier survive "
        "the loss of one (C7)."
    )
    tier: TierName = Field(description="The tier; labels, taints and tags carry it (M4).")
    gpu: str = Field(description="Catalog key of the GPU the instance type carries.")
    latency_class: LatencyClass = Field(description="Written on the nodes for C1.")
    user_facing: bool = Field(description="Written on the nodes for A5 and K1.")
    instance_type: str = Field(description="The instance type; it must carry the GPU.")
    capacity: Capacity = Field(
        description="on-demand or spot; spot only for interruptible tiers (A5, K1, K2)."
    )
    burst: bool = Field(
        False,
        description="The node group a tier bursts onto above its on-demand floor: labelled "
        "and tagged so (the cluster autoscaler's priority expander tries it first; A4 and "
        "C7 read the floor from the other group).",
    )
    accept_interruptions: bool = Field(
        False,
        description="With burst on spot: the stack accepts interruptions of a user-facing "
        "tier's burst (A5 reads the tag).",
    )
    min_size: Annotated[int, Field(ge=0)] = Field(
        description="Floor of instances (A4): at least 2 for user-facing tiers (C7)."
    )
    max_size: Annotated[int, Field(ge=1)] = Field(description="Ceiling of instances.")
    disk_size_gib: Annotated[int, Field(ge=20, le=16384)] = Field(
        200,
        description="The root volume of each node (gp3, encrypted, in the launch template): "
        "container images and model weights, unless instance_store holds them.",
    )
    instance_store: bool = Field(
        False,
        description="Put kubelet's and containerd's data (the replicas' emptyDirs with their "
        "model weights, the images) on the instance type's NVMe instance store, striped as "
        "one RAID0 array by nodeadm (NodeConfig spec.instance.localStorage). The instance "
        "type must have one.",
    )
    prices: GpuPrices | None = Field(
        None,
        description="The prices the tier was planned with, as tags on the node group (K2's "
        "policy compares them); None: the policies use the catalog's.",
    )
    reservation: CapacityReservation | None = Field(
        None,
        description="Reserved capacity the nodes launch into (the launch template targets "
        "it; a Capacity Block makes the group CAPACITY_BLOCK), tagged for the policies.",
    )
    mig_config: str | None = Field(
        None,
        description="Name of the mig-parted config the GPU operator applies to these nodes "
        "(the nvidia.com/mig.config label); set with mig_layout.",
    )
    mig_layout: MigLayout | None = Field(
        None,
        description="MIG layout of every GPU of a node (the one MigConfiguration applies); "
        "the autoscaler's node template advertises its nvidia.com/mig-<profile> resources "
        "so it can scale from zero.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.gpu not in CATALOG:
            raise ValueError(f"gpu: unknown GPU {self.gpu!r}; known: {known_keys()}")
        if self.instance_type not in CATALOG[self.gpu].instance_type_names:
            raise ValueError(f"instance_type: {self.instance_type} does not carry {self.gpu}")
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) is above max_size ({self.max_size})")
        if (self.mig_config is None) != (self.mig_layout is None):
            raise ValueError("mig_config and mig_layout: set both or neither")
        if self.mig_layout is not None and self.mig_layout.gpu != self.gpu:
            raise ValueError(f"mig_layout is for {self.mig_layout.gpu}; the nodes carry {self.gpu}")
        if self.instance_store and not self.instance_type_facts.instance_store_gb:
            raise ValueError(f"instance_store: {self.instance_type} has no instance store")
        return self

    @property
    def instance_type_facts(self) -> InstanceType:
        return CATALOG[self.gpu].instance_type(self.instance_type)

    @property
    def gpus_per_node(self) -> int:
        return self.instance_type_facts.gpus

    def node_labels(self) -> dict[str, str]:
        labels = {
            **tier_labels(self.tier, "inference", self.user_facing),
            NODE_CLASS: "gpu",
            GPU: self.gpu,
            LATENCY_CLASS: self.latency_class,
            CAPACITY: self.capacity,
            GPU_ACCELERATOR: f"nvidia-{CATALOG[self.gpu].gpu_class.lower()}",
        }
        if self.mig_config is not None:
            labels[MIG_CONFIG_LABEL] = self.mig_config
        if self.burst:
            labels[CAPACITY_ROLE] = "burst"
        return labels

    def marks(self) -> dict[str, str]:
        """What the nodes' provisioner says of itself for the policies: a node group's
        tags, a NodePool's annotations (with the cost tags, ``cost_tags``)."""
        marks = {
            USER_FACING: flag(self.user_facing),
            CAPACITY: self.capacity,
            GPU: self.gpu,
            LATENCY_CLASS: self.latency_class,
            **(self.prices.tags() if self.prices is not None else {}),
            **(self.reservation.tags() if self.reservation is not None else {}),
        }
        if self.burst:
            marks[CAPACITY_ROLE] = "burst"
            marks[INTERRUPTIONS_ACCEPTED] = flag(self.accept_interruptions)
        return marks

    @property
    def launch_subnets(self) -> tuple[Any, ...]:
        """Where the nodes launch: the reservation's zone's subnets, else the tier's."""
        if self.reservation is not None and self.reservation.subnet_ids:
            return self.reservation.subnet_ids
        return self.subnet_ids

    def node_resources(self) -> dict[str, int]:
        """Extended resources one node offers: whole GPUs, or MIG instances (mixed
        strategy)."""
        if self.mig_layout is None:
            return {GPU_RESOURCE: self.gpus_per_node}
        return {
            mig.resource_name(profile): count * self.gpus_per_node
            for profile, count in self.mig_layout.layout.items()
        }

    def autoscaler_tags(self) -> dict[str, str]:
        """The cluster autoscaler's auto-discovery and node-template tags: with them it
        knows what a node of this group would bring before one exists (scale from zero)."""
        template = f"{AUTOSCALER}/node-template"
        tags = {
            f"{AUTOSCALER}/enabled": "true",
            f"{AUTOSCALER}/{self.cluster_name}": "owned",
            f"{template}/taint/{GPU_TAINT_KEY}": "true:NoSchedule",
        }
        tags.update({f"{template}/label/{k}": v for k, v in self.node_labels().items()})
        tags.update({f"{template}/resources/{k}": str(v) for k, v in self.node_resources().items()})
        return tags

    def asg_tags(self) -> dict[str, str]:
        """The node-template tags put on the Auto Scaling group itself: resources, the
        taint, and the labels pods are scheduled by."""
        scheduling = (
            f"label/{TIER}",
            f"label/{MIG_CONFIG_LABEL}",
            f"label/{GPU_ACCELERATOR}",
            "taint/",
            "resources/",
        )
        template = f"{AUTOSCALER}/node-template/"
        return {
            key: value
            for key, value in self.autoscaler_tags().items()
            if key.startswith(template) and key.removeprefix(template).startswith(scheduling)
        }


def launch_template(
    name: str,
    *,
    name_prefix: str,
    description: str,
    node_name: str,
    root_volume_gib: int,
    instance_store: bool,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    reserved: dict[str, Any] | None = None,
) -> aws.ec2.LaunchTemplate:
    """A managed node group's launch template: the encrypted gp3 root volume, IMDSv2, the
    instance store as RAID0 when asked, ``tags`` (with a Name) on what it launches, and the
    capacity reservation it launches into (``reserved``)."""
    launched = {**tags, "Name": node_name}
    return aws.ec2.LaunchTemplate(
        name,
        name_prefix=name_prefix,
        description=description,
        update_default_version=True,
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=ROOT_DEVICE,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=root_volume_gib,
                    volume_type="gp3",
                    encrypted="true",
                    delete_on_termination="true",
                ),
            )
        ],
        # IMDSv2 only, and its token answered with one hop to live: the node's own
        # processes and host-network pods (the VPC CNI, kube-proxy, the Pod Identity agent)
        # reach it; a pod's packet crosses its veth, a second hop, and never gets the node
        # role. No pod needs it: every add-on is given its region and VPC, the workers and
        # vLLM their region, and their credentials come from Pod Identity.
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
        ),
        user_data=node_config_user_data(instance_store),
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=launched)
            for kind in TAGGED_AT_LAUNCH
        ],
        tags=tags,
        opts=opts,
        **(reserved or {}),
    )


def _capacity_type(args: GpuNodePoolArgs) -> str:
    """EKS's capacity type: SPOT, CAPACITY_BLOCK for a Capacity Block, else ON_DEMAND."""
    if args.capacity == "spot":
        return "SPOT"
    if args.reservation is not None and args.reservation.kind == "capacity-block":
        return "CAPACITY_BLOCK"
    return "ON_DEMAND"


def _autoscaling_group(resources: Sequence[aws.eks.outputs.NodeGroupResource]) -> str:
    """The name of the Auto Scaling group EKS made for a managed node group."""
    groups = resources[0].autoscaling_groups if resources else None
    if not groups or not groups[0].name:
        raise ValueError("the node group reports no Auto Scaling group")
    return groups[0].name


class GpuNodePool(pulumi.ComponentResource):
    """An EKS managed node group for one tier: the NVIDIA AL2023 AMI, the tier's instance
    type and capacity, the ``nvidia.com/gpu`` NoSchedule taint, tier labels, and the
    cluster-autoscaler node-template tags on the node group's Auto Scaling group so the
    tier can scale up from zero, MIG included. Its launch template tags the instances,
    volumes and network interfaces with the tier (cost per tier, M4), sizes the root
    volume and can put the node's data on the instance store."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        launch_template: aws.ec2.LaunchTemplate
        node_group: aws.eks.NodeGroup
        node_group_name: pulumi.Output[str]
        """The EKS managed node group's name."""
        autoscaling_group_name: pulumi.Output[str]
        """The Auto Scaling group EKS made for it."""
        labels: dict[str, str]
        """The Kubernetes labels of its nodes."""

    def __init__(
        self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        tags = cost_tags(args.tier, args.environment, args.cost_center, "node-pool", args.marks())
        autoscaler_tags = args.autoscaler_tags()
        self.labels = args.node_labels()
        self.launch_template = launch_template(
            names.launch_template(name),
            name_prefix=f"{args.cluster_name}-{args.tier}-{'burst-' if args.burst else ''}",
            description=f"GPU nodes of the {args.tier} tier"
            + (" (its burst above the floor)" if args.burst else ""),
            node_name=f"{args.cluster_name}-{args.tier}-{'burst' if args.burst else 'gpu'}",
            root_volume_gib=args.disk_size_gib,
            instance_store=args.instance_store,
            tags=tags,
            reserved=args.reservation.launch_settings() if args.reservation is not None else {},
            opts=child,
        )
        self.node_group = aws.eks.NodeGroup(
            names.node_group(name),
            cluster_name=args.cluster_name,
            node_role_arn=args.node_role_arn,
            subnet_ids=list(args.launch_subnets),
            ami_type=NVIDIA_AMI,
            instance_types=[args.instance_type],
            capacity_type=_capacity_type(args),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id,
                version=self.launch_template.latest_version.apply(str),
            ),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.min_size,
                max_size=args.max_size,
                desired_size=args.min_size,
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels=self.labels,
            taints=[
                aws.eks.NodeGroupTaintArgs(key=GPU_TAINT_KEY, value="true", effect="NO_SCHEDULE")
            ],
            tags={**tags, **autoscaler_tags},
            # The cluster autoscaler owns the desired size once the group exists.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(ignore_changes=["scalingConfig.desiredSize"])
            ),
        )
        self.node_group_name = self.node_group.node_group_name
        self.autoscaling_group_name = self.node_group.resources.apply(_autoscaling_group)
        # EKS does not copy node group tags to its Auto Scaling group, where the autoscaler
        # reads a node template from. EKS tags the group for auto-discovery itself, and the
        # autoscaler reads a managed group's labels and taints from the EKS API; what it
        # cannot learn there is the GPU (or MIG) resources. Those go on the group, with the
        # taint and the labels pods select on, so scale-from-zero works either way.
        for key, value in sorted(args.asg_tags().items()):
            aws.autoscaling.Tag(
                f"{name}-asg-{key.removeprefix(AUTOSCALER + '/')}",
                autoscaling_group_name=self.autoscaling_group_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=child,
            )
        self.register_outputs(
            {
                "launch_template": self.launch_template,
                "node_group_name": self.node_group_name,
                "autoscaling_group_name": self.autoscaling_group_name,
                "labels": self.labels,
            }
        )
