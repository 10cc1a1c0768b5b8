"""LoadBalancerLogs, and the prod stack's load balancers writing to it: the bucket takes
what Elastic Load Balancing's log delivery writes, under the account's AWSLogs folder
only, and is private, TLS only and SSE-S3 (ALB log delivery refuses KMS-encrypted buckets:
Elastic Load Balancing user guide, "Access logs for your Application Load Balancer")."""

from __future__ import annotations

import fnmatch
import json

from components import LoadBalancerLogs, LoadBalancerLogsArgs
from facts.resource_types import LOAD_BALANCER
from infra.offline.mocks import ACCOUNT, run_program
from tests.components.support import one, run
from tests.helpers import stack_values

BUCKET = "aws:s3/bucket:Bucket"


def build() -> list:  # type: ignore[type-arg]
    args = LoadBalancerLogsArgs(environment="prod", cluster_name="agents-prod")
    return run(lambda: LoadBalancerLogs("logs", args).bucket_name)


def test_only_log_delivery_writes_and_only_under_the_accounts_folder() -> None:
    registrations = build()
    policy = json.loads(one(registrations, "aws:s3/bucketPolicy:BucketPolicy", "logs-policy")
                        .inputs["policy"])  # fmt: skip
    deny, allow = policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    bucket = allow["Resource"].split(":::")[1].split("/")[0]
    written = f"{bucket}/orchestrator/AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-1/x.log.gz"
    assert fnmatch.fnmatchcase(f"arn:aws:s3:::{written}", allow["Resource"])
    for elsewhere in (f"{bucket}/x", f"{bucket}/orchestrator/AWSLogs/999999999999/x"):
        assert not fnmatch.fnmatchcase(f"arn:aws:s3:::{elsewhere}", allow["Resource"])


def test_the_bucket_is_private_sse_s3_and_expires_its_logs() -> None:
    registrations = build()
    bucket = one(registrations, BUCKET, "logs-bucket").inputs
    assert bucket["bucketPrefix"] == "agents-prod-lb-logs-"
    encryption = "aws:s3/bucketServerSideEncryptionConfiguration:"
    encryption += "BucketServerSideEncryptionConfiguration"
    (rule,) = one(registrations, encryption, "logs-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    block = one(registrations, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "logs-public-access").inputs  # fmt: skip
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy",
                                          "ignorePublicAcls", "restrictPublicBuckets"))  # fmt: skip
    (expiry,) = one(registrations, "aws:s3/bucketLifecycleConfiguration:"
                    "BucketLifecycleConfiguration", "logs-expiry").inputs["rules"]  # fmt: skip
    assert expiry["expiration"] == {"days": 90.0}


def test_every_load_balancer_of_prod_logs_to_the_fleets_bucket() -> None:
    registrations, _ = run_program(stack_values("prod"), stack="prod")
    balancers = [r for r in registrations if r.type == LOAD_BALANCER]
    assert balancers
    (bucket,) = [r for r in registrations if r.type == BUCKET and "lb-logs" in
                 str(r.inputs.get("bucketPrefix"))]  # fmt: skip
    for balancer in balancers:
        logs = balancer.inputs["accessLogs"]
        assert logs["enabled"] is True
        assert logs["bucket"].startswith(bucket.inputs["bucketPrefix"])
