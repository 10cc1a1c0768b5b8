"""The pack served exactly as the Pulumi CLI serves it (`python -m pulumi.policy
<engine-address> .` in the pack's folder, driven over gRPC): the policy list and
enforcement levels, a configured override, end to end over the shipped stacks and one
realistic broken stack per mandatory policy, and a policy added as one new module."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE

from facts.resource_types import QUEUE
from infra.offline.mocks import Registration, run_program
from infra.offline.policy_client import Finding, PolicyConfigError, PolicyPackServer, pack_config
from policies.pack import PACK, Rule, discover
from tests.helpers import REPO, STACKS, stack_values
from tests.policies.support import hand_declared, props, stack_resources
from tests.policies.test_pack import CONTRACT, rule_tests

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyPackServer]:
    with PolicyPackServer(stack="test") as server:
        yield server


def analyze(
    pack: PolicyPackServer,
    registrations: list[Registration],
    overrides: Any = None,
    *,
    images_by_tag: bool = False,
) -> list[Finding]:
    """The pack's findings; the shipped stacks give images by tag, and the advisory that
    says so is left out unless asked for (each test looks at one breach)."""
    _, infos = pack.info()
    quiet = {} if images_by_tag else {"images-pinned-by-digest": "disabled"}
    pack.configure(pack_config(infos, {**quiet, **(overrides or {})}))
    return pack.analyze(registrations) + pack.analyze_stack(registrations)


def mandatory(findings: list[Finding]) -> set[str]:
    return {f.policy for f in findings if f.enforcement == "mandatory"}


def test_policy_list_and_enforcement(pack: PolicyPackServer) -> None:
    name, infos = pack.info()
    assert name == PACK == "agentfleet-production"
    served = {info.name: info.enforcement for info in infos}
    assert {name: served[name] for name in CONTRACT} == CONTRACT
    assert [info.name for info in infos] == [rule.meta.name for rule in discover()]
    assert {info.name: info.kind for info in infos} == {
        r.meta.name: r.meta.kind for r in discover()
    }
    schema = {info.name: info.config_schema for info in infos}["lb-health-check-interval"]
    assert schema["maxIntervalSeconds"]["default"] == 15
    assert schema["minIntervalSeconds"]["default"] == 10


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_have_no_finding(pack: PolicyPackServer, stack: str) -> None:
    """None but the advisory that their images are given by tag (they name no digest:
    docs/security.md says how to find one)."""
    findings = analyze(pack, stack_resources(stack), images_by_tag=True)
    assert findings
    assert {(f.policy, f.enforcement) for f in findings} == {
        ("images-pinned-by-digest", "advisory")
    }
    assert all(f.resource.endswith("-deployment") for f in findings)


def slow_health_check() -> list[Registration]:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["loadBalancer"][
        "healthCheckIntervalSeconds"
    ] = 30
    registrations, _ = run_program(values, stack="prod")
    return registrations


def test_config_override_changes_a_threshold(pack: PolicyPackServer) -> None:
    registrations = slow_health_check()
    (finding,) = analyze(pack, registrations)
    assert finding.policy == "lb-health-check-interval"
    assert finding.enforcement == "mandatory"
    assert finding.message.startswith("health check every 30 s; want 10-15 s.")
    assert finding.resource.endswith("::orchestrator-tg")
    relaxed = {"lb-health-check-interval": {"maxIntervalSeconds": 30}}
    assert analyze(pack, registrations, relaxed) == []


def test_config_override_changes_enforcement(pack: PolicyPackServer) -> None:
    (finding,) = analyze(pack, slow_health_check(), {"lb-health-check-interval": "advisory"})
    assert finding.enforcement == "advisory"
    assert analyze(pack, slow_health_check(), {"lb-health-check-interval": "disabled"}) == []
    everything = analyze(pack, slow_health_check(), {"all": "advisory"})
    assert [f.enforcement for f in everything] == ["advisory"]


def test_unknown_values_do_not_break_the_pack(pack: PolicyPackServer) -> None:
    tg = props("orchestrator-tg")
    tg["healthCheck"]["interval"] = UNKNOWN_NUMBER_VALUE
    unknown = hand_declared("aws:lb/targetGroup:TargetGroup", "preview-tg", tg)
    assert analyze(pack, [unknown]) == []


def test_remediate_answers_as_the_engine_asks_it(pack: PolicyPackServer) -> None:
    """Under `pulumi up` the engine calls Remediate on every resource; the pack has no
    remediations, so each call answers with none (and never fails)."""
    from pulumi.runtime.proto import analyzer_pb2

    from infra.offline.policy_client import _struct

    for registration in stack_resources("dev"):
        request = analyzer_pb2.AnalyzeRequest(
            type=registration.type,
            properties=_struct(registration.inputs),
            urn=registration.urn,
            name=registration.name,
        )
        assert list(pack.stub.Remediate(request).remediations) == []


def test_policy_config_errors() -> None:
    infos = [type("Info", (), {"name": "sqs-encryption", "enforcement": "mandatory"})()]
    with pytest.raises(PolicyConfigError, match="no-such-policy: no such policy in the pack"):
        pack_config(infos, {"no-such-policy": "advisory"})
    with pytest.raises(PolicyConfigError, match="unknown enforcement level 'loud'"):
        pack_config(infos, {"sqs-encryption": "loud"})


# --- one realistic broken stack per mandatory policy, from its test module ---------------

MANDATORY = [rule for rule in discover() if rule.meta.enforcement == "mandatory"]


@pytest.mark.parametrize("rule", MANDATORY, ids=lambda rule: rule.meta.name)
def test_broken_stack_gives_exactly_that_finding(pack: PolicyPackServer, rule: Rule) -> None:
    broken = rule_tests(rule).broken_stack
    findings = analyze(pack, broken())
    assert mandatory(findings) == {rule.meta.name}
    assert len([f for f in findings if f.policy == rule.meta.name]) >= 1
    assert all("sk-live" not in f.message for f in findings)


NEW_POLICY = '''
"""A made-up policy, added the way the docs say: one module in policies/rules/."""

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.resource_types import QUEUE
from policies.building import PolicyMeta, Report, policy

META = PolicyMeta(
    name="queue-names-prefixed",
    item="security",
    severity="low",
    enforcement="advisory",
    kind="resource",
    description="Queue names start with agents-.",
    remediation="Rename the queue.",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != QUEUE:
        args.not_applicable("not a queue")
    if not str(args.props.get("name") or "").startswith("agents-"):
        report("queue name does not start with agents-")


POLICY = policy(META, check)
'''


def test_a_policy_added_as_one_module_is_served_and_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of the pack plus one new module: the served pack lists it in its place and
    applies it, and the policy reference rendered again has it; nothing else was edited."""
    pack = tmp_path / "policies"
    shutil.copytree(REPO / "policies", pack, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    (pack / "rules" / "queue_names_prefixed.py").write_text(NEW_POLICY)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the copy before the installed pack
    # The copy of the pack first, then the checkout's generators (not installed).
    rendered = subprocess.run(
        [sys.executable, "-c", "from tools.policy_reference import render; print(render())"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"},
    ).stdout  # fmt: skip
    assert "\n## queue-names-prefixed\n" in rendered
    with PolicyPackServer(pack_dir=pack, stack="test") as server:
        _, infos = server.info()
        names = [info.name for info in infos]
        new = "queue-names-prefixed"
        assert [name for name in names if name != new] == [r.meta.name for r in discover()]
        # In checklist order: a security rule, by name, between these two.
        assert names.index(new) == names.index("pod-security-restricted") + 1
        assert names.index(new) == names.index("replica-meets-targets") - 1
        server.configure(pack_config(infos))
        queue = hand_declared(QUEUE, "jobs", {"name": "jobs", "sqsManagedSseEnabled": True})
        found = {(f.policy, f.message) for f in server.analyze([queue])}
    assert ("queue-names-prefixed", "queue name does not start with agents-") in found
