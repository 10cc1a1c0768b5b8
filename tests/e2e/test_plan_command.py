"""`agentfleet plan`: the offline preview of each shipped stack, broken variants, invalid
input, --render and --policy-config, as docs/commands.md states them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi_aws
import pytest
import yaml
from pulumi.runtime import config as runtime_config

from facts.resource_types import EC2_NODE_CLASS, NODE_GROUP, NODE_POOL
from infra.cli import main
from infra.offline import preview as preview_module
from tests.components.support import validate_object
from tests.helpers import REPO, STACKS, stack_values, with_karpenter
from tests.infra.test_cli import SERVING_KEYS

TIER_TYPES = {
    "agentfleet:index:FleetTier",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:sqs/queue:Queue",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:keda.sh/v1alpha1:ScaledObject",
}


@pytest.fixture(autouse=True)
def restore_config() -> Iterator[None]:
    saved = dict(runtime_config.CONFIG.get())
    yield
    runtime_config.set_all_config(saved)


IMAGES_BY_TAG_QUIET = Path(tempfile.mkdtemp()) / "images-by-tag-quiet.json"
IMAGES_BY_TAG_QUIET.write_text(json.dumps({"images-pinned-by-digest": "disabled"}))


def plan(
    capsys: pytest.CaptureFixture[str], *argv: str, images_by_tag: bool = False
) -> tuple[int, str, str]:
    """`agentfleet plan`; the shipped stacks give their images by tag, and the advisory
    that says so is left out (each test looks at one breach) unless asked for or the test
    gives a policy config of its own."""
    if not images_by_tag and "--policy-config" not in argv:
        argv = (*argv, "--policy-config", str(IMAGES_BY_TAG_QUIET))
    try:
        status = main(["plan", *argv])
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def write_stack(tmp_path: Path, values: dict[str, Any]) -> Path:
    path = tmp_path / "Pulumi.variant.yaml"
    path.write_text(yaml.safe_dump({"config": values}, sort_keys=False))
    return path


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_plans_clean(capsys: pytest.CaptureFixture[str], stack: str) -> None:
    status, out, err = plan(capsys, "--stack", stack, "--json", images_by_tag=True)
    assert (status, err) == (0, "")
    result = json.loads(out)
    assert set(result) >= {"stack", "tiers", "costPerHour", "resources", "findings"}
    assert result["stack"] == stack
    # Only the advisory that the shipped stacks give their images by tag.
    assert {f["policy"] for f in result["findings"]} == {"images-pinned-by-digest"}
    assert {f["enforcement"] for f in result["findings"]} == {"advisory"}
    contract = {"tier", "gpu", "instanceType", "capacity", "minInstances", "maxInstances",
                "gpus", "costPerHour"}  # fmt: skip
    added = {
        "floorCostPerHour",
        "maxCostPerHour",
        "burst",
        "tensorParallel",
        "sessionsPerReplica",
        "kvTokensPerReplica",
    }  # fmt: skip (CHANGELOG: 0.1.0)
    added |= set(SERVING_KEYS)  # the serving physics (CHANGELOG: 0.1.0)
    added |= {"instancesAtExpected", "pricePerInstanceHour", "headroom", "reservation"}
    added |= {"timeToReadySeconds"}  # day two (CHANGELOG: 0.1.0)
    for tier in result["tiers"]:
        assert set(tier) == contract | added
    for resource in result["resources"]:
        assert set(resource) == {"type", "name", "parent"}
    for tier in result["tiers"]:
        declared = {r["type"] for r in result["resources"] if f"::{tier['tier']}" in r["parent"]
                    or r["name"].startswith(f"{tier['tier']}-")}  # fmt: skip
        assert TIER_TYPES - {"agentfleet:index:FleetTier"} <= declared, tier["tier"]


def test_prod_plan_figures(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = plan(capsys, "--stack", "prod", "--json")
    result = json.loads(out)
    assert status == 0
    assert result["costPerHour"] == 547.38
    assert (result["floorCostPerHour"], result["maxCostPerHour"]) == (45.69, 756.44)
    assert result["prices"] == {"source": "aws", "region": "us-east-1", "asOf": "2026-08-26"}
    assert [(t["tier"], t["instancesAtExpected"], t["gpus"], t["minInstances"],
             t["maxInstances"]) for t in result["tiers"]] == [
        ("orchestrator", 7, 7, 2, 11), ("mid-tier", 11, 88, 1, 15), ("lightweight", 88, 88, 2, 120)
    ]  # fmt: skip
    assert [(t["tier"], t["bound"]) for t in result["tiers"]] == [
        ("orchestrator", "latency"),
        ("mid-tier", "compute"),
        ("lightweight", "memory"),
    ]
    types = [r["type"] for r in result["resources"]]
    assert types.count("aws:lb/loadBalancer:LoadBalancer") == 1
    assert types.count("aws:budgets/budget:Budget") == 1


def test_report(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = plan(capsys, "--stack", "prod")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "stack prod (prod, us-east-1, cluster agents-prod)"
    assert "  total" + " " * 68 + "183  547.38" in lines
    assert ("  fleet: $547.38/h for 10,000 concurrent interactions (the instances the "
            "autoscaler holds for them), $0.054738 per interaction-hour") in lines  # fmt: skip
    assert ("  floor (overnight): $45.69/h; every tier at its ceiling: $756.44/h; budget: "
            "$800.00/h") in lines  # fmt: skip
    assert (
        "  prices: AWS's price list as of 2026-08-26, us-east-1; a tier's own prices win" in lines
    )
    assert "serving physics (one replica at its planned batch; docs/serving-physics.md):" in lines
    assert any(line.startswith("resources: ") for line in lines)
    assert "mandatory findings: none" in lines


def test_broken_stack_exits_1_with_the_findings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = stack_values("prod")
    orchestrator = values["agentfleet:fleet"]["tiers"]["orchestrator"]
    orchestrator.update(maxNumSeqs=500, minInstances=1)
    status, out, _ = plan(capsys, "--config", str(write_stack(tmp_path, values)), "--json")
    assert status == 1
    findings = json.loads(out)["findings"]
    assert sorted({(f["policy"], f["enforcement"]) for f in findings}) == [
        ("min-two-gpu-instances", "mandatory"),
        ("vllm-max-num-seqs-ratio", "mandatory"),
    ]
    text_status, text, _ = plan(capsys, "--config", str(write_stack(tmp_path, values)))
    assert text_status == 1
    assert "mandatory findings: 3" in text
    assert ("  [vllm-max-num-seqs-ratio] orchestrator-deployment: --max-num-seqs 500 is 5.49x "
            "the 91 sessions per replica; want 1.5-2x (136.5-182). Set maxNumSeqs inside that "
            "band.") in text.splitlines()  # fmt: skip


def test_advisory_findings_do_not_fail(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["lightweight"]["gpu"] = "h100-pcie"
    status, out, _ = plan(capsys, "--config", str(write_stack(tmp_path, values)), "--json")
    assert status == 0
    assert [(f["policy"], f["enforcement"]) for f in json.loads(out)["findings"]] == [
        ("gpu-tier-matches-latency-class", "advisory")
    ]


def test_policy_config_changes_the_exit_status(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"].pop("budgetPerHourUsd")
    stack = str(write_stack(tmp_path, values))
    assert plan(capsys, "--config", stack)[0] == 1
    relaxed = tmp_path / "policy-config.json"
    relaxed.write_text(
        json.dumps({"cost-budget-alerts": "advisory", "images-pinned-by-digest": "disabled"})
    )
    status, out, _ = plan(capsys, "--config", stack, "--policy-config", str(relaxed), "--json")
    assert status == 0
    assert [(f["policy"], f["enforcement"]) for f in json.loads(out)["findings"]] == [
        ("cost-budget-alerts", "advisory")
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('{"no-such-policy": "advisory"}', "no-such-policy: no such policy in the pack"),
        ('{"sqs-encryption": "loud"}', "sqs-encryption: unknown enforcement level 'loud'"),
    ],
)
def test_bad_policy_config_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "policy-config.json"
    path.write_text(content)
    status, out, err = plan(capsys, "--stack", "dev", "--policy-config", str(path))
    assert (status, out) == (2, "")
    assert reason in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f["tiers"]["orchestrator"].update(mig={"7g.80gb": 1, "1g.10gb": 1}),
         "agentfleet:fleet.tiers.orchestrator.mig: {7g.80gb: 1, 1g.10gb: 1} needs 8 compute "
         "slices; h100-pcie has 7"),
        (lambda f: f["tiers"]["orchestrator"].update(minInstances=9, maxInstances=3),
         "agentfleet:fleet.tiers.orchestrator.minInstances: minInstances (9) is above "
         "maxInstances (3)"),
        (lambda f: f["tiers"]["lightweight"].update(gpu="b200"),
         "agentfleet:fleet.tiers.lightweight.gpu: unknown GPU 'b200'; known: l40s, a100-80gb, "
         "h100-pcie, h100-sxm"),
    ],
)  # fmt: skip
def test_invalid_config_exits_2_and_declares_nothing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Any,
    message: str,
) -> None:
    def must_not_run(*_: object, **__: object) -> None:
        raise AssertionError("the program ran on an invalid stack")

    monkeypatch.setattr(preview_module, "run_program", must_not_run)
    values = stack_values("prod")
    change(values["agentfleet:fleet"])
    status, out, err = plan(capsys, "--config", str(write_stack(tmp_path, values)))
    assert (status, out) == (2, "")
    assert err == f"agentfleet: invalid configuration\n{message}\n"


def test_render_writes_valid_manifests(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "rendered"
    values = stack_values("staging")
    values["agentfleet:hfToken"] = {"secure": "v1:abc"}
    stack = write_stack(tmp_path, values)
    runtime_config.set_all_config({})
    status, out, _ = plan(capsys, "--config", str(stack), "--render", str(target))
    assert status == 0
    files = sorted(target.rglob("*.yaml"))
    assert out.startswith(f"wrote {len(files)} Kubernetes objects under {target}")
    names = {str(path.relative_to(target)) for path in files}
    assert {"orchestrator/deployment-orchestrator-vllm.yaml",
            "orchestrator/targetgroupbinding-orchestrator-vllm.yaml",
            "mid-tier/scaledobject-mid-tier-queue-depth.yaml",
            "fleet/namespace-agentfleet.yaml",
            "fleet/configmap-agentfleet-mig-parted-config.yaml",
            "fleet/prometheusrule-agentfleet-inference.yaml"} <= names  # fmt: skip
    for path in files:
        body = yaml.safe_load(path.read_text())
        validate_object(body)
    secrets = [yaml.safe_load(p.read_text()) for p in files if p.name.startswith("secret-")]
    assert secrets
    assert all(set(s["stringData"].values()) == {"[secret]"} for s in secrets)  # never on disk
    assert {key for s in secrets for key in s["stringData"]} == {"token", "api-key"}


def test_command_as_a_process(tmp_path: Path) -> None:
    """The installed command: real exit statuses, no traceback on bad input."""
    script = Path(sys.executable).parent / "agentfleet"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "infra.cli"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ok = subprocess.run([*command, "plan", "--stack", "dev"], capture_output=True, text=True,
                        cwd=REPO, env=env, check=False, timeout=300)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "mandatory findings: none" in ok.stdout
    bad = subprocess.run([*command, "plan", "--stack", "nope"], capture_output=True, text=True,
                         cwd=REPO, env=env, check=False, timeout=300)  # fmt: skip
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "--stack: no stack file" in bad.stderr


def test_a_stack_with_every_add_on_off_plans_clean(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = stack_values("prod")
    values["agentfleet:addons"] = {
        addon: {"enabled": False}
        for addon in ("gpuOperator", "keda", "loadBalancerController", "clusterAutoscaler",
                      "prometheus")
    }  # fmt: skip
    status, out, _ = plan(capsys, "--config", str(write_stack(tmp_path, values)), "--json")
    result = json.loads(out)
    assert (status, result["findings"]) == (0, [])
    assert not [r for r in result["resources"] if r["type"] == "kubernetes:helm.sh/v3:Release"]


def test_a_new_cluster_open_to_the_internet_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = stack_values("sandbox")
    values["agentfleet:cluster"]["publicAccessCidrs"] = ["0.0.0.0/0"]
    status, out, _ = plan(capsys, "--config", str(write_stack(tmp_path, values)), "--json")
    assert status == 1
    (finding,) = json.loads(out)["findings"]
    assert (finding["policy"], finding["enforcement"]) == ("eks-private-endpoint", "mandatory")
    assert finding["resource"].endswith("aws:eks/cluster:Cluster::cluster-cluster")


def test_a_cluster_without_secrets_encryption_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a program that declares its cluster by hand without a KMS key would."""
    real = pulumi_aws.eks.Cluster

    def unencrypted(*args: Any, encryption_config: Any = None, **kwargs: Any) -> Any:
        return real(*args, **kwargs)

    monkeypatch.setattr(pulumi_aws.eks, "Cluster", unencrypted)
    status, out, _ = plan(capsys, "--stack", "sandbox", "--json")
    assert status == 1
    (finding,) = json.loads(out)["findings"]
    assert (finding["policy"], finding["enforcement"]) == ("eks-secrets-encryption", "mandatory")
    assert finding["message"].startswith("Kubernetes secrets are not envelope-encrypted")


def test_json_carries_steps_in_the_shape_of_pulumi_preview(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """docs/commands.md: `steps` as `pulumi preview --json` prints them (op, urn, provider,
    newState with type, urn, custom, parent and inputs), secrets as "[secret]", and
    `changeSummary`; the older `resources` list stays."""
    values = stack_values("prod")
    values["agentfleet:hfToken"] = {"secure": "v1:abc"}
    runtime_config.set_all_config({})
    status, out, _ = plan(capsys, "--config", str(write_stack(tmp_path, values)), "--json")
    assert status == 0
    result = json.loads(out)
    steps = result["steps"]
    assert result["changeSummary"] == {"create": len(steps)}
    assert len(steps) == len(result["resources"]) > 100
    urns = {step["urn"] for step in steps}
    stack_urn = "urn:pulumi:variant::agentfleet::pulumi:pulumi:Stack::agentfleet-variant"
    for step in steps:
        assert set(step) <= {"op", "urn", "provider", "newState"}
        assert step["op"] == "create"
        state = step["newState"]
        assert set(state) == {"type", "urn", "custom", "parent", "inputs"}
        assert state["urn"] == step["urn"]
        # The engine's URNs: the parent's whole type chain, none for the stack's children.
        stack, project, chain, _ = step["urn"].removeprefix("urn:pulumi:").split("::")
        assert (stack, project) == ("variant", "agentfleet")
        assert chain.split("$")[-1] == state["type"]
        assert not chain.startswith("pulumi:pulumi:Stack")
        if state["parent"] == stack_urn:
            assert "$" not in chain
        else:
            parent_chain = state["parent"].split("::")[2]
            assert state["parent"] in urns
            assert chain == f"{parent_chain}${state['type']}"
        if "provider" in step:
            provider_urn, provider_id = step["provider"].rsplit("::", 1)
            assert provider_urn in urns
            assert provider_id
    # Custom resources of the cloud carry the explicit providers the program declares.
    node_group = next(s for s in steps if s["newState"]["type"] == "aws:eks/nodeGroup:NodeGroup")
    assert "pulumi:providers:aws::aws" in node_group["provider"]
    deployment = next(s for s in steps if s["newState"]["type"] == "kubernetes:apps/v1:Deployment")
    assert "pulumi:providers:kubernetes::cluster" in deployment["provider"]
    assert deployment["newState"]["inputs"]["metadata"]["namespace"] == "agentfleet"
    # The Hugging Face token and the API keys are secret inputs (the whole stringData, as
    # the SDK sends it): shown as "[secret]", never their values.
    secrets = [s for s in steps if s["newState"]["type"] == "kubernetes:core/v1:Secret"]
    assert len(secrets) == 7  # a token per tier's replicas and the mirror's; a key per tier
    assert {json.dumps(s["newState"]["inputs"]["stringData"]) for s in secrets} == {'"[secret]"'}
    assert "v1:abc" not in out


def _orchestrator(**keys: Any) -> dict[str, Any]:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"].update(keys)
    return values


@pytest.mark.parametrize(
    ("values", "found"),
    [
        (
            _orchestrator(
                spotPricePerGpuHour=1.9,
                burst={"capacity": "spot", "maxInstances": 6, "acceptInterruptions": True},
            ),
            [],
        ),
        (
            _orchestrator(spotPricePerGpuHour=1.9, burst={"capacity": "spot", "maxInstances": 6}),
            [("spot-only-interruptible", "orchestrator-burst-nodes")],
        ),
        (
            _orchestrator(
                mig={"2g.20gb": 1, "1g.10gb": 1},
                migModels={"1g.10gb": "BAAI/bge-large-en-v1.5"},
                serviceSeconds=10,  # a 7B model in a 2g.20gb slice: 8.1 s for 350 tokens
            ),
            [],
        ),
        (
            _orchestrator(model="acme/private-model"),
            [("model-shape-known", "orchestrator-deployment")],
        ),
    ],
    ids=["burst-accepted", "burst-unaccepted", "co-resident", "unknown-model"],
)
def test_new_tier_shapes_through_the_served_pack(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    values: dict[str, Any],
    found: list[tuple[str, str]],
) -> None:
    """A spot burst, co-resident MIG models and an unknown model, planned end to end: the
    pack reports exactly what the checklist says of them, and nothing else."""
    status, out, _ = plan(capsys, "--config", str(write_stack(tmp_path, values)), "--json")
    result = json.loads(out)
    reported = [(f["policy"], f["resource"].rsplit("::", 1)[-1]) for f in result["findings"]]
    assert reported == found
    mandatory = any(f["enforcement"] == "mandatory" for f in result["findings"])
    assert status == (1 if mandatory else 0)


def test_plan_simulate_adds_a_day_of_the_stacks_own_scaling(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = plan(capsys, "--stack", "dev", "--simulate", "--json")
    assert status == 0
    simulation = json.loads(out)["simulation"]
    assert simulation["seconds"] == 86_400
    assert list(simulation["strategies"]) == ["queue-depth"]
    (tier,) = simulation["strategies"]["queue-depth"]["tiers"]
    assert tier["tier"] == "assistant"
    assert 0 <= tier["slaAttainment"] <= 1
    status, out, _ = plan(capsys, "--stack", "dev", "--simulate")
    assert out.splitlines()[-1].startswith("  assistant: SLA met ")


def test_prod_under_karpenter_plans_clean_through_the_served_pack(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = with_karpenter(stack_values("prod"))
    status, out, err = plan(capsys, "--config", str(write_stack(tmp_path, values)), "--json")
    result = json.loads(out)
    assert (status, err, result["findings"]) == (0, "", [])
    declared = [r["type"] for r in result["resources"]]
    assert declared.count(NODE_POOL) == declared.count(EC2_NODE_CLASS) == 3
    assert NODE_GROUP not in declared
    # The plan's cost does not depend on who provisions the nodes.
    status, out, _ = plan(capsys, "--stack", "prod", "--json")
    assert result["costPerHour"] == json.loads(out)["costPerHour"]


def test_a_user_facing_node_pool_allowing_spot_is_found(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = with_karpenter(stack_values("prod"))
    orchestrator = values["agentfleet:fleet"]["tiers"]["orchestrator"]
    orchestrator.update(capacity="spot", spotPricePerGpuHour=2.5)
    status, out, _ = plan(capsys, "--config", str(write_stack(tmp_path, values)), "--json")
    found = [
        (f["policy"], f["resource"].rsplit("::", 1)[1]) for f in json.loads(out)["findings"]
        if f["enforcement"] == "mandatory"
    ]  # fmt: skip
    assert status == 1
    assert found == [("spot-only-interruptible", "orchestrator-node-pool")]


def test_a_mig_tier_under_karpenter_exits_2_and_declares_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_run(*_: object, **__: object) -> None:
        raise AssertionError("the program ran on an invalid stack")

    monkeypatch.setattr(preview_module, "run_program", must_not_run)
    values = with_karpenter(stack_values("staging"))
    status, out, err = plan(capsys, "--config", str(write_stack(tmp_path, values)))
    assert (status, out) == (2, "")
    assert "agentfleet:fleet.tiers.mid-tier.mig: Karpenter cannot provision MIG nodes" in err
