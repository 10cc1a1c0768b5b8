"""InferenceLoadBalancer: an ALB in front of a user-facing tier's vLLM Service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Self

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from components.common import (
    KubernetesName,
    TaggedArgs,
    TierName,
    child_options,
    cost_tags,
    short_name,
    tier_labels,
    vpc_blocks,
)
from components.isolation import load_balancer_policy
from components.vllm_service import PORT
from facts import defaults
from facts.checklist import HEALTH_CHECK_INTERVAL_SECONDS, HEALTH_PATH
from facts.labels import MANAGED_BY

TYPE = "agentfleet:index:InferenceLoadBalancer"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
API_PATHS = ("/v1/*",)
"""What the listener forwards to vLLM: its OpenAI API, where vLLM requires the tier's key.
The rest of vLLM's paths (/invocations, /tokenize, /pooling, ...) take no key and stay
inside; the target group's health checks go to the pods directly, not through it."""


class InferenceLoadBalancerArgs(TaggedArgs):
    """Inputs of an InferenceLoadBalancer."""

    tier: TierName = Field(description="The tier behind the load balancer.")
    cluster_name: str = Field(description="The EKS cluster; part of the AWS names.")
    vpc_id: Any = Field(description="VPC of the load balancer and its targets.")
    subnet_ids: Annotated[tuple[Any, ...], Field(min_length=2)] = Field(
        description="Subnets of the load balancer, in at least two availability zones "
        "(an ALB needs two). vLLM admits their CIDR blocks: give subnets where no pod runs."
    )
    service_names: Annotated[tuple[Any, ...], Field(min_length=1)] = Field(
        description="The vLLM Services to bind to the target group (one TargetGroupBinding "
        "each; several for a tier with more than one replica shape)."
    )
    service_namespace: KubernetesName = Field(description="Namespace of that Service.")
    internal: bool = Field(
        True, description="Internal (reachable inside the VPC) unless set false."
    )
    allowed_cidrs: tuple[str, ...] | None = Field(
        None, description="Who may reach the listener; default: the VPC's CIDR block."
    )
    certificate_arn: str | None = Field(
        None,
        description="ACM certificate: with one the listener is HTTPS on 443 (TLS 1.2+), "
        "without one it is plain HTTP on 80, for internal use only.",
    )
    health_check_interval_seconds: Annotated[int, Field(ge=5, le=300)] = Field(
        HEALTH_CHECK_INTERVAL_SECONDS,
        description="C6: seconds between checks of vLLM's /health; 10-15 s wanted.",
    )
    healthy_threshold: Annotated[int, Field(ge=2, le=10)] = Field(
        2, description="Passing checks before a replica takes traffic."
    )
    unhealthy_threshold: Annotated[int, Field(ge=2, le=10)] = Field(
        3, description="Failing checks before a replica is taken out."
    )
    idle_timeout_seconds: Annotated[int, Field(ge=300, le=4000)] = Field(
        defaults.LOAD_BALANCER_IDLE_TIMEOUT_SECONDS,
        description="Idle timeout: at least 300 s so slow streamed responses are not cut "
        "(the ALB's default is 60 s). Keep it below the targets' keep-alive "
        "(VllmServiceArgs.keep_alive_seconds).",
    )
    access_logs_bucket: Any = Field(
        None,
        description="Bucket for the access logs (LoadBalancerLogs.bucket_name), written under "
        "the tier's prefix; None: no access logs.",
    )
    deregistration_delay_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        defaults.REQUEST_TIMEOUT_SECONDS,
        description="How long a draining replica keeps its in-flight requests (the tier's "
        "longest request).",
    )

    @model_validator(mode="after")
    def _listener(self) -> Self:
        if self.certificate_arn is None and not self.internal:
            raise ValueError(
                "certificate_arn: an internet-facing load balancer needs a certificate; "
                "plain HTTP is only for internal ones"
            )
        return self

    @property
    def https(self) -> bool:
        """A certificate makes the listener HTTPS."""
        return self.certificate_arn is not None

    @property
    def listener_port(self) -> int:
        return 443 if self.https else 80

    @property
    def health_check_timeout_seconds(self) -> int:
        """Under the interval, as AWS requires."""
        return min(5, self.health_check_interval_seconds - 1)


class InferenceLoadBalancer(pulumi.ComponentResource):
    """An Application Load Balancer (internal by default) for a user-facing tier: a
    security group, an IP target group on port 8000 health-checking vLLM's /health (200),
    least-outstanding-requests routing, a 300 s idle timeout for streamed responses, an
    HTTPS listener with a certificate (HTTP without one), and a TargetGroupBinding that
    lets the AWS Load Balancer Controller register the vLLM Service's pods."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        security_group: aws.ec2.SecurityGroup
        load_balancer: aws.lb.LoadBalancer
        target_group: aws.lb.TargetGroup
        listener: aws.lb.Listener
        api_rule: aws.lb.ListenerRule
        bindings: list[k8s.apiextensions.CustomResource]
        network_policy: k8s.networking.v1.NetworkPolicy
        dns_name: pulumi.Output[str]
        """The load balancer's DNS name."""
        endpoint: pulumi.Output[str]
        """The tier's URL through the load balancer (https with a certificate)."""

    def __init__(
        self,
        name: str,
        args: InferenceLoadBalancerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        tags = cost_tags(args.tier, args.environment, args.cost_center, "load-balancer")
        vpc_cidrs = aws.ec2.get_vpc_output(
            id=args.vpc_id, opts=pulumi.InvokeOutputOptions(parent=self)
        ).apply(vpc_blocks)
        cidrs: Any = list(args.allowed_cidrs) if args.allowed_cidrs is not None else vpc_cidrs
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"agentfleet {args.tier} load balancer",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=args.listener_port,
                    to_port=args.listener_port,
                    cidr_blocks=cidrs,
                    description="clients",
                )
            ],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp",
                    from_port=PORT,
                    to_port=PORT,
                    cidr_blocks=cidrs if args.internal else ["0.0.0.0/0"],
                    description="vLLM pods",
                )
            ],
            tags=tags,
            opts=child,
        )
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=short_name(args.tier, args.cluster_name),
            load_balancer_type="application",
            internal=args.internal,
            security_groups=[self.security_group.id],
            subnets=list(args.subnet_ids),
            idle_timeout=args.idle_timeout_seconds,
            drop_invalid_header_fields=True,
            access_logs=None
            if args.access_logs_bucket is None
            else aws.lb.LoadBalancerAccessLogsArgs(
                bucket=args.access_logs_bucket, enabled=True, prefix=args.tier
            ),
            tags=tags,
            opts=child,
        )
        self.target_group = self._target_group(name, args, tags, child)
        self.listener, self.api_rule = self._listener(name, args, tags, child)
        self.bindings = self._bindings(name, args, child)
        # The ALB connects to the pods from its own addresses in its subnets: the pods let
        # those blocks in, not the VPC's, which under the VPC CNI holds every pod too.
        own_blocks = pulumi.Output.all(
            *(
                aws.ec2.get_subnet_output(
                    id=subnet, opts=pulumi.InvokeOutputOptions(parent=self)
                ).cidr_block
                for subnet in args.subnet_ids
            )
        )
        self.network_policy = load_balancer_policy(
            f"{name}-network-policy",
            k8s.meta.v1.ObjectMetaArgs(
                name=f"{args.tier}-from-load-balancer",
                namespace=args.service_namespace,
                labels={**MANAGED_BY, **tier_labels(args.tier, "load-balancer", True)},
            ),
            args.service_names,
            own_blocks,
            PORT,
            child,
        )
        self.dns_name = self.load_balancer.dns_name
        self.endpoint = pulumi.Output.concat("https://" if args.https else "http://", self.dns_name)
        self.register_outputs(
            {
                "security_group": self.security_group,
                "load_balancer": self.load_balancer,
                "target_group": self.target_group,
                "listener": self.listener,
                "api_rule": self.api_rule,
                "bindings": self.bindings,
                "network_policy": self.network_policy,
                "dns_name": self.dns_name,
                "endpoint": self.endpoint,
            }
        )

    def _listener(
        self,
        name: str,
        args: InferenceLoadBalancerArgs,
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> tuple[aws.lb.Listener, aws.lb.ListenerRule]:
        """The listener (HTTPS on 443 with a certificate, else HTTP on 80), answering 404
        to all but the API's paths, which a rule forwards to the target group."""
        https = args.https
        listener = aws.lb.Listener(
            f"{name}-listener",
            load_balancer_arn=self.load_balancer.arn,
            port=args.listener_port,
            protocol="HTTPS" if https else "HTTP",
            certificate_arn=args.certificate_arn,
            ssl_policy=TLS_POLICY if https else None,
            # Nothing but the API: vLLM's key guards only some of its paths (API_PATHS).
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                        content_type="text/plain", status_code="404", message_body="not found"
                    ),
                )
            ],
            tags=tags,
            opts=child,
        )
        rule = aws.lb.ListenerRule(
            f"{name}-api",
            listener_arn=listener.arn,
            priority=10,
            conditions=[
                aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=list(API_PATHS))
                )
            ],
            actions=[
                aws.lb.ListenerRuleActionArgs(
                    type="forward", target_group_arn=self.target_group.arn
                )
            ],
            tags=tags,
            opts=child,
        )
        return listener, rule

    def _bindings(
        self, name: str, args: InferenceLoadBalancerArgs, child: pulumi.ResourceOptions
    ) -> list[k8s.apiextensions.CustomResource]:
        """One TargetGroupBinding per vLLM Service: the AWS Load Balancer Controller
        registers the Service's pods in the target group and opens their port to the load
        balancer's security group."""
        shared = len(args.service_names) > 1
        return [
            k8s.apiextensions.CustomResource(
                f"{name}-binding" + (f"-{index}" if shared else ""),
                api_version="elbv2.k8s.aws/v1beta1",
                kind="TargetGroupBinding",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"{args.tier}-vllm" + (f"-{index}" if shared else ""),
                    namespace=args.service_namespace,
                    labels={**MANAGED_BY, **tier_labels(args.tier, "load-balancer", True)},
                ),
                spec={
                    "serviceRef": {"name": service_name, "port": PORT},
                    "targetGroupARN": self.target_group.arn,
                    "targetType": "ip",
                    # Several bindings share the group, each managing its own targets.
                    **({"multiClusterTargetGroup": True} if shared else {}),
                    # The controller opens the pods' port to the load balancer's group.
                    "networking": {
                        "ingress": [
                            {
                                "from": [{"securityGroup": {"groupID": self.security_group.id}}],
                                "ports": [{"port": PORT, "protocol": "TCP"}],
                            }
                        ]
                    },
                },
                opts=child,
            )
            for index, service_name in enumerate(args.service_names)
        ]

    def _target_group(
        self,
        name: str,
        args: InferenceLoadBalancerArgs,
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> aws.lb.TargetGroup:
        """An IP target group on vLLM's port, health-checking /health (C6), routing to the
        replica with the fewest requests in flight, draining for the longest request."""
        return aws.lb.TargetGroup(
            f"{name}-tg",
            name=short_name(args.tier, args.cluster_name, "tg"),
            port=PORT,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.vpc_id,
            load_balancing_algorithm_type="least_outstanding_requests",
            deregistration_delay=args.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=HEALTH_PATH,
                matcher="200",
                interval=args.health_check_interval_seconds,
                timeout=args.health_check_timeout_seconds,
                healthy_threshold=args.healthy_threshold,
                unhealthy_threshold=args.unhealthy_threshold,
            ),
            tags=tags,
            opts=child,
        )
