"""The model store as the prod stack declares it: a bucket nobody outside the account reads,
endpoints that keep S3 and SQS off the internet, NetworkPolicies that then allow nothing
else, per-tier roles that read only their own model's folder, and a mirror each tier's
pods wait for."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from components.model_store import MIRROR_ACCOUNT
from facts import startup
from facts.resource_types import DEPLOYMENT, NETWORK_POLICY
from infra.offline.manifests import manifest
from infra.offline.mocks import S3_RANGES, Registration, run_program
from infra.startup import tier_startup
from tests.components.builders import plan_of
from tests.helpers import STORE_BUCKET, prod_with_s3_model, stack_values
from tests.iampolicy import allows

JOB = "kubernetes:batch/v1:Job"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
VPC = "10.0.0.0/16"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)


@pytest.fixture(scope="module")
def prod() -> list[Registration]:
    registrations, _ = run_program(stack_values("prod"), stack="prod")
    return registrations


@pytest.fixture(scope="module")
def hub_prod() -> list[Registration]:
    values = stack_values("prod")
    values["agentfleet:fleet"].pop("modelStore")
    registrations, _ = run_program(values, stack="prod")
    return registrations


def named(registrations: list[Registration], type_: str, name: str) -> Registration:
    return next(r for r in registrations if r.type == type_ and r.name == name)


def test_the_bucket_is_encrypted_under_its_own_key_private_and_tls_only(
    prod: list[Registration],
) -> None:
    bucket = named(prod, "aws:s3/bucket:Bucket", "models-bucket")
    assert bucket.inputs["bucket"] == STORE_BUCKET
    key = named(prod, "aws:kms/key:Key", "models-key")
    assert key.inputs["enableKeyRotation"] is True
    (rule,) = named(prod, ENCRYPTION, "models-encryption").inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert rule["bucketKeyEnabled"] is True
    block = named(
        prod, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "models-public-access"
    ).inputs
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    (deny,) = json.loads(
        named(prod, "aws:s3/bucketPolicy:BucketPolicy", "models-policy").inputs["policy"]
    )["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_s3_and_sqs_are_reached_through_endpoints_in_the_vpc(prod: list[Registration]) -> None:
    """S3's gateway endpoint on every route table of the VPC (the traffic never reaches a
    NAT gateway), SQS's interface endpoint with private DNS in the cluster's subnets (its
    regional name resolves to addresses in the VPC)."""
    s3 = named(prod, "aws:ec2/vpcEndpoint:VpcEndpoint", "models-s3-endpoint").inputs
    assert (s3["serviceName"], s3["vpcEndpointType"]) == ("com.amazonaws.us-east-1.s3", "Gateway")
    assert len(s3["routeTableIds"]) == 3
    sqs = named(prod, "aws:ec2/vpcEndpoint:VpcEndpoint", "models-sqs-endpoint").inputs
    assert (sqs["serviceName"], sqs["vpcEndpointType"]) == (
        "com.amazonaws.us-east-1.sqs",
        "Interface",
    )
    assert sqs["privateDnsEnabled"] is True
    assert sqs["subnetIds"] == stack_values("prod")["agentfleet:cluster"]["subnetIds"]


def internet_reachable(policy: dict[str, Any]) -> list[str]:
    """The blocks a NetworkPolicy lets its pods reach that are on the internet: neither S3's
    ranges, the VPC's, nor link-local."""
    private = [ipaddress.IPv4Network(b) for b in (*S3_RANGES, VPC, "169.254.0.0/16")]
    found = []
    for rule in policy["spec"].get("egress", []):
        for peer in rule.get("to", []):
            block = peer.get("ipBlock", {}).get("cidr")
            if block and not any(ipaddress.IPv4Network(block).subnet_of(p) for p in private):
                found.append(block)
    return found


def vllm_policies(registrations: list[Registration]) -> dict[str, dict[str, Any]]:
    """The NetworkPolicy of each vLLM Deployment (VllmService's), by name."""
    found = {}
    for registration in registrations:
        if registration.type == NETWORK_POLICY:
            policy = manifest(registration)
            selected = policy["spec"]["podSelector"].get("matchLabels", {})
            egress = "Egress" in policy["spec"]["policyTypes"]
            if egress and selected.get("app.kubernetes.io/name") == "vllm":
                found[policy["metadata"]["name"]] = policy
    return found


def test_pods_of_tiers_streaming_from_s3_reach_nothing_on_the_internet(
    prod: list[Registration], hub_prod: list[Registration]
) -> None:
    """A NetworkPolicy allows only what a rule names: with the weights in S3 every vLLM
    pod's egress is DNS, the Pod Identity agent, S3's ranges and the VPC (SQS's endpoint).
    From the Hub, HTTPS goes anywhere."""
    streamed = vllm_policies(prod)
    assert len(streamed) == 3
    assert {name: internet_reachable(p) for name, p in streamed.items()} == {
        name: [] for name in streamed
    }
    from_hub = vllm_policies(hub_prod)
    assert {name: internet_reachable(p) for name, p in from_hub.items()} == {
        name: ["0.0.0.0/0"] for name in from_hub
    }


def statements(registrations: list[Registration], name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        named(registrations, ROLE_POLICY, name).inputs["policy"]
    )["Statement"]
    return found


def test_each_tiers_role_reads_only_its_own_models_folder(prod: list[Registration]) -> None:
    """The tier's weights role (which the worker lends vLLM) may list and read its model's
    folder and decrypt through S3; not another tier's model, not the bucket's other keys,
    and not write. The worker's own role reads none of it."""
    light = statements(prod, "lightweight-weights-policy")
    folder = "models/Qwen/Qwen2.5-3B-Instruct/"
    bucket = f"arn:aws:s3:::{STORE_BUCKET}"
    assert allows(light, "s3:GetObject", f"{bucket}/{folder}model-00001-of-00002.safetensors")
    assert allows(light, "s3:ListBucket", bucket, **{"s3:prefix": folder})
    other = "models/Qwen/Qwen2.5-7B-Instruct/"
    assert not allows(light, "s3:GetObject", f"{bucket}/{other}config.json")
    assert not allows(light, "s3:ListBucket", bucket, **{"s3:prefix": other})
    assert not allows(light, "s3:ListBucket", bucket, **{"s3:prefix": ""})
    assert not allows(light, "s3:PutObject", f"{bucket}/{folder}config.json")
    worker = statements(prod, "lightweight-worker-policy")
    assert not allows(worker, "s3:GetObject", f"{bucket}/{folder}config.json")
    encryption = named(prod, ENCRYPTION, "models-encryption").inputs["rules"][0]
    key = encryption["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]
    assert allows(light, "kms:Decrypt", key, **{"kms:ViaService": "s3.us-east-1.amazonaws.com"})
    assert not allows(light, "kms:Decrypt", key)


def test_the_mirror_writes_only_under_the_stores_prefix_and_the_pods_wait_for_it(
    prod: list[Registration],
) -> None:
    mirror = statements(prod, "models-mirror-policy")
    bucket = f"arn:aws:s3:::{STORE_BUCKET}"
    assert allows(mirror, "s3:PutObject", f"{bucket}/models/Qwen/Qwen2.5-3B-Instruct/config.json")
    assert not allows(mirror, "s3:PutObject", f"{bucket}/elsewhere/config.json")
    jobs = {r.inputs["metadata"]["annotations"]["agentfleet.io/model"]: r for r in prod
            if r.type == JOB}  # fmt: skip
    assert sorted(jobs) == ["Qwen/Qwen2.5-3B-Instruct", "Qwen/Qwen2.5-7B-Instruct"]
    job = manifest(jobs["Qwen/Qwen2.5-3B-Instruct"])
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == MIRROR_ACCOUNT
    assert pod["containers"][0]["args"] == [
        "--model",
        "Qwen/Qwen2.5-3B-Instruct",
        "--to",
        f"s3://{STORE_BUCKET}/models/Qwen/Qwen2.5-3B-Instruct/",
    ]
    light = named(prod, DEPLOYMENT, "lightweight-deployment")
    assert jobs["Qwen/Qwen2.5-3B-Instruct"].urn in light.dependencies
    assert jobs["Qwen/Qwen2.5-7B-Instruct"].urn not in light.dependencies


def test_a_tier_of_its_own_s3_folder_gets_endpoints_and_a_scoped_role_but_no_mirror() -> None:
    """prod without a store, its mid-tier serving an S3 folder of another bucket: the
    gateway endpoint, a role reading only that folder, no internet for that tier's pods
    (the Hub tiers keep theirs), and no bucket or mirror of the stack's own."""
    registrations, _ = run_program(prod_with_s3_model(), stack="prod")
    assert not [r for r in registrations if r.type == JOB]
    assert not [r for r in registrations if r.type == "aws:s3/bucket:Bucket"
                and r.parent_type == "agentfleet:index:ModelStore"]  # fmt: skip
    gateway = named(registrations, "aws:ec2/vpcEndpoint:VpcEndpoint", "models-s3-endpoint")
    assert gateway.inputs["vpcEndpointType"] == "Gateway"
    policies = vllm_policies(registrations)
    assert internet_reachable(policies["mid-tier-vllm"]) == []
    assert internet_reachable(policies["orchestrator-vllm"]) == ["0.0.0.0/0"]
    mid = statements(registrations, "mid-tier-weights-policy")
    own = "arn:aws:s3:::agents-finetunes/support-bot/v3/model.safetensors"
    assert allows(mid, "s3:GetObject", own)
    assert not allows(mid, "s3:GetObject", "arn:aws:s3:::agents-finetunes/other/x.safetensors")


def test_the_startup_probe_allows_the_modelled_start_from_the_weights_source() -> None:
    """The probe's budget is the pod's modelled start (the weights over the source's rate,
    a node's replicas at once, vLLM's engine start) with a margin: from the Hub a 7B model's
    download is 14.2 GiB at 0.605 GiB/s; streamed from S3, at 2.86."""
    streamed, hub = plan_of("prod").tier("mid-tier"), None
    values = stack_values("prod")
    values["agentfleet:fleet"].pop("modelStore")
    hub = plan_of(values).tier("mid-tier")
    s3_start, hub_start = tier_startup(streamed), tier_startup(hub)
    on_node = streamed.replica_groups[0].replicas_per_instance
    assert s3_start.download_gib_per_second == startup.S3_STREAMER_GIB_PER_SECOND
    assert hub_start.download_gib_per_second == startup.HUB_GIB_PER_SECOND
    weights = s3_start.weights_gib
    assert hub_start.pod(1) - s3_start.pod(1) == pytest.approx(weights / 0.605 - weights / 2.86)
    for start in (s3_start, hub_start):
        modelled = start.pod(on_node)
        probe = start.startup_probe_seconds(on_node)
        assert probe >= max(2 * modelled, 600)
        assert probe % 10 == 0
        assert probe < 2 * modelled + 10 or probe == 600


REVISION = "a09a35458c702b33eeacc393d103063234e8bc28"


def test_a_pinned_revision_is_mirrored_into_a_folder_of_its_own() -> None:
    """mid-tier pins Qwen2.5-7B at a commit; the orchestrator follows main. Main moves (a
    push to the repository changes what the next pod serves); the pinned tier streams its
    own folder, filled by its own mirror at that revision, and waits for that mirror; its
    weights role reads that folder alone."""
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["mid-tier"]["revision"] = REVISION
    registrations, _ = run_program(values, stack="prod")
    jobs = {r.inputs["metadata"]["annotations"]["agentfleet.io/model"]: r for r in registrations
            if r.type == JOB}  # fmt: skip
    pinned = f"Qwen/Qwen2.5-7B-Instruct@{REVISION}"
    assert pinned in jobs
    assert "Qwen/Qwen2.5-7B-Instruct" in jobs  # the orchestrator's, at main
    folder = f"s3://{STORE_BUCKET}/models/Qwen/Qwen2.5-7B-Instruct--{REVISION}/"
    args = manifest(jobs[pinned])["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["--model", "Qwen/Qwen2.5-7B-Instruct", "--revision", REVISION, "--to", folder]
    mid = named(registrations, DEPLOYMENT, "mid-tier-deployment")
    assert jobs[pinned].urn in mid.dependencies
    assert jobs["Qwen/Qwen2.5-7B-Instruct"].urn not in mid.dependencies
    vllm = manifest(mid)["spec"]["template"]["spec"]["containers"][0]
    assert vllm["args"][0] == folder
    assert "--revision" not in vllm["args"]  # the folder is the revision
    weights = statements(registrations, "mid-tier-weights-policy")
    bucket = f"arn:aws:s3:::{STORE_BUCKET}"
    assert allows(weights, "s3:GetObject", f"{folder.replace('s3://', 'arn:aws:s3:::')}c.json")
    main = f"{bucket}/models/Qwen/Qwen2.5-7B-Instruct/config.json"
    assert not allows(weights, "s3:GetObject", main)


def test_a_hub_tier_serves_its_pinned_revision() -> None:
    values = stack_values("prod")
    tier = values["agentfleet:fleet"]["tiers"]["lightweight"]
    tier.update(weights="hub", revision=REVISION)
    registrations, _ = run_program(values, stack="prod")
    light = manifest(named(registrations, DEPLOYMENT, "lightweight-deployment"))
    argv = light["spec"]["template"]["spec"]["containers"][0]["args"]
    assert argv[0] == "Qwen/Qwen2.5-3B-Instruct"
    assert argv[argv.index("--revision") + 1] == REVISION
