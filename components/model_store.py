"""ModelStore: an S3 bucket the tiers stream their weights from, the VPC endpoints that let
the inference pods reach S3 and SQS without the internet, and a one-off Job per Hub model
that mirrors it into the bucket; ``ModelWeights``: what a tier needs to read from it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from components import iam
from components.common import (
    KubernetesName,
    TaggedArgs,
    checkov_skips,
    child_options,
    cost_tags,
    private_bucket,
    pull_policy,
    restricted_container,
    restricted_pod,
    vpc_blocks,
)
from components.isolation import egress_only_policy
from facts import defaults, startup
from facts import weights as model_weights
from facts.labels import MANAGED_BY, ROLE

TYPE = "agentfleet:index:ModelStore"
MIRROR_SCRIPT = Path(__file__).resolve().parent.parent / "bridge" / "mirror.py"
"""The program the mirror Job runs in vLLM's image (huggingface_hub and boto3 are there)."""
MIRROR_ACCOUNT = "agentfleet-model-mirror"
MIRROR_RUN_AS = 10001
MIRROR_SCRATCH_GIB = 20
"""The Job's scratch disk: one file at a time, and no shard on the Hub is near this."""
MIRROR_TIMEOUT = "4h"
"""How long Pulumi waits for a mirror to finish (a 70B model is some 140 GB)."""


def s3_object_arn(bucket: str, prefix: str) -> str:
    return f"arn:aws:s3:::{bucket}/{prefix}/*"


def through_s3(region: str | None) -> dict[str, Any]:
    """A KMS condition: only as S3 (of ``region``, or any) asks on the caller's behalf."""
    if region is None:
        return {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}
    return {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}


def read_statements(
    folders: tuple[str, ...], kms_key_arn: str | None, region: str | None
) -> list[dict[str, Any]]:
    """Read the objects of the S3 folders ``folders`` (s3://<bucket>/<prefix>/), list only
    within them, and decrypt with the bucket's key only through S3."""
    located = [model_weights.split(folder) for folder in folders]
    if not located:
        return []
    statements = [
        iam.allow(
            "s3:GetObject",
            sorted({s3_object_arn(bucket, prefix) for bucket, prefix in located}),
            sid="ReadWeights",
        )
    ]
    for number, bucket in enumerate(sorted({bucket for bucket, _ in located}), 1):
        prefixes = sorted({f"{p}/*" for b, p in located if b == bucket})
        statements.append(
            iam.allow(
                "s3:ListBucket",
                f"arn:aws:s3:::{bucket}",
                sid="ListWeights" if number == 1 else f"ListWeights{number}",
                condition={"StringLike": {"s3:prefix": prefixes}},
            )
        )
    if kms_key_arn:
        statements.append(
            iam.allow(
                "kms:Decrypt",
                kms_key_arn,
                sid="DecryptWeights",
                condition=through_s3(region),
            )
        )
    return statements


def mirror_policy(bucket: str, prefix: str, kms_key_arn: str | None, region: str) -> str:
    """The mirror Job's: what the readers may, and write objects under the store's prefix
    (a multipart upload under SSE-KMS also asks for a data key)."""
    statements = read_statements((f"s3://{bucket}/{prefix}/",), kms_key_arn, region)
    statements.append(
        iam.allow(
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            s3_object_arn(bucket, prefix),
            sid="WriteWeights",
        )
    )
    if kms_key_arn:
        statements.append(
            iam.allow(
                "kms:GenerateDataKey",
                kms_key_arn,
                sid="EncryptWeights",
                condition=through_s3(region),
            )
        )
    return json.dumps(iam.document(*statements))


def tls_only_policy(bucket_arn: str) -> str:
    """The bucket refuses every request not made over TLS."""
    return json.dumps(iam.document(iam.tls_only(bucket_arn)))


class ModelWeights(BaseModel):
    """What a tier needs to stream its models from S3 (FleetTierArgs.weights)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    folders: dict[str, str] = Field(
        description="The S3 folder (s3://<bucket>/<prefix>/) of each model the tier serves "
        "from S3, by the model's name as the tier gives it; a model not here comes from "
        "the Hub."
    )
    kms_key_arn: Any = Field(
        None, description="The bucket's KMS key, when a customer managed key encrypts it."
    )
    https_cidrs: Any = Field(
        description="The only addresses the pods' HTTPS may reach: S3's (its gateway "
        "endpoint's prefix list) and the VPC's (the SQS interface endpoint)."
    )
    after: tuple[Any, ...] = Field(
        (), description="What the pods wait for: the mirror Jobs that fill the folders."
    )

    def folder(self, model: str) -> str | None:
        return self.folders.get(model)


class ModelStoreArgs(TaggedArgs):
    """Inputs of ModelStore."""

    region: str = Field(description="AWS region of the cluster and the bucket.")
    cluster_name: str = Field(description="The EKS cluster (the mirror's Pod Identity).")
    namespace: KubernetesName = Field(description="Where the mirror Jobs run: the fleet's.")
    vpc_id: Any = Field(description="The cluster's VPC (the endpoints).")
    subnet_ids: tuple[Any, ...] = Field(
        (), description="The cluster's subnets, one per zone: the SQS endpoint's."
    )
    bucket: str | None = Field(
        None, description="The store's bucket; None: endpoints only (tiers name S3 folders)."
    )
    create: bool = Field(True, description="Create the bucket, SSE-KMS under its own key.")
    prefix: str = Field("models", description="Where the store keeps mirrored Hub models.")
    kms_key_arn: str | None = Field(
        None, description="An existing bucket's customer managed key (create false)."
    )
    endpoints: bool = Field(True, description="Create the S3 gateway and SQS interface endpoints.")
    mirrors: tuple[str, ...] = Field((), description="Hub models to copy into the store.")
    mirror_image: str = Field(
        defaults.VLLM_IMAGE, description="The image the mirror Jobs run: vLLM's."
    )
    hf_token: Any = Field(None, description="Hugging Face token for gated models, a secret.")
    depends_on: tuple[Any, ...] = Field((), description="What the Jobs wait for (the namespace).")


class ModelStore(pulumi.ComponentResource):
    """The fleet's model store: a bucket (created with a KMS key of its own, SSE-KMS with
    bucket keys, every public access blocked, objects owned by the bucket's account, TLS
    only; or an existing one), S3's gateway endpoint on the VPC's route tables and SQS's
    interface endpoint with private DNS, and per Hub model a Job that mirrors it, which the
    tiers' pods wait for."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        bucket: aws.s3.Bucket | None
        key: aws.kms.Key | None
        kms_key_arn: Any
        """The key the bucket's objects are encrypted under, when a customer managed one."""
        https_cidrs: pulumi.Output[list[str]]
        """Where the inference pods' HTTPS may go: S3's ranges and the VPC's blocks."""
        mirrors: dict[str, k8s.batch.v1.Job]
        """The mirror Job of each Hub model, by its name (``org/name@rev`` when pinned)."""
        mirrored: dict[str, k8s.batch.v1.Job]
        """The same Jobs by the S3 folder each fills."""

    def __init__(
        self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        # a new cluster's route tables exist once what the store waits for does
        invoke = pulumi.InvokeOutputOptions(parent=self, depends_on=list(args.depends_on))
        tags = cost_tags("fleet", args.environment, args.cost_center, "model-store")
        self.bucket, self.key, self.mirrors, self.mirrored = None, None, {}, {}
        self._mirror_needs: list[pulumi.Resource] = []
        """What the mirror Jobs wait for: the bucket as configured, their identity."""
        self.kms_key_arn = args.kms_key_arn
        if args.bucket is not None and args.create:
            self._bucket(name, args.bucket, tags, child)
        s3_ranges = aws.ec2.get_prefix_list_output(
            name=f"com.amazonaws.{args.region}.s3", opts=invoke
        ).cidr_blocks
        vpc = aws.ec2.get_vpc_output(id=args.vpc_id, opts=invoke).apply(vpc_blocks)
        self.https_cidrs = pulumi.Output.all(s3_ranges, vpc).apply(
            lambda both: list(dict.fromkeys([*both[0], *both[1]]))
        )
        if args.endpoints:
            self._endpoints(name, args, vpc, tags, child, invoke)
        if args.bucket is not None:
            for model in args.mirrors:
                self.mirrors[model] = self._mirror(name, args, model, tags, child)
                folder = model_weights.folder(args.bucket, args.prefix, model)
                self.mirrored[folder] = self.mirrors[model]
        self.register_outputs({"https_cidrs": self.https_cidrs, "kms_key_arn": self.kms_key_arn})

    def _bucket(
        self, name: str, bucket: str, tags: dict[str, str], child: pulumi.ResourceOptions
    ) -> None:
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"agentfleet model store {bucket}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        self.kms_key_arn = self.key.arn
        self.bucket = aws.s3.Bucket(f"{name}-bucket", bucket=bucket, tags=tags, opts=child)
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=self.key.arn
                    ),
                    # one data key per bucket, not one KMS call per object read
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        public = private_bucket(name, self.bucket.id, child)
        policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(tls_only_policy),
            opts=child,
        )
        # an object written before the default encryption is set stays under SSE-S3
        self._mirror_needs += [self.bucket, encryption, public, policy]

    def _endpoints(
        self,
        name: str,
        args: ModelStoreArgs,
        vpc: pulumi.Output[list[str]],
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
        invoke: pulumi.InvokeOutputOptions,
    ) -> None:
        """S3's gateway endpoint on every route table of the VPC (traffic to S3 stays in
        the region and off the NAT gateways), and SQS's and STS's interface endpoints in
        the cluster's subnets with private DNS (the workers' queue calls, and their
        AssumeRole of the weights role, stay in the VPC)."""
        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=args.vpc_id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=aws.ec2.get_route_tables_output(vpc_id=args.vpc_id, opts=invoke).ids,
            tags=tags,
            opts=child,
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-sqs-endpoint-sg",
            vpc_id=args.vpc_id,
            description="agentfleet SQS and STS endpoints: HTTPS from the VPC",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=vpc,
                    description="HTTPS from the VPC",
                )
            ],
            tags=tags,
            opts=child,
        )
        # SQS for the workers' queues; STS for the weights role they lend vLLM
        for service in ("sqs", "sts"):
            aws.ec2.VpcEndpoint(
                f"{name}-{service}-endpoint",
                vpc_id=args.vpc_id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=list(args.subnet_ids),
                security_group_ids=[group.id],
                tags=tags,
                opts=child,
            )

    def _mirror(
        self,
        name: str,
        args: ModelStoreArgs,
        model: str,
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> k8s.batch.v1.Job:
        """A Job copying ``model`` from the Hub into its folder, as its own service account
        whose role may write only under the store's prefix."""
        assert args.bucket is not None
        slug = _slug(model)
        labels = {**MANAGED_BY, ROLE: "model-store"}
        if not self.mirrors:  # the identity, script and token all mirrors share
            self._mirror_identity(name, args, tags, child, labels)
        folder = model_weights.folder(args.bucket, args.prefix, model)
        return k8s.batch.v1.Job(
            f"{name}-mirror-{slug}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"mirror-{slug}",
                namespace=args.namespace,
                labels=labels,
                annotations={
                    "agentfleet.io/model": model,
                    "agentfleet.io/folder": folder,
                    **checkov_skips([args.mirror_image]),
                },
            ),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=3,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=MIRROR_ACCOUNT,
                        automount_service_account_token=False,  # it calls AWS, not Kubernetes
                        restart_policy="OnFailure",
                        security_context=restricted_pod(MIRROR_RUN_AS, fs_group=MIRROR_RUN_AS),
                        containers=[_mirror_container(args, model, folder)],
                        volumes=[
                            k8s.core.v1.VolumeArgs(
                                name="script",
                                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                                    name=MIRROR_ACCOUNT
                                ),
                            ),
                            k8s.core.v1.VolumeArgs(
                                name="scratch",
                                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                                    size_limit=f"{MIRROR_SCRATCH_GIB}Gi"
                                ),
                            ),
                        ],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=[*args.depends_on, *self._mirror_needs],
                    custom_timeouts=pulumi.CustomTimeouts(
                        create=MIRROR_TIMEOUT, update=MIRROR_TIMEOUT
                    ),
                ),
            ),
        )

    def _mirror_identity(
        self,
        name: str,
        args: ModelStoreArgs,
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
        labels: dict[str, str],
    ) -> None:
        assert args.bucket is not None
        bucket, prefix, region = args.bucket, args.prefix, args.region
        metadata = k8s.meta.v1.ObjectMetaArgs(
            name=MIRROR_ACCOUNT, namespace=args.namespace, labels=labels
        )
        after = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=list(args.depends_on))
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-mirror-account",
            metadata=metadata,
            automount_service_account_token=False,
            opts=after,
        )
        script = k8s.core.v1.ConfigMap(
            f"{name}-mirror-script",
            metadata=metadata,
            data={"mirror.py": MIRROR_SCRIPT.read_text()},
            opts=after,
        )
        identity = iam.pod_identity(
            f"{name}-mirror",
            description=f"agentfleet model mirror: writes models under s3://{bucket}/{prefix}/",
            policy=pulumi.Output.from_input(self.kms_key_arn).apply(
                lambda key: mirror_policy(bucket, prefix, key, region)
            ),
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=MIRROR_ACCOUNT,
            tags=tags,
            opts=child,
        )
        isolation = egress_only_policy(
            f"{name}-mirror-network-policy", metadata, {ROLE: "model-store"}, after
        )
        needs: list[pulumi.Resource] = [
            account,
            script,
            isolation,
            identity.association,
            identity.policy,
        ]
        if args.hf_token is not None:
            needs.append(
                k8s.core.v1.Secret(
                    f"{name}-mirror-hf-token",
                    metadata=metadata,
                    type="Opaque",
                    string_data={"token": pulumi.Output.secret(args.hf_token)},
                    opts=after,
                )
            )
        self._mirror_needs += needs


def _mirror_container(args: ModelStoreArgs, model: str, folder: str) -> k8s.core.v1.ContainerArgs:
    """The mirror's container: bridge/mirror.py (from the ConfigMap) in vLLM's image, its
    scratch and caches on an emptyDir under a read-only root, the Hub token from a Secret."""
    env = [
        k8s.core.v1.EnvVarArgs(name="HOME", value="/scratch"),
        k8s.core.v1.EnvVarArgs(name="HF_HOME", value="/scratch/huggingface"),
        k8s.core.v1.EnvVarArgs(name="TMPDIR", value="/scratch"),
        k8s.core.v1.EnvVarArgs(name="AWS_REGION", value=args.region),
    ]
    if args.hf_token is not None:
        env.append(
            k8s.core.v1.EnvVarArgs(
                name="HF_TOKEN",
                value_from=k8s.core.v1.EnvVarSourceArgs(
                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(
                        name=MIRROR_ACCOUNT, key="token"
                    )
                ),
            )
        )
    resources = {"cpu": "1", "memory": "2Gi", "ephemeral-storage": f"{MIRROR_SCRATCH_GIB}Gi"}
    return k8s.core.v1.ContainerArgs(
        name="mirror",
        image=args.mirror_image,
        image_pull_policy=pull_policy(args.mirror_image),
        command=["python3", "/mirror/mirror.py"],
        args=[*mirror_model_args(model), "--to", folder],
        env=env,
        resources=k8s.core.v1.ResourceRequirementsArgs(requests=resources, limits=resources),
        security_context=restricted_container(run_as=MIRROR_RUN_AS),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name="script", mount_path="/mirror", read_only=True),
            k8s.core.v1.VolumeMountArgs(name="scratch", mount_path="/scratch"),
        ],
    )


def mirror_model_args(model: str) -> list[str]:
    """bridge/mirror.py's arguments naming a Hub model, at its revision when pinned."""
    hub_id, revision = model_weights.unpinned(model)
    return ["--model", hub_id, *(["--revision", revision] if revision else [])]


def _slug(model: str) -> str:
    """A model's name as a Kubernetes name part: lowercase, other characters as '-', and a
    digest of the whole name (two names cannot meet)."""
    slug = "".join(c if c.isalnum() else "-" for c in model.lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return f"{slug[:40].rstrip('-')}-{hashlib.sha256(model.encode()).hexdigest()[:6]}"


STREAMER_EXTRA_CONFIG = {"concurrency": startup.STREAMER_CONCURRENCY}
"""vLLM's ``--model-loader-extra-config`` for the streamer: enough concurrent reads for
the rate the start-up model counts on (its object-storage default is 8)."""
