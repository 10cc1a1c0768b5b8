"""The offline preview behind `agentfleet plan`: the real program under Pulumi's mocks,
then the policy pack over what it declared, through the analyzer protocol the Pulumi CLI
uses. No cloud account, no Pulumi CLI."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.tier import TYPE as TIER_TYPE
from infra.config import parse_stack_config
from infra.offline.manifests import is_kubernetes_object, manifest
from infra.offline.mocks import Registration, run_program
from infra.offline.policy_client import Finding, PolicyInfo, PolicyPackServer, StreamingAnalysis
from infra.plan import FleetPlan, plan_fleet


@dataclass(frozen=True)
class Preview:
    stack: str
    plan: FleetPlan
    registrations: list[Registration]
    outputs: dict[str, Any]
    findings: list[Finding]
    policies: list[PolicyInfo] = field(default_factory=list)
    """The pack's policies as configured for this preview (rules of the SARIF log)."""

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.enforcement == "mandatory"]

    def tier_of(self, registration: Registration) -> str:
        """The tier a resource was declared in ("fleet" for fleet-wide ones)."""
        return self.tier_at(registration.urn)

    def tier_at(self, urn: str) -> str:
        """The tier of the resource with this URN ("fleet" for fleet-wide ones)."""
        return self._tiers().get(urn, "fleet")

    def _tiers(self) -> dict[str, str]:
        """Each resource's tier by URN, worked out once: parents register before their
        children, so one pass in order finds every tier."""
        found = self.__dict__.get("_tier_by_urn")
        if found is None:
            found = {}
            for r in self.registrations:
                if r.type == TIER_TYPE:
                    found[r.urn] = r.name
                elif r.parent in found:
                    found[r.urn] = found[r.parent]
            object.__setattr__(self, "_tier_by_urn", found)
        return found

    def counts(self) -> dict[str, Counter[str]]:
        """Custom resources per type, per tier."""
        counts: dict[str, Counter[str]] = {}
        for registration in self.registrations:
            if registration.custom and not registration.type.startswith("pulumi:providers:"):
                counts.setdefault(self.tier_of(registration), Counter())[registration.type] += 1
        return counts


def preview(
    stack: str,
    values: Mapping[str, Any],
    policy_overrides: Mapping[str, Any] | None = None,
) -> Preview:
    """Validate the stack (ConfigError before anything is declared), run the program,
    and analyze every resource and the whole stack with the policy pack."""
    plan = plan_fleet(parse_stack_config(values))
    with PolicyPackServer.launched(stack=stack) as pack:  # loads while the program runs
        analysis = StreamingAnalysis(pack, policy_overrides)
        registrations, outputs = run_program(
            values, stack=stack, on_register=analysis.submit, plan=plan
        )
        findings = analysis.findings() + pack.analyze_stack(registrations)
    return Preview(stack, plan, registrations, outputs, findings, analysis.policies)


def render(result: Preview, directory: Path) -> list[Path]:
    """Write every Kubernetes object as YAML, one file per object:
    ``<dir>/<tier>/<kind>-<name>.yaml``; secret values are redacted."""
    written = []
    for registration in result.registrations:
        if not is_kubernetes_object(registration):
            continue
        body = manifest(registration, redact=True)
        name = str(body.get("metadata", {}).get("name") or registration.name)
        path = directory / result.tier_of(registration) / f"{body['kind'].lower()}-{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written
