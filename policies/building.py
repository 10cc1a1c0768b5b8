"""How a policy is made from its module: the metadata every policy module declares beside
its check (``PolicyMeta``), the one builder that turns the two into a pulumi-policy
``Policy``, the guard that turns a policy's own failure into a finding, and config with
the checklist defaults."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError

Kind = Literal["resource", "stack"]
Enforcement = Literal["mandatory", "advisory"]
Level = Literal["low", "medium", "high", "critical"]


@dataclass(frozen=True)
class Setting:
    """One config property of a policy: JSON schema type, default, what it tunes."""

    type: Literal["number", "integer", "string", "array", "boolean"]
    default: Any
    description: str


@dataclass(frozen=True)
class PolicyMeta:
    """What a policy is, beside its check: its public name (users set enforcement by it),
    its checklist item, severity, default enforcement, kind, the text users read, and its
    config schema with the checklist's values as defaults. docs/reference/policies.md is
    made of these."""

    name: str
    item: str
    severity: Level
    enforcement: Enforcement
    kind: Kind
    description: str
    remediation: str
    settings: Mapping[str, Setting] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    """The stack keys whose values make this policy's findings, most specific first, as
    the stack-file reference writes them; ``<tier>`` stands for the tier of the resource at fault.
    `plan --sarif` points a finding at the first of them the stack file sets (the pack
    serves them as tags ``stack-key:<path>``)."""

    def schema(self) -> dict[str, Any]:
        """The policy's config schema (JSON schema properties)."""
        properties: dict[str, Any] = {}
        for key, setting in self.settings.items():
            prop: dict[str, Any] = {
                "type": setting.type,
                "default": setting.default,
                "description": setting.description,
            }
            if setting.type == "array":
                first = setting.default[0]
                prop["items"] = {"type": "string" if isinstance(first, str) else "number"}
            properties[key] = prop
        return properties

    @property
    def order(self) -> tuple[int, int, str]:
        """Where the policy stands in the pack and in docs/reference/policies.md: the
        checklist's order (infrastructure, autoscaling, monitoring, cost, then security),
        then its name."""
        match = re.match(r"([A-Z]+)(\d+)", self.item)
        if match is None:
            return (len(SECTIONS), 0, self.name)
        section = SECTIONS.index(match[1]) if match[1] in SECTIONS else len(SECTIONS)
        return (section, int(match[2]), self.name)


KEY_TAG = "stack-key:"
"""The prefix of a policy's tags that name its stack keys (``PolicyMeta.keys``)."""

SECTIONS = ("C", "A", "M", "K")
"""The checklist's sections in order (docs/policies.md); other items (security) come after."""


class Report(Protocol):
    """How a check reports a violation: a message, and the URN at fault in a stack."""

    def __call__(self, message: str, urn: str | None = None, /) -> None: ...


ResourceCheck = Callable[[ResourceValidationArgs, Report, Mapping[str, Any]], None]
StackCheck = Callable[[StackValidationArgs, Report, Mapping[str, Any]], None]

_ENFORCEMENT = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}
_SEVERITY = {
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}


def settings(meta: PolicyMeta, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The policy's config: what the pack was configured with over the checklist defaults
    (the CLI applies schema defaults; direct calls and older engines may not)."""
    values = {key: setting.default for key, setting in meta.settings.items()}
    values.update({k: v for k, v in (given or {}).items() if k in values and v is not None})
    return values


def guarded(meta: PolicyMeta, check: Callable[..., None]) -> Callable[[Any, ReportViolation], None]:
    """Run a check so that it never kills the pack: unknown values (preview) make it not
    applicable, and any other failure is a finding that names the policy."""

    def run(args: Any, report: ReportViolation) -> None:
        try:
            check(args, report, settings(meta, args.get_config()))
        except _NotApplicableError:
            raise
        except UnknownValueError:
            args.not_applicable("a value it reads is not known until the update (preview)")
        except Exception as error:
            report(
                f"policy {meta.name} could not check this: {type(error).__name__}. "
                "Report it to the agentfleet maintainers; the check did not run.",
                None,
            )

    return run


def policy(meta: PolicyMeta, check: ResourceCheck | StackCheck) -> Policy:
    """The pulumi-policy policy of a module: its metadata and its guarded check. A
    resource policy sees one resource at a time; a stack policy the whole stack."""
    arguments: dict[str, Any] = {
        "name": meta.name,
        "description": meta.description,
        "validate": guarded(meta, check),
        "enforcement_level": _ENFORCEMENT[meta.enforcement],
        "config_schema": PolicyConfigSchema(meta.schema()) if meta.settings else None,
        "severity": _SEVERITY[meta.severity],
        "remediation_steps": meta.remediation,
        "tags": [meta.item, *(f"{KEY_TAG}{key}" for key in meta.keys)],
    }
    if meta.kind == "stack":
        return StackValidationPolicy(**arguments)
    return ResourceValidationPolicy(**arguments)
