"""The pack by convention: every module of policies/rules/ is a policy with its metadata
beside it, found in checklist order; the docs' policy reference is generated from them;
every policy has its test module; and what holds for every policy (not applicable to
other kinds, never a crash on preview's unknown values, a failing check is a finding) is
checked here for all of them, so adding a policy adds nothing to this file."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE

from infra.offline.policy_client import pack_config
from policies import rules
from policies.building import PolicyMeta, guarded
from policies.pack import Rule, discover, metadata
from tests.helpers import REPO
from tests.policies.support import check_resource, check_stack, props, stack_resources
from tools import policy_reference

RULES = {rule.meta.name: rule for rule in discover()}

# The public names and their default enforcement (docs/policies.md, "The production
# checklist"). The pack may grow; it never drops or weakens one of these.
CONTRACT = {
    "gpu-tier-matches-latency-class": "advisory",
    "vllm-max-num-seqs-ratio": "mandatory",
    "mcp-servers-off-gpu": "mandatory",
    "task-queue-per-pool": "mandatory",
    "inference-health-probes": "mandatory",
    "lb-health-check-interval": "mandatory",
    "min-two-gpu-instances": "mandatory",
    "scale-on-queue-depth": "mandatory",
    "scale-out-threshold": "mandatory",
    "scale-in-cooldown": "mandatory",
    "user-facing-floor": "mandatory",
    "spot-only-interruptible": "mandatory",
    "ttft-p95-alert": "mandatory",
    "kv-cache-alert": "mandatory",
    "queue-depth-dashboard": "advisory",
    "cost-tags-by-tier": "mandatory",
    "background-tiers-use-spot": "advisory",
    "cost-budget-alerts": "mandatory",
    "sqs-encryption": "mandatory",
    "sqs-dead-letter-queue": "mandatory",
    "pod-security-restricted": "mandatory",
    "no-plaintext-secrets": "mandatory",
}


def rule_tests(rule: Rule) -> ModuleType:
    """A policy's own test module: tests/policies/rules/test_<module>.py."""
    return importlib.import_module(f"tests.policies.rules.test_{rule.module.rsplit('.', 1)[1]}")


def test_the_policy_reference_is_generated_from_the_modules() -> None:
    page = policy_reference.PAGE.read_text(encoding="utf-8")
    assert page == policy_reference.render(), "run: python -m tools.policy_reference"
    for name in RULES:
        assert f"\n## {name}\n" in page


def test_every_module_is_a_policy_found_in_checklist_order() -> None:
    modules = sorted(
        p.stem for p in Path(rules.__file__).parent.glob("*.py") if p.stem != "__init__"
    )
    assert sorted(rule.module.rsplit(".", 1)[1] for rule in RULES.values()) == modules
    for rule in RULES.values():
        assert rule.module.rsplit(".", 1)[1] == rule.meta.name.replace("-", "_")
        assert rule.policy.name == rule.meta.name
        assert rule.policy.description == rule.meta.description
        assert rule.policy.remediation_steps == rule.meta.remediation
        assert rule.policy.enforcement_level is not None
        assert rule.policy.enforcement_level.value == rule.meta.enforcement
    # The checklist's order: infrastructure, autoscaling, monitoring, cost, then security;
    # by item number within a section, by name among the security rules.
    orders = [rule.meta.order for rule in discover()]
    assert orders == sorted(orders)
    sections = [rule.meta.item[0] if rule.meta.item[0] in "CAMK" else "s" for rule in discover()]
    assert "".join(dict.fromkeys(sections)) == "CAMKs"
    assert discover()[0].meta.name == "gpu-tier-matches-latency-class"


def test_the_contracts_policies_keep_their_names_and_enforcement() -> None:
    assert {name: RULES[name].meta.enforcement for name in CONTRACT} == CONTRACT


def test_every_setting_has_a_default_and_a_reason() -> None:
    for meta in metadata().values():
        for key, setting in meta.settings.items():
            assert setting.default is not None, (meta.name, key)
            assert setting.description, (meta.name, key)
            assert meta.schema()[key]["default"] == setting.default


@pytest.mark.parametrize("name", list(RULES))
def test_every_policy_has_its_test_module(name: str) -> None:
    module = rule_tests(RULES[name])
    assert name == module.NAME
    assert module.CASES, "each policy has compliant and failing cases"
    if RULES[name].meta.kind == "resource":
        assert module.SUBJECT[0].count(":") == 2, "SUBJECT is (resource type, name[, stack])"
    if RULES[name].meta.enforcement == "mandatory":
        assert callable(getattr(module, "broken_stack", None)), "a realistic broken stack"


RESOURCE_POLICIES = [name for name, rule in RULES.items() if rule.meta.kind == "resource"]
STACK_POLICIES = [name for name, rule in RULES.items() if rule.meta.kind == "stack"]


@pytest.mark.parametrize("name", RESOURCE_POLICIES)
def test_a_resource_of_another_kind_is_not_applicable(name: str) -> None:
    assert check_resource(RULES[name].policy, "aws:iam/role:Role", {"name": "r"}) is None


@pytest.mark.parametrize("name", RESOURCE_POLICIES)
def test_unknown_values_make_a_resource_policy_not_applicable(name: str) -> None:
    """During preview every property may be unknown: never a crash, never a finding."""
    type_, resource, *stack = rule_tests(RULES[name]).SUBJECT
    unknown = dict.fromkeys(props(resource, *stack), UNKNOWN_NUMBER_VALUE)
    assert check_resource(RULES[name].policy, type_, unknown) is None


@pytest.mark.parametrize("name", STACK_POLICIES)
@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_stacks_pass_every_stack_policy(name: str, stack: str) -> None:
    # [] (checked, nothing wrong) or None (nothing to check, e.g. no load balancer in dev)
    assert not check_stack(RULES[name].policy, stack_resources(stack))


@pytest.mark.parametrize("name", STACK_POLICIES)
def test_unknown_values_make_a_stack_policy_not_applicable(name: str) -> None:
    registrations = stack_resources("prod")
    for registration in registrations:
        for key in registration.inputs:
            registration.inputs[key] = UNKNOWN_STRING_VALUE
    assert check_stack(RULES[name].policy, registrations) is None


def test_a_failing_policy_is_a_finding_not_a_dead_pack() -> None:
    def broken(*_: object) -> None:
        raise ZeroDivisionError("boom")

    class Args:
        def get_config(self) -> dict[str, Any]:
            return {}

    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    guarded(metadata()["ttft-p95-alert"], broken)(Args(), report)
    assert found == [
        "policy ttft-p95-alert could not check this: ZeroDivisionError. Report it to the "
        "agentfleet maintainers; the check did not run."
    ]


def test_shipped_policy_config_applies() -> None:
    overrides = json.loads((REPO / "stacks" / "policy-config.dev.json").read_text())
    infos = [
        type("Info", (), {"name": name, "enforcement": meta.enforcement})()
        for name, meta in metadata().items()
    ]
    config = pack_config(infos, overrides)
    assert config["lb-health-check-interval"] == {
        "enforcementLevel": "mandatory",
        "maxIntervalSeconds": 30,
    }
    assert config["background-tiers-use-spot"] == {"enforcementLevel": "disabled"}


def test_the_pack_runs_in_the_projects_virtualenv() -> None:
    """Under the CLI the pack runs in .venv, where agentfleet is installed; if the CLI has
    to make that virtualenv, it installs agentfleet there."""
    project = yaml.safe_load((REPO / "policies" / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["options"]["virtualenv"] == "../.venv"
    needed = [
        line
        for line in (REPO / "policies" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert needed == ["-e .."]


@pytest.mark.integration
def test_the_pack_loads_only_facts_and_pulumi_policy() -> None:
    """The pack's import graph: its own modules, ``facts`` and pulumi-policy (which brings
    the pulumi SDK core); never infra, components, the bridge or the cloud SDKs."""
    probe = textwrap.dedent(
        """
        import json, sys
        from policies.pack import all_policies
        all_policies()
        print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd="/"
    )
    loaded = set(json.loads(result.stdout))
    assert {"policies", "facts", "pulumi_policy"} <= loaded
    assert not loaded & {"infra", "components", "bridge", "pulumi_aws", "pulumi_kubernetes"}


def test_policy_metadata_is_frozen() -> None:
    meta = metadata()["sqs-encryption"]
    assert isinstance(meta, PolicyMeta)
    with pytest.raises(AttributeError):
        meta.name = "x"  # type: ignore[misc]


def _schema_has(schema: dict[str, Any], node: dict[str, Any], parts: list[str]) -> bool:
    """Whether the key path ``parts`` exists in the stack config's JSON schema."""
    while "$ref" in node or "anyOf" in node:
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        else:
            node = next((n for n in node["anyOf"] if n.get("type") != "null"), {})
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    if head == "<tier>":
        (tier,) = node["patternProperties"].values()
        return _schema_has(schema, tier, rest)
    properties = node.get("properties", {})
    return head in properties and _schema_has(schema, properties[head], rest)


def test_every_policy_names_the_stack_keys_behind_its_findings() -> None:
    """`plan --sarif` points findings at these keys' lines: each must be a key the stack
    config has (``<tier>`` for the tier at fault)."""
    from infra.config.fleet import StackConfig

    schema = StackConfig.model_json_schema(by_alias=True)
    for rule in discover():
        assert rule.meta.keys, rule.meta.name
        for key in rule.meta.keys:
            assert _schema_has(schema, schema, key.split(".")), (rule.meta.name, key)
