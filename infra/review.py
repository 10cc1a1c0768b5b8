"""What a pull request's reviewer reads of a plan: the findings as SARIF 2.1.0 (code-scanning
annotations on the stack file's lines), and the change against the target branch's stack
file (cost, resources, findings) as JSON, text and Markdown.

- ``sarif``: one rule per policy from the pack's own metadata (GetAnalyzerInfo), one result
  per finding, located at the line of the first stack key behind it that the file sets
  (``PolicyInfo.keys``), else the tier's key, else the fleet's;
- ``compare``: two previews of the same stack name, resource by URN, finding by policy and
  resource;
- ``baseline_json``, ``baseline_text``, ``summary_markdown``: that comparison printed.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from facts import __version__
from infra.offline.mocks import Registration
from infra.offline.policy_client import Finding, PolicyInfo
from infra.offline.preview import Preview
from infra.report import finding_json, state, step, usd
from infra.summary import money

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"mandatory": "error", "remediate": "error", "advisory": "warning", "disabled": "none"}
TIER_KEY = "agentfleet:fleet.tiers.<tier>"
FLEET_KEY = "agentfleet:fleet"


def finding_key(
    finding: Finding, policy: PolicyInfo | None, tier: str | None, lines: Mapping[str, int]
) -> tuple[str, int]:
    """The stack key a finding is pointed at and its line: the first of the policy's keys
    the file sets, else the tier's own key, else the fleet's, else the file's first line.
    ``lines`` holds the line of each key path (``config.<key>``), as the loader reads them."""
    wanted = [*(policy.keys if policy else ()), TIER_KEY, FLEET_KEY]
    for pattern in wanted:
        if "<tier>" in pattern and tier is None:
            continue
        key = pattern.replace("<tier>", tier or "")
        line = lines.get(f"config.{key}")
        if line is not None:
            return key, line
    return "", 1


def _tier(result: Preview, urn: str) -> str | None:
    """The tier of the resource at fault; None for the stack or a fleet-wide resource."""
    tier = result.tier_at(urn) if urn else "fleet"
    return None if tier == "fleet" else tier


def _uri(path: Path) -> str:
    """The stack file as code scanning locates it: relative to where the plan runs (the
    checkout's root in CI), else an absolute file URI."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def sarif(result: Preview, path: Path, lines: Mapping[str, int]) -> dict[str, Any]:
    """The plan's findings as a SARIF 2.1.0 log."""
    policies = {info.name: info for info in result.policies}
    names = list(policies)
    rules = [_rule(info) for info in result.policies]
    uri = _uri(path)
    results = []
    for finding in result.findings:
        policy = policies.get(finding.policy)
        tier = _tier(result, finding.resource)
        key, line = finding_key(finding, policy, tier, lines)
        located: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": uri, "index": 0},
                "region": {"startLine": line},
            }
        }
        if finding.resource:
            located["logicalLocations"] = [
                {"fullyQualifiedName": finding.resource, "kind": "resource"}
            ]
        entry: dict[str, Any] = {
            "ruleId": finding.policy,
            "level": LEVELS.get(finding.enforcement, "warning"),
            "message": {"text": finding.message + (f" (stack key: {key})" if key else "")},
            "locations": [located],
            "partialFingerprints": {
                "agentfleetFinding/v1": hashlib.sha256(
                    f"{finding.policy}|{finding.resource}".encode()
                ).hexdigest()
            },
        }
        if finding.policy in policies:
            entry["ruleIndex"] = names.index(finding.policy)
        results.append(entry)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "agentfleet",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "artifacts": [{"location": {"uri": uri}}],
                "results": results,
                "properties": {"stack": result.stack},
            }
        ],
    }


def _rule(info: PolicyInfo) -> dict[str, Any]:
    item = f"checklist item {info.item}" if info.item else "agentfleet policy"
    return {
        "id": info.name,
        "name": "".join(part.capitalize() for part in info.name.split("-")),
        "shortDescription": {"text": info.description},
        "fullDescription": {"text": f"{info.description} ({item}, {info.kind} policy)"},
        "help": {"text": info.remediation or info.description},
        "defaultConfiguration": {"level": LEVELS.get(info.enforcement, "warning")},
        "properties": {
            "checklistItem": info.item,
            "severity": info.severity,
            "enforcement": info.enforcement,
            "stackKeys": list(info.keys),
            "tags": [tag for tag in ("agentfleet", info.item, info.kind) if tag],
        },
    }


# --- the change against a baseline ------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """This branch's preview against the target branch's, for the same stack name."""

    base: Preview
    head: Preview
    created: list[Registration]
    updated: list[tuple[Registration, Registration]]
    """(baseline, this) pairs whose inputs differ."""
    same: list[Registration]
    deleted: list[Registration]
    new: list[Finding]
    fixed: list[Finding]

    @property
    def cost_delta(self) -> Decimal:
        return self.head.plan.cost_per_hour - self.base.plan.cost_per_hour

    @property
    def floor_cost_delta(self) -> Decimal:
        return self.head.plan.floor_cost_per_hour - self.base.plan.floor_cost_per_hour

    @property
    def max_cost_delta(self) -> Decimal:
        return self.head.plan.max_cost_per_hour - self.base.plan.max_cost_per_hour

    def by_type(self) -> dict[str, Counter[str]]:
        """Custom resources to create, update and delete, per type."""
        counts: dict[str, Counter[str]] = {}
        changes = [
            *(("create", r) for r in self.created),
            *(("update", new) for _, new in self.updated),
            *(("delete", r) for r in self.deleted),
        ]
        for op, registration in changes:
            if registration.custom and not registration.type.startswith("pulumi:providers:"):
                counts.setdefault(registration.type, Counter())[op] += 1
        return counts


def compare(base: Preview, head: Preview) -> Comparison:
    """Resources matched by URN (the two previews must use one stack name), findings by
    policy and resource: a finding whose message changed is neither new nor fixed."""
    before = {r.urn: r for r in base.registrations}
    after = {r.urn for r in head.registrations}
    created, updated, same = [], [], []
    for registration in head.registrations:
        old = before.get(registration.urn)
        if old is None:
            created.append(registration)
        elif old.inputs != registration.inputs:
            updated.append((old, registration))
        else:
            same.append(registration)
    deleted = [r for r in base.registrations if r.urn not in after]
    found_before = {(f.policy, f.resource) for f in base.findings}
    found_after = {(f.policy, f.resource) for f in head.findings}
    return Comparison(
        base=base,
        head=head,
        created=created,
        updated=updated,
        same=same,
        deleted=deleted,
        new=[f for f in head.findings if (f.policy, f.resource) not in found_before],
        fixed=[f for f in base.findings if (f.policy, f.resource) not in found_after],
    )


def compared_steps(comparison: Comparison) -> list[dict[str, Any]]:
    """``pulumi preview --json`` steps against the baseline: create, update (with the
    top-level inputs that differ as ``diffReasons``), same, then delete."""
    found: list[dict[str, Any]] = []
    old_by_urn = {new.urn: old for old, new in comparison.updated}
    ops = {r.urn: "create" for r in comparison.created}
    ops.update({r.urn: "same" for r in comparison.same})
    ops.update(dict.fromkeys(old_by_urn, "update"))
    for registration in comparison.head.registrations:
        planned = step(registration, ops[registration.urn])
        old = old_by_urn.get(registration.urn)
        if old is not None:
            planned["oldState"] = state(old)
            planned["diffReasons"] = sorted(
                key
                for key in {*old.inputs, *registration.inputs}
                if old.inputs.get(key) != registration.inputs.get(key)
            )
        found.append(planned)
    for registration in comparison.deleted:
        found.append({"op": "delete", "urn": registration.urn, "oldState": state(registration)})
    return found


def change_summary(comparison: Comparison) -> dict[str, int]:
    return {
        "create": len(comparison.created),
        "update": len(comparison.updated),
        "same": len(comparison.same),
        "delete": len(comparison.deleted),
    }


def baseline_json(comparison: Comparison) -> dict[str, Any]:
    """The ``baseline`` object of ``plan --json`` (docs/commands.md)."""
    base = comparison.base.plan
    return {
        "costPerHour": money(base.cost_per_hour),
        "floorCostPerHour": money(base.floor_cost_per_hour),
        "maxCostPerHour": money(base.max_cost_per_hour),
        "prices": base.prices.to_json(),
        "delta": {
            "costPerHour": money(comparison.cost_delta),
            "floorCostPerHour": money(comparison.floor_cost_delta),
            "maxCostPerHour": money(comparison.max_cost_delta),
            "resources": {
                "create": len(comparison.created),
                "update": len(comparison.updated),
                "delete": len(comparison.deleted),
            },
        },
        "findings": {
            "new": [finding_json(f) for f in comparison.new],
            "fixed": [finding_json(f) for f in comparison.fixed],
        },
    }


def _signed(amount: Decimal) -> str:
    sign = "+" if amount > 0 else "-" if amount < 0 else "±"
    return f"{sign}${usd(abs(amount))}"


def baseline_text(comparison: Comparison) -> str:
    head, base = comparison.head.plan, comparison.base.plan
    lines = [
        "against the baseline:",
        f"  cost: ${usd(base.cost_per_hour)}/h -> ${usd(head.cost_per_hour)}/h "
        f"({_signed(comparison.cost_delta)}/h) at the expected load; the floor "
        f"${usd(base.floor_cost_per_hour)}/h -> ${usd(head.floor_cost_per_hour)}/h "
        f"({_signed(comparison.floor_cost_delta)}/h); at the ceilings "
        f"${usd(base.max_cost_per_hour)}/h -> ${usd(head.max_cost_per_hour)}/h "
        f"({_signed(comparison.max_cost_delta)}/h)",
        f"  resources: {len(comparison.created)} to create, {len(comparison.updated)} to "
        f"update, {len(comparison.deleted)} to delete, {len(comparison.same)} unchanged",
        f"  findings: {len(comparison.new)} new, {len(comparison.fixed)} fixed",
    ]
    for prefix, findings in (("new", comparison.new), ("fixed", comparison.fixed)):
        lines += [
            f"    {prefix}: [{f.enforcement}] {f.policy}: {_first_line(f.message)}"
            for f in findings
        ]
    return "\n".join(lines)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


MARKDOWN_MARKS = re.compile(r"([\\`*_{}\[\]()#+!|~])")
"""Characters Markdown gives a meaning: quoted text shows them, backslashed."""


def _cell(text: str) -> str:
    """Text quoted into a Markdown table cell as it is: no link, image, HTML tag or
    emphasis a stack's values (or a finding quoting them) could smuggle into the comment."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MARKDOWN_MARKS.sub(r"\\\1", text).replace("\n", " ")


def _code(text: str) -> str:
    """Text as a code span: it cannot end the span early (no backtick) nor the cell."""
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def summary_markdown(result: Preview, comparison: Comparison | None) -> str:
    """The plan for a pull-request comment or a job summary: cost, resources by type and
    findings, against the baseline when there is one."""
    plan = result.plan
    mandatory = len(result.mandatory)
    verdict = (
        f"**{mandatory} mandatory finding{'s' if mandatory != 1 else ''}: the plan fails**"
        if mandatory
        else "No mandatory finding."
    )
    lines = [f"## agentfleet plan: {_code(result.stack)}", "", verdict, ""]
    if comparison is None:
        lines += [
            "| | $/hour |",
            "| --- | ---: |",
            f"| expected concurrency | ${usd(plan.cost_per_hour)} |",
            f"| floor (overnight) | ${usd(plan.floor_cost_per_hour)} |",
            f"| every tier at its ceiling | ${usd(plan.max_cost_per_hour)} |",
            "",
            f"Prices: {plan.prices.describe()}, {plan.region}.",
            "",
            f"{sum(1 for r in result.registrations if r.custom)} resources to create "
            "(no baseline given).",
        ]
    else:
        base = comparison.base.plan
        lines += [
            "| $/hour | baseline | this change | delta |",
            "| --- | ---: | ---: | ---: |",
            f"| expected concurrency | ${usd(base.cost_per_hour)} | ${usd(plan.cost_per_hour)} "
            f"| {_signed(comparison.cost_delta)} |",
            f"| floor (overnight) | ${usd(base.floor_cost_per_hour)} "
            f"| ${usd(plan.floor_cost_per_hour)} | {_signed(comparison.floor_cost_delta)} |",
            f"| every tier at its ceiling | ${usd(base.max_cost_per_hour)} "
            f"| ${usd(plan.max_cost_per_hour)} | {_signed(comparison.max_cost_delta)} |",
            "",
            f"Prices: {plan.prices.describe()}, {plan.region}.",
            "",
        ]
        counts = comparison.by_type()
        if counts:
            rows = [
                f"| {_code(kind)} | {tally['create']} | {tally['update']} | {tally['delete']} |"
                for kind, tally in sorted(counts.items())
            ]
            lines += [
                "| resource type | create | update | delete |",
                "| --- | ---: | ---: | ---: |",
                *rows,
            ]
        else:
            lines.append("No resource changes.")
        lines += ["", *_findings_markdown("New findings", comparison.new)]
        lines += ["", *_findings_markdown("Fixed findings", comparison.fixed)]
    lines += ["", *_findings_markdown("All findings", result.findings)]
    return "\n".join(lines) + "\n"


def _findings_markdown(title: str, findings: Sequence[Finding]) -> list[str]:
    if not findings:
        return [f"**{title}:** none."]
    rows = [
        f"| {_cell(f.enforcement)} | {_code(f.policy)} "
        f"| {_code(f.resource.rsplit('::', 1)[-1] or 'stack')} | {_cell(_first_line(f.message))} |"
        for f in findings
    ]
    return [f"**{title}:**", "", "| enforcement | policy | resource | message |",
            "| --- | --- | --- | --- |", *rows]  # fmt: skip


__all__ = [
    "Comparison",
    "baseline_json",
    "baseline_text",
    "change_summary",
    "compare",
    "compared_steps",
    "finding_key",
    "sarif",
    "summary_markdown",
]
