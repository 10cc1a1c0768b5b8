"""The policy reference page (``docs/reference/policies.md``): every policy of the pack with
its checklist item, enforcement, severity, remediation, stack keys and config, from the
metadata beside each check in ``policies/rules/``. ``python -m tools.policy_reference``
writes it."""

from __future__ import annotations

import json

from policies.pack import PACK, metadata
from tools.markdown import REFERENCE, cell, generated_by

PAGE = REFERENCE / "policies.md"


def render() -> str:
    lines = [
        f"# Policy reference: `{PACK}`",
        "",
        generated_by("tools.policy_reference", "the modules of `policies/rules/`"),
        "",
        "Each policy checks one item of the "
        "[production checklist](../policies.md#the-production-checklist) on the resources "
        "agentfleet's components emit and on equivalent resources a stack declares by hand. "
        "Set a policy's enforcement or thresholds per stack with a policy-pack config file "
        "([Configuring the pack](../policies.md#configuring-the-pack)).",
        "",
        "| policy | item | kind | enforcement | severity | checks |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for meta in metadata().values():
        lines.append(
            f"| [`{meta.name}`](#{meta.name}) | {meta.item} | {meta.kind} | {meta.enforcement} "
            f"| {meta.severity} | {cell(meta.description)} |"
        )
    for meta in metadata().values():
        lines += [
            "",
            f"## {meta.name}",
            "",
            f"{meta.item} · {meta.kind} policy · default enforcement **{meta.enforcement}** · "
            f"severity {meta.severity}",
            "",
            meta.description,
            "",
            f"Remediation: {meta.remediation}",
        ]
        if meta.keys:
            lines += ["", "Stack keys: " + ", ".join(f"`{key}`" for key in meta.keys)]
        if meta.settings:
            lines += ["", "| config | type | default | tunes |", "| --- | --- | --- | --- |"]
            for key, setting in meta.settings.items():
                lines.append(
                    f"| `{key}` | {setting.type} | `{json.dumps(setting.default)}` | "
                    f"{cell(setting.description)} |"
                )
    return "\n".join(lines) + "\n"


def main() -> None:
    PAGE.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
