"""One metadata table drives the pack and POLICIES.md; they never drift."""

from __future__ import annotations

from pathlib import Path

from policies.metadata import POLICIES

from policies import docs
from policies.pack import all_policies

REPO = Path(__file__).resolve().parent.parent.parent


def test_policies_md_is_generated_from_the_table() -> None:
    assert (REPO / "POLICIES.md").read_text() == docs.render(), "run: python -m policies.docs"


def test_the_pack_is_the_table() -> None:
    policies = all_policies()
    assert len(policies) == 25
    for policy in policies:
        meta = POLICIES[policy.name]
        assert policy.description == meta.description
        assert policy.remediation_steps == meta.remediation
        assert policy.enforcement_level is not None
        assert policy.enforcement_level.value == meta.enforcement


def test_one_module_per_policy() -> None:
    modules = {p.stem for p in (REPO / "policies").glob("*.py")}
    for name in POLICIES:
        assert name.replace("-", "_") in modules, name


def test_every_setting_has_a_default_and_a_reason() -> None:
    for meta in POLICIES.values():
        for key, setting in meta.settings.items():
            assert setting.default is not None, (meta.name, key)
            assert setting.description, (meta.name, key)
            assert meta.schema()[key]["default"] == setting.default


def test_shipped_policy_config_applies() -> None:
    import json

    from infra.offline.policy_client import pack_config

    overrides = json.loads((REPO / "stacks" / "policy-config.dev.json").read_text())
    infos = [
        type("Info", (), {"name": name, "enforcement": meta.enforcement})()
        for name, meta in POLICIES.items()
    ]
    config = pack_config(infos, overrides)
    assert config["lb-health-check-interval"] == {
        "enforcementLevel": "mandatory",
        "maxIntervalSeconds": 30,
    }
    assert config["background-tiers-use-spot"] == {"enforcementLevel": "disabled"}


def test_pack_requirements_match_pyproject() -> None:
    import tomllib

    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    needed = [
        line
        for line in (REPO / "policies" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert needed == [pin for pin in pins if pin.split(">=")[0] in ("pulumi", "pulumi-policy")]
