"""LoadBalancerLogs: the S3 bucket the fleet's load balancers write their access logs to,
one line per request (client, path, status, times), for audits and incidents."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components import iam
from components.common import TaggedArgs, child_options, cost_tags, private_bucket

TYPE = "agentfleet:index:LoadBalancerLogs"
LOG_DELIVERY = {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
"""Who writes ALB access logs, in every region (Elastic Load Balancing user guide, "Enable
access logs": the per-region ELB accounts are the legacy form, and the newer regions take
only this)."""


def log_delivery_policy(bucket_arn: str, account: str) -> str:
    """TLS only, and Elastic Load Balancing may put objects under this account's
    ``AWSLogs/<account>/`` folder of any prefix, nothing else."""
    return json.dumps(
        iam.document(
            iam.tls_only(bucket_arn),
            {
                "Sid": "LoadBalancerAccessLogs",
                "Effect": "Allow",
                "Principal": LOG_DELIVERY,
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*/AWSLogs/{account}/*",
            },
        )
    )


class LoadBalancerLogsArgs(TaggedArgs):
    """Inputs of a LoadBalancerLogs."""

    cluster_name: str = Field(description="The EKS cluster; the start of the bucket's name.")
    retention_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        90, description="Days a log object is kept."
    )


class LoadBalancerLogs(pulumi.ComponentResource):
    """A private bucket for the load balancers' access logs: all four public-access blocks,
    ACLs off (BucketOwnerEnforced), TLS only, objects expiring after the retention, and
    SSE-S3, the only default encryption ALB log delivery accepts (a KMS key refuses it).
    Each load balancer writes under its tier's prefix."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        bucket: aws.s3.Bucket
        bucket_name: pulumi.Output[str]
        """The bucket's name, for InferenceLoadBalancerArgs.access_logs_bucket."""

    def __init__(
        self, name: str, args: LoadBalancerLogsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        tags = cost_tags("fleet", args.environment, args.cost_center, "load-balancer")
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=f"{args.cluster_name[:30].lower()}-lb-logs-",
            tags=tags,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=child,
        )
        private_bucket(name, self.bucket.id, child)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-expiry",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.retention_days
                    ),
                )
            ],
            opts=child,
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, account.account_id).apply(
                lambda values: log_delivery_policy(values[0], values[1])
            ),
            opts=child,
        )
        # load balancers check they may write when logging is turned on: after the policy
        self.bucket_name = pulumi.Output.all(self.bucket.bucket, self.policy.id).apply(
            lambda values: values[0]
        )
        self.register_outputs({"bucket": self.bucket, "bucket_name": self.bucket_name})
