"""Running Pulumi code with no engine and no cloud: Pulumi's mock runtime, a monitor that
records every resource (type, name, parent, inputs), and offline answers for the outputs
and provider invokes the components read.

The component tests use it, and so does the offline preview: both see exactly what the
Pulumi CLI would be asked to create.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import runpy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.sync_await import _ensure_event_loop

from facts.defaults import KUBERNETES_VERSION
from facts.resource_types import STACK as ROOT_STACK_TYPE

if TYPE_CHECKING:
    from infra.plan import FleetPlan

ACCOUNT = "123456789012"
_LAST_INPUTS = threading.local()  # the mock monitor and the mocks run on one thread a call


@dataclass(frozen=True)
class Registration:
    """One resource as the engine would receive it."""

    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    """URNs the resource waits for (depends_on, and the resources its inputs come from)."""
    provider: str | None = None
    """The provider reference (``<provider urn>::<id>``) the resource was declared with,
    when one was given."""

    @property
    def parent_type(self) -> str | None:
        """The type of the parent resource, read from its URN's type chain."""
        if not self.parent:
            return None
        return self.parent.split("::")[2].split("$")[-1]


def digest(*parts: str, length: int = 8) -> str:
    """A short, stable hex digest: made-up ids and names that are the same every run."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


S3_RANGES = ("52.216.0.0/15", "54.231.0.0/16", "3.5.0.0/19")


@dataclass
class OfflineMocks(pulumi.runtime.Mocks):
    """Outputs a real provider would fill in, made up deterministically from the inputs,
    and invokes answered from what the stack says."""

    region: str = "us-east-1"
    vpc_cidr: str = "10.0.0.0/16"
    secondary_cidrs: tuple[str, ...] = ()
    """CIDR blocks associated with the VPC beyond its primary."""
    calls: list[str] = field(default_factory=list)
    subnets: dict[str, str] = field(default_factory=dict)
    """The CIDR block of each subnet declared, by id."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        _LAST_INPUTS.value = args.inputs
        state = dict(args.inputs)
        package = args.typ.split(":")[0]
        resource_id = f"{args.name}-{digest(args.typ, args.name)}"
        if package == "aws":
            state.update(_aws_outputs(args.typ, args.name, state, self.region))
            arn = _arn(args.typ, args.name, state, self.region)
            if arn is not None:
                state.setdefault("arn", arn)
            resource_id = state.get("id", resource_id)
            if args.typ == "aws:ec2/subnet:Subnet":
                self.subnets[resource_id] = str(state.get("cidrBlock"))
        elif package == "random" and args.typ.endswith("RandomPassword"):
            # what the provider would draw: [A-Za-z0-9] of the length asked for
            length = int(state.get("length", 16))
            state["result"] = (digest(args.name, length=64) * 4)[:length]
        elif package == "kubernetes":
            metadata = dict(state.get("metadata") or {})
            metadata.setdefault("name", f"{args.name}-{digest(args.name)}")
            state["metadata"] = metadata
        return resource_id, state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append(args.token)
        if args.token == "aws:ec2/getVpc:getVpc":
            blocks = [self.vpc_cidr, *self.secondary_cidrs]
            associations = [
                {"associationId": f"vpc-cidr-assoc-{i}", "cidrBlock": block, "state": "associated"}
                for i, block in enumerate(blocks)
            ]
            return {"id": args.args.get("id"), "cidrBlock": self.vpc_cidr,
                    "cidrBlockAssociations": associations}, []  # fmt: skip
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            root = f"arn:{partition(self.region)}:iam::{ACCOUNT}:root"
            return {"accountId": ACCOUNT, "arn": root}, []
        if args.token == "aws:eks/getCluster:getCluster":
            name = args.args.get("name", "cluster")
            return {
                "name": name,
                "version": KUBERNETES_VERSION,
                "endpoint": f"https://{digest(name, length=32).upper()}.gr7.{self.region}"
                ".eks.amazonaws.com",
                "certificateAuthorities": [{"data": "LS0tLS1CRUdJTi1PRkZMSU5FLUNBLS0tLS0="}],
            }, []
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{letter}" for letter in "abcdef"]
            return {"names": names, "zoneIds": [f"use1-az{i}" for i in range(1, 7)]}, []
        if args.token == "aws:kms/getKey:getKey":
            key = str(args.args.get("keyId", "key"))
            if key.startswith("arn:"):
                key = key.rsplit("/", 1)[-1]
            arn = f"arn:{partition(self.region)}:kms:{self.region}:{ACCOUNT}:key/{_uuid(key)}"
            return {"arn": arn}, []
        if args.token == "aws:ec2/getPrefixList:getPrefixList":
            # S3's prefix list (com.amazonaws.<region>.s3): three of S3's us-east-1 ranges
            # in AWS's ip-ranges.json, whatever the region
            name = args.args.get("name", "")
            return {"name": name, "prefixListId": f"pl-{digest(name)}",
                    "cidrBlocks": list(S3_RANGES)}, []  # fmt: skip
        if args.token == "aws:ec2/getRouteTables:getRouteTables":
            vpc = str(args.args.get("vpcId", "vpc"))
            return {"ids": [f"rtb-{digest(vpc, zone, length=17)}" for zone in "abc"]}, []
        if args.token == "aws:ec2/getSubnet:getSubnet":
            subnet = str(args.args.get("id", "subnet"))
            return {"id": subnet, "cidrBlock": self.subnets.get(subnet) or self._block(subnet)}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region}, []
        return {}, []

    def _block(self, subnet: str) -> str:
        """A stack's subnet: a /24 of the VPC's last quarter, by its id."""
        vpc = ipaddress.IPv4Network(self.vpc_cidr)
        quarter = list(vpc.subnets(prefixlen_diff=2))[-1]
        blocks = list(quarter.subnets(new_prefix=max(24, quarter.prefixlen + 1)))
        return str(blocks[int(digest(subnet), 16) % len(blocks)])


def _aws_outputs(typ: str, name: str, state: dict[str, Any], region: str) -> dict[str, Any]:
    if typ == "aws:eks/nodeGroup:NodeGroup":
        group = state.get("nodeGroupName") or f"{name}-{digest(name)}"
        return {
            "nodeGroupName": group,
            "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-asg"}]}],
        }
    if typ == "aws:lb/loadBalancer:LoadBalancer":
        lb = state.get("name") or name
        return {
            "dnsName": f"internal-{lb}-{digest(lb, length=10)}.{region}.elb.amazonaws.com",
            "arnSuffix": f"app/{lb}/{digest(lb, length=16)}",
        }
    if typ == "aws:s3/bucket:Bucket" and not state.get("bucket"):
        # a name from bucketPrefix: the prefix and 26 characters, as the provider makes it
        return {"bucket": f"{state.get('bucketPrefix', 'terraform-')}{digest(name, length=26)}"}
    if typ == "aws:lb/targetGroup:TargetGroup":
        tg = state.get("name") or name
        return {"arnSuffix": f"targetgroup/{tg}/{digest(tg, length=16)}"}
    if typ == "aws:ec2/launchTemplate:LaunchTemplate":
        return {"id": f"lt-{digest(name, length=17)}", "latestVersion": 1}
    if typ == "aws:ec2/securityGroup:SecurityGroup":
        return {"id": f"sg-{digest(name, length=17)}"}
    if typ == "aws:sqs/queue:Queue":
        queue = state.get("name") or name
        return {"url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{queue}"}
    if typ == "aws:iam/role:Role":
        return {"name": state.get("name") or name}
    if typ == "aws:eks/cluster:Cluster":
        cluster = state.get("name") or name
        return {
            "endpoint": f"https://{digest(cluster, length=32).upper()}.gr7.{region}"
            ".eks.amazonaws.com",
            "certificateAuthority": {"data": "LS0tLS1CRUdJTi1PRkZMSU5FLUNBLS0tLS0="},
        }
    if typ in ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet"):
        prefix = "vpc" if typ.endswith("Vpc") else "subnet"
        return {"id": f"{prefix}-{digest(name, length=17)}"}
    return {}


def partition(region: str) -> str:
    """The ARN partition of a region, as AWS writes it."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _uuid(*parts: str) -> str:
    hex_ = digest(*parts, length=32)
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


GLOBAL_SERVICES = {"iam", "budgets", "cloudfront", "route53", "organizations"}
"""Services whose ARNs carry no region."""
NO_ARN = {
    "aws:autoscaling/tag:Tag",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/route:Route",
}
"""Resources AWS gives no ARN of their own."""


def _arn(typ: str, name: str, state: dict[str, Any], region: str) -> str | None:
    """The ARN AWS would give the resource: the partition of the region, no region for
    global services (IAM, Budgets), the account, and each service's own resource form."""
    if typ in NO_ARN:
        return None
    part = partition(region)
    module, kind = typ.split(":")[1], typ.split(":")[2]
    service = module.split("/")[0]
    service = {"lb": "elasticloadbalancing", "alb": "elasticloadbalancing"}.get(service, service)
    named = str(state.get("name") or name)
    where = "" if service in GLOBAL_SERVICES else region
    prefix = f"arn:{part}:{service}:{where}:{ACCOUNT}"
    if typ == "aws:s3/bucket:Bucket":  # bucket names are global: no region, no account
        return f"arn:{part}:s3:::{state.get('bucket') or name}"
    if typ == "aws:cloudwatch/dashboard:Dashboard":  # dashboards are global
        return f"arn:{part}:cloudwatch::{ACCOUNT}:dashboard/{state.get('dashboardName') or name}"
    if typ == "aws:sns/topicSubscription:TopicSubscription":
        return f"{state.get('topic') or prefix + ':topic'}:{_uuid(typ, name)}"
    if typ == "aws:lb/listener:Listener":
        balancer = str(state.get("loadBalancerArn") or f"{prefix}:loadbalancer/app/{name}/0")
        return f"{balancer.replace(':loadbalancer/', ':listener/')}/{digest(typ, name, length=16)}"
    return f"{prefix}:{_resource_part(typ, kind, service, name, named, state)}"


def _resource_part(
    typ: str, kind: str, service: str, name: str, named: str, state: dict[str, Any]
) -> str:
    """The part of an ARN after the account: each service's own form (only the one asked
    for is worked out: this runs for every AWS resource the program declares)."""
    cluster = str(state.get("clusterName") or "cluster")
    match typ:
        case "aws:iam/role:Role":
            return f"role{state.get('path') or '/'}{named}"
        case "aws:iam/policy:Policy":
            return f"policy{state.get('path') or '/'}{named}"
        case "aws:sns/topic:Topic" | "aws:sqs/queue:Queue":
            return named
        case "aws:budgets/budget:Budget":
            return f"budget/{named}"
        case "aws:cloudwatch/metricAlarm:MetricAlarm":
            return f"alarm:{named}"
        case "aws:eks/cluster:Cluster":
            return f"cluster/{named}"
        case "aws:eks/nodeGroup:NodeGroup":
            return f"nodegroup/{cluster}/{state.get('nodeGroupName') or name}/{_uuid(typ, name)}"
        case "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            return f"podidentityassociation/{cluster}/a-{digest(typ, name, length=17)}"
        case "aws:eks/addon:Addon":
            return f"addon/{cluster}/{state.get('addonName') or name}/{_uuid(typ, name)}"
        case "aws:eks/accessEntry:AccessEntry":
            return f"access-entry/{cluster}/role/{_uuid(typ, name)}"
        case "aws:kms/key:Key":
            return f"key/{_uuid(typ, name)}"
        case "aws:lb/loadBalancer:LoadBalancer":
            return f"loadbalancer/{state.get('arnSuffix')}"
        case "aws:lb/targetGroup:TargetGroup":
            return str(state.get("arnSuffix"))
    if service == "ec2":  # e.g. launch-template/lt-..., security-group/sg-..., vpc/vpc-...
        dashed = re.sub(r"(?<!^)(?=[A-Z])", "-", kind).lower()
        return f"{dashed}/{state.get('id') or name}"
    return f"{kind.lower()}/{named}"


class RecordingMonitor(MockMonitor):
    """Pulumi's mock monitor, keeping every registration in order."""

    def __init__(
        self,
        mocks: pulumi.runtime.Mocks,
        on_register: Callable[[Registration], None] | None = None,
    ) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.on_register = on_register
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """A URN as the engine makes it (resource.NewURN): the parent's whole type chain
        before the type, and no chain for a child of the stack itself. (The SDK's mock
        monitor keeps only the parent's last type, and the stack's.)"""
        if parent:
            chain = parent.split("::")[2]
            if chain != ROOT_STACK_TYPE:
                type_ = f"{chain}${type_}"
        return "urn:pulumi:" + "::".join(
            [settings.get_stack(), settings.get_project(), type_, name]
        )

    def RegisterResource(self, request: Any) -> Any:  # the gRPC method's name
        _LAST_INPUTS.value = None
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            # The inputs the mocks just received on this thread, else decoded here.
            inputs = _LAST_INPUTS.value
            if inputs is None:
                _ensure_event_loop()  # type: ignore[no-untyped-call]
                inputs = rpc.deserialize_properties(request.object)
            registration = Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent or None,
                custom=bool(request.custom),
                inputs=inputs,
                dependencies=tuple(request.dependencies),
                provider=request.provider or None,
            )
            with self._lock:
                self.registrations.append(registration)
            if self.on_register is not None:
                self.on_register(registration)
        return response


def record(
    program: Callable[[], object],
    mocks: OfflineMocks | None = None,
    *,
    project: str = "agentfleet",
    stack: str = "offline",
    on_register: Callable[[Registration], None] | None = None,
) -> list[Registration]:
    """Run ``program`` under the mock runtime until every resource is registered and every
    output resolved; return what was registered, in order. ``on_register`` sees each
    registration as it happens."""
    mocks = mocks or OfflineMocks()
    monitor = RecordingMonitor(mocks, on_register)
    # The SDK walks the Python stack for every resource to tell the engine where it was
    # declared; nothing here reads that, and it is a fifth of the time per resource.
    saved_trace = getattr(pulumi_resource, "_get_stack_trace", None)
    if saved_trace is not None:
        pulumi_resource._get_stack_trace = _no_stack_trace
    settings.set_root_resource(None)  # type: ignore[arg-type]
    _ensure_event_loop()  # type: ignore[no-untyped-call]  # e.g. after an asyncio.run()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def run() -> pulumi.Output[Any]:
        return pulumi.Output.from_input(program())

    try:
        run()
    finally:
        if saved_trace is not None:
            pulumi_resource._get_stack_trace = saved_trace
    return list(monitor.registrations)


def _no_stack_trace() -> Any:
    return source_pb2.StackTrace()


PROGRAM = Path(__file__).resolve().parents[1]  # infra/, run as the Pulumi CLI runs it


def run_program(
    config: Mapping[str, Any],
    mocks: OfflineMocks | None = None,
    *,
    stack: str = "offline",
    on_register: Callable[[Registration], None] | None = None,
    plan: FleetPlan | None = None,
) -> tuple[list[Registration], dict[str, Any]]:
    """Run the Pulumi program with a stack's configuration, as the CLI hands it over
    (objects as JSON text), under the mock runtime. Returns what it registered and its
    stack outputs, resolved.

    Without ``plan`` this is the program the Pulumi CLI runs (``infra/__main__.py``: it
    reads the configuration and plans). A caller that planned the stack already passes
    its plan, and the fleet is declared from it (``infra.program.declare_fleet``)."""
    # A key set to null is a key not set: the config layer reads it so, and the program
    # must not see the text "null" in its place.
    runtime_config.set_all_config(
        {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in config.items()
            if value is not None
        }
    )
    outputs: dict[str, Any] = {}

    def program() -> object:
        if plan is None:
            runpy.run_path(str(PROGRAM), run_name="__main__")
        else:
            from infra.program import declare_fleet  # the program's SDKs load only here

            declare_fleet(plan)
        root = settings.get_root_resource()
        exported = dict(getattr(root, "outputs", {}))
        return pulumi.Output.from_input(exported).apply(outputs.update)

    # Invokes are answered from the stack: its region, unless the caller set the mocks up.
    region = config.get("aws:region")
    mocks = mocks or OfflineMocks(region=region if isinstance(region, str) else "us-east-1")
    registrations = record(program, mocks, stack=stack, on_register=on_register)
    return registrations, outputs
