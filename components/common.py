"""What every component shares: the args model base, the labels and tags that carry the
facts policies read (their keys are ``facts.labels``), child options, and the restricted
security contexts and Service every workload uses."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Annotated, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from facts import defaults
from facts.labels import COST_CENTER, ENVIRONMENT, ROLE, TIER, USER_FACING, Role, flag

TierName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")]
KubernetesName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", max_length=63)
]


class Args(BaseModel):
    """Base of every component's args: frozen, validated, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class TaggedArgs(Args):
    """Base of the args of a component whose AWS resources carry the cost tags (M4)."""

    environment: str = Field(description="dev, staging or prod; tagged for cost (M4).")
    cost_center: str = Field(defaults.COST_CENTER, description="Cost-center tag (M4).")


def tier_labels(tier: str, role: Role, user_facing: bool | None = None) -> dict[str, str]:
    """Kubernetes labels that say which tier an object belongs to and what it is."""
    labels = {TIER: tier, ROLE: role}
    if user_facing is not None:
        labels[USER_FACING] = flag(user_facing)
    return labels


def cost_tags(
    tier: str, environment: str, cost_center: str, role: Role, extra: Mapping[str, str] = {}
) -> dict[str, str]:
    """AWS tags every billable resource carries (M4: cost per hour tracked per tier)."""
    return {
        TIER: tier,
        ENVIRONMENT: environment,
        COST_CENTER: cost_center,
        ROLE: role,
        **extra,
    }


def short_name(*parts: str, limit: int = 32) -> str:
    """A deterministic AWS name within ``limit`` characters: readable prefix + hash of
    the parts, so two fleets in one account never collide and a long tier name fits."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()[:8]
    readable = "-".join(parts)[: limit - 9].strip("-")
    return f"{readable}-{digest}"


def child_options(
    parent: pulumi.Resource, opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """Options for a component's children: parented to it, and waiting for what the
    component was told to wait for. Pulumi does not pass a component's ``depends_on`` on
    to its children, so without this a Deployment would not wait for its namespace, nor
    a ScaledObject for the add-on that installs its CRD."""
    return pulumi.ResourceOptions(parent=parent, depends_on=opts.depends_on if opts else None)


DIGEST_SEPARATOR = "@sha256:"


def pull_policy(image: str) -> str:
    """``IfNotPresent`` for an image pinned by digest (what the node has is what was
    asked for), ``Always`` for a tag (the node checks the registry for what the tag names
    now; a multi-GB vLLM image is only pulled again when it changed)."""
    return "IfNotPresent" if DIGEST_SEPARATOR in image else "Always"


def restricted_container(run_as: int | None = None) -> k8s.core.v1.SecurityContextArgs:
    """A container security context that meets Pod Security "restricted", read-only root."""
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True,
        run_as_user=run_as,
        run_as_group=run_as,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def restricted_pod(run_as: int, fs_group: int | None = None) -> k8s.core.v1.PodSecurityContextArgs:
    """A pod security context that meets Pod Security "restricted"."""
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=run_as,
        run_as_group=run_as,
        fs_group=fs_group,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def http_service(
    name: str, metadata: Any, selector: dict[str, str], port: int, opts: Any
) -> k8s.core.v1.Service:
    """A ClusterIP Service exposing a pod's port named ``http``."""
    return k8s.core.v1.Service(
        name,
        metadata=metadata,
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=selector,
            ports=[
                k8s.core.v1.ServicePortArgs(
                    name="http", port=port, target_port="http", protocol="TCP"
                )
            ],
        ),
        opts=opts,
    )


def vpc_blocks(vpc: Any) -> list[str]:
    """Every CIDR block associated with the VPC (``aws.ec2.get_vpc``'s result), its primary
    first: the load balancer's nodes and the VPC's interface endpoints sit in subnets of any
    of them (a secondary block's subnets included)."""
    associated = [
        a.cidr_block for a in vpc.cidr_block_associations or [] if a.state == "associated"
    ]
    return list(dict.fromkeys([vpc.cidr_block, *associated]))


CHECKOV_SKIP = "checkov.io/skip{}"


def checkov_skips(images: list[str], *, api_key: bool = False) -> dict[str, str]:
    """checkov's checks that cannot pass for how ``images`` are given (and, with
    ``api_key``, for how vLLM takes its key), each skipped with its reason, as annotations
    of the workload (checkov reads ``checkov.io/skip<n>: <check>=<reason>``; a reason holds
    no '='). docs/security.md lists them."""
    reasons = []
    if any(DIGEST_SEPARATOR not in image for image in images):
        reasons.append(
            "CKV_K8S_43=pinned by tag; give fleet.vllmImage and fleet.worker.image by "
            "digest to pin them (the images-pinned-by-digest policy reports tags)"
        )
    if any(DIGEST_SEPARATOR in image for image in images):
        reasons.append(
            "CKV_K8S_15=pinned by digest, so IfNotPresent runs exactly that image; "
            "Always would only add a registry round trip to every start"
        )
    if api_key:
        reasons.append(
            "CKV_K8S_35=vLLM reads its API key only from VLLM_API_KEY or its command line; "
            "from a Secret by env it stays out of the command line and the pod spec"
        )
    return {CHECKOV_SKIP.format(n): reason for n, reason in enumerate(reasons, 1)}


def private_bucket(
    name: str, bucket: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.s3.BucketPublicAccessBlock:
    """A bucket closed to the public: all four public-access blocks (``<name>-public-access``,
    returned) and no ACLs, every object the bucket owner's (``<name>-ownership``)."""
    public = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    return public
