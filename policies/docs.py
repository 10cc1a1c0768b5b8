"""POLICIES.md, generated from the policy modules' metadata: ``python -m policies.docs``."""

from __future__ import annotations

import json
from pathlib import Path

from policies.pack import PACK, metadata

DOC = Path(__file__).resolve().parent.parent / "POLICIES.md"


def render() -> str:
    lines = [
        f"# Policy pack `{PACK}`",
        "",
        "Generated from the modules of `policies/rules/` by `python -m policies.docs`; a test",
        "fails when they drift. Each policy checks one item of the production checklist",
        "(SPEC.md §2) on the resources agentfleet's components emit and on equivalent",
        "resources a stack declares by hand. Set a policy's enforcement or thresholds per stack",
        "with a policy-pack config file (`pulumi preview --policy-pack policies",
        "--policy-pack-config FILE`).",
        "",
        "| policy | item | kind | enforcement | severity | checks |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for meta in metadata().values():
        lines.append(
            f"| [`{meta.name}`](#{meta.name}) | {meta.item} | {meta.kind} | {meta.enforcement} "
            f"| {meta.severity} | {meta.description} |"
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
                    f"{setting.description} |"
                )
    return "\n".join(lines) + "\n"


def main() -> None:
    DOC.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
