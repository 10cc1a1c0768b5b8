"""Every generated page of the docs site is current (what its generator renders now, the
whole file), and the generators stay build-time tools: not installed with the package
(tests/test_layout.py holds that nothing agentfleet runs imports them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REPO
from tools import docs
from tools.catalog_reference import table
from tools.stack_reference import SECTIONS


@pytest.mark.parametrize("page", docs.PAGES, ids=lambda page: page.relative_to(REPO).as_posix())
def test_the_generated_page_is_current(page: Path) -> None:
    assert page.read_text(encoding="utf-8") == docs.PAGES[page](), "run: python -m tools.docs"


def test_check_names_a_stale_page_and_writing_brings_it_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "docs" / "reference" / "page.md"
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    monkeypatch.setattr(docs, "PAGES", {page: lambda: "# A page\n"})
    assert docs.main(["--check"]) == 1
    assert "out of date: docs/reference/page.md" in capsys.readouterr().err
    assert docs.main([]) == 0
    assert page.read_text(encoding="utf-8") == "# A page\n"
    assert docs.main(["--check"]) == 0


def test_the_pages_are_written_whole_with_no_marker_blocks() -> None:
    for page, render in docs.PAGES.items():
        text = render()
        assert text.startswith("# "), page
        assert "<!-- BEGIN" not in text, page
        assert "Generated from" in text.split("\n\n")[1], page


def test_the_stack_reference_has_every_mapping_and_the_catalog_every_gpu() -> None:
    from facts.catalog import CATALOG

    text = docs.PAGES[REPO / "docs" / "reference" / "stack-file.md"]()
    for path, _ in SECTIONS:
        assert f"\n## `{path}`\n" in text
    assert "| `expectedConcurrency` | integer | required |" in text
    assert [line.split("`")[1] for line in table().splitlines()[2:]] == list(CATALOG)


def test_the_generators_are_not_installed_with_the_package() -> None:
    import tomllib

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert include == [f"{package}*" for package in ("facts", "infra", "components",
                                                      "policies", "bridge")]  # fmt: skip
    assert "tools" in pyproject["tool"]["mypy"]["files"]
