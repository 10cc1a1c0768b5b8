"""The documentation keeps its promises: the README is a page (short, its commands CI's,
its example runs), the docs site has every page in its nav and builds with mkdocs
--strict, every relative link of every document resolves, the figures and tables the
pages state are what the code computes, and no document points outside the repository."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, tool_from_env

DOCS = REPO / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
DOCUMENTS = [REPO / "README.md", REPO / "CHANGELOG.md", *PAGES]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """A heading's anchor, as mkdocs and GitHub make it for the headings used here."""
    plain = heading.replace("`", "").strip().lower()
    plain = re.sub(r"[^\w\- ]", "", plain)
    return re.sub(r"[ ]", "-", plain)


def anchors(path: Path) -> set[str]:
    found, fenced = set(), False
    for line in text(path).splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6} (.+)", line)):
            found.add(slug(match[1]))
    return found


def code_blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text(path), flags=re.S | re.M)


# --- the README ---------------------------------------------------------------------


def test_the_readme_is_a_page() -> None:
    readme = text(REPO / "README.md")
    assert readme.count("\n") <= 250
    headings = re.findall(r"^## (.+)$", readme, flags=re.M)
    assert headings == [
        "Two commands",
        "A five-minute tour",
        "Using the components",
        "Deploying with the Pulumi CLI",
        "Documentation",
    ]


@pytest.mark.parametrize(
    "page", [REPO / "README.md", DOCS / "components.md"], ids=["README", "components"]
)
def test_the_component_example_runs(page: Path) -> None:
    """The page's Python example, run as a user's program under the mocks: it declares a
    node group and a Deployment whose pods fit the node group."""
    from infra.offline.mocks import record

    (code,) = code_blocks(page, "python")
    registrations = record(lambda: exec(code, {}))  # noqa: S102 - the page's own example
    types = Counter(r.type for r in registrations)
    assert types["aws:eks/nodeGroup:NodeGroup"] == 1
    assert types["kubernetes:apps/v1:Deployment"] == 1
    (nodes,) = [r for r in registrations if r.type == "aws:eks/nodeGroup:NodeGroup"]
    (deployment,) = [r for r in registrations if r.type == "kubernetes:apps/v1:Deployment"]
    selector = deployment.inputs["spec"]["template"]["spec"]["nodeSelector"]
    assert selector.items() <= nodes.inputs["labels"].items()


# --- links and the site -------------------------------------------------------------


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(document: Path) -> None:
    for target in LINK.findall(text(document)):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        where = (document.parent / path).resolve() if path else document
        assert where.exists(), f"{document.name}: {target}"
        assert REPO in where.parents, f"{document.name}: {target} is outside the repository"
        if anchor and where.suffix == ".md":
            assert anchor in anchors(where), f"{document.name}: {target}"


def nav_pages(entries: list[object]) -> list[str]:
    found: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        found += nav_pages(value) if isinstance(value, list) else [str(value)]
    return found


def test_every_page_is_in_the_nav_once() -> None:
    config = yaml.safe_load(text(REPO / "mkdocs.yml"))
    listed = nav_pages(config["nav"])
    assert sorted(listed) == sorted(p.relative_to(DOCS).as_posix() for p in PAGES)
    assert len(listed) == len(set(listed))
    assert config["strict"] is True


@pytest.mark.integration
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """mkdocs --strict: a page missing from the nav, a link to a missing page or anchor
    fails the build. mkdocs-material comes from the virtualenv the test job makes."""
    mkdocs = tool_from_env("AGENTFLEET_MKDOCS", "mkdocs-material's virtualenv")
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=300,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "site" / "reference" / "policies" / "index.html").is_file()


def test_no_file_points_outside_the_repository() -> None:
    """What users need is stated in docs/; no file the repository tracks names a document
    they cannot read (the changelog's history aside, which may name what was; and this
    test, which names the patterns)."""
    outside = re.compile(r"(SPEC|CONTRACT|STYLE)\.md|/work/|\.\./shared")
    here = Path(__file__).resolve().relative_to(REPO).as_posix()
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    found = []
    for name in filter(None, listed.split("\0")):
        path = REPO / name
        if name in ("CHANGELOG.md", here) or not path.is_file():
            continue
        try:
            body = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # pictures and other binary files
        if outside.search(body):
            found.append(name)
    assert not found


# --- what the pages state is what the code does --------------------------------------


def test_the_capacity_page_states_the_planners_figures() -> None:
    from infra.sizing import size_fleet

    page = text(DOCS / "capacity-and-cost.md")
    for concurrency in (1000, 10000):
        plan = size_fleet(concurrency)
        row = f"| {concurrency:,} | " + " | ".join(
            f"{tier.interactions:,} → {tier.gpus} GPU{'s' if tier.gpus > 1 else ''}, "
            f"${tier.cost_per_hour:.2f}"
            for tier in plan.tiers
        )
        assert row in page
        totals = f"{plan.gpus} | {plan.cost_per_hour:.2f} | {plan.cost_per_interaction_hour:.6f} |"
        assert f"{row} | {totals}" in page


def test_the_checklist_names_each_items_policy_and_enforcement() -> None:
    """Every checklist item (C, A, M and K) has a row naming the policy that checks it and
    that policy's default enforcement, as the pack declares them."""
    from policies.pack import metadata

    row = r"^\| ([CAMK]\d) \| .*? \| \[`([\w-]+)`\]\(reference/policies\.md#\2\) \| (\w+) \|$"
    rows = re.findall(row, text(DOCS / "policies.md"), flags=re.M)
    wanted = sorted(
        (item.strip(), meta.name, meta.enforcement)
        for meta in metadata().values()
        for item in meta.item.split(",")
        if re.fullmatch(r"[CAMK]\d", item.strip())
    )
    assert sorted(rows) == wanted
    assert [item for item, _, _ in rows] == [
        *(f"C{n}" for n in range(1, 8)), *(f"A{n}" for n in range(1, 6)),
        *(f"M{n}" for n in range(1, 5)), *(f"K{n}" for n in range(1, 4)),
    ]  # fmt: skip


def test_the_commands_page_has_every_command_and_exit_status() -> None:
    import argparse

    from infra.cli import _parser

    page = text(DOCS / "commands.md")
    (commands,) = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(commands.choices) == 8
    for name in commands.choices:
        assert f"\n## agentfleet {name}\n" in page, name
    for status in range(4):
        assert f"\n| {status} | " in page
