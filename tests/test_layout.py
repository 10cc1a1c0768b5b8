"""The layout keeps its promises (docs/development.md, "Architecture rules"): imports
point down only, each package says what lives in it and what it may import, the build-time
generators (tools) stay out of what runs, and no module or function grows past a size a
reader can hold."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO

PACKAGES = ("facts", "bridge", "components", "policies", "infra", "tools")
# What each package may import of agentfleet's own (besides itself).
MAY_IMPORT = {
    "facts": set(),
    "bridge": {"facts"},
    "components": {"facts"},
    "policies": {"facts"},
    "infra": {"facts", "components", "bridge"},
    "tools": {"facts", "components", "policies", "infra"},  # nothing imports tools
}
# Third-party packages each floor must do without.
MUST_NOT_IMPORT = {
    "facts": {"pulumi", "pulumi_aws", "pulumi_kubernetes", "pulumi_policy", "pydantic", "yaml"},
    "bridge": {"pulumi", "pulumi_aws", "pulumi_kubernetes", "pulumi_policy", "yaml"},
    "components": {"pulumi_policy"},
    "policies": {"pulumi_aws", "pulumi_kubernetes", "pydantic", "yaml"},
    "infra": set(),
    "tools": set(),
}
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 100
CODE_FOLDERS = (*PACKAGES, "tests", "benchmarks")


def modules(folder: str) -> Iterator[Path]:
    yield from sorted((REPO / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """The top-level names a module imports (absolute imports; relative ones are its own)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_down_only(package: str) -> None:
    ours = set(PACKAGES) - {package}
    for path in modules(package):
        names = imported(path)
        upward = (names & ours) - MAY_IMPORT[package]
        assert not upward, f"{path.relative_to(REPO)} imports {sorted(upward)}"
        banned = names & MUST_NOT_IMPORT[package]
        assert not banned, f"{path.relative_to(REPO)} imports {sorted(banned)}"


def test_facts_is_standard_library_only() -> None:
    for path in modules("facts"):
        foreign = {name for name in imported(path) - {"facts", "__future__"}
                   if name not in sys.stdlib_module_names}  # fmt: skip
        assert not foreign, f"{path.relative_to(REPO)} imports {sorted(foreign)}"


def test_policies_import_no_component_module() -> None:
    for path in modules("policies"):
        assert "components" not in imported(path), path


@pytest.mark.parametrize("package", [*PACKAGES, "infra/config", "infra/offline", "policies/rules"])
def test_every_package_says_what_lives_there_and_what_it_may_import(package: str) -> None:
    init = REPO / package / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    assert len(docstring) > 80, f"{package}/__init__.py: say what lives here"
    assert "import" in docstring, f"{package}/__init__.py: say what it may import"


GENERATED = {"components/package.py"}
"""Written by a generator (``python -m tools.component_package``), one class per args model;
a test holds it to what the generator writes instead."""


@pytest.mark.parametrize("folder", CODE_FOLDERS)
def test_no_module_or_function_is_too_long(folder: str) -> None:
    for path in modules(folder):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(REPO)
        if where.as_posix() in GENERATED:
            continue
        assert text.count("\n") <= MAX_MODULE_LINES, f"{where}: {text.count(chr(10))} lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                assert length <= MAX_FUNCTION_LINES, f"{where}:{node.lineno} {node.name}: {length}"


def test_the_config_layer_reads_and_validates_only() -> None:
    """Reading, then planning: infra/config imports nothing of infra but itself."""
    for path in modules("infra/config"):
        found = set()
        package = path.relative_to(REPO).parent.parts  # ("infra", "config")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
            elif isinstance(node, ast.ImportFrom):  # relative: from the module's package up
                base = package[: len(package) - node.level + 1]
                found.add(".".join([*base, *([node.module] if node.module else [])]))
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        above = {name for name in found if name.startswith("infra") and
                 not name.startswith("infra.config")}  # fmt: skip
        assert not above, f"{path.relative_to(REPO)} imports {sorted(above)}"


def test_the_simulator_finds_resources_by_the_components_own_names() -> None:
    """Resource names are made once (facts.names): no module of the simulator formats one
    of its own, e.g. f"{shape}-scaled-object"."""
    from facts import names

    suffixes = {
        made.removeprefix("X")
        for name, function in vars(names).items()
        if callable(function) and not name.startswith("_") and function.__module__ == names.__name__
        for made in [_made_name(function)]
        if made.startswith("X-")
    }
    assert {"-scaled-object", "-nodes", "-vllm", "-queue"} <= suffixes
    for path in modules("infra/simulation"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for piece in _name_pieces(node):
                hits = {suffix for suffix in suffixes if piece.endswith(suffix)}
                line = getattr(node, "lineno", 0)
                assert not hits, f"{path.relative_to(REPO)}:{line} {piece!r}"


def _name_pieces(node: ast.AST) -> list[str]:
    """The text a resource name could be made from: the literal parts of an f-string, a
    piece added to a name (``shape + "-nodes"``), a template (``"{}-nodes"``, ``"%s-nodes"``).
    A whole string like KEDA's trigger type ``aws-sqs-queue`` names no resource."""
    if isinstance(node, ast.JoinedStr):
        return [
            p.value for p in node.values if isinstance(p, ast.Constant) and isinstance(p.value, str)
        ]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
        templates = [part for part in re.split(r"\{[^}]*\}|%s", text)[1:] if part]
        return [text] if text.startswith("-") else templates
    return []


def _made_name(function: object) -> str:
    """What a facts.names function makes of the name "X" (and no profile or part)."""
    import inspect

    parameters = inspect.signature(function).parameters  # type: ignore[arg-type]
    if len(parameters) == 1:
        return str(function("X"))  # type: ignore[operator]
    return ""


def test_tests_mirror_the_package() -> None:
    """A module's tests sit where it sits: infra/config/stackfile.py's in
    tests/infra/config/test_stackfile.py (tests of whole commands, in tests/e2e, and of the
    scanners, in tests/security, test no one module)."""
    sources: dict[str, list[str]] = {}
    for package in (*PACKAGES, "tools"):
        for path in modules(package):
            sources.setdefault(path.stem, []).append(path.relative_to(REPO).as_posix())
    for test in sorted((REPO / "tests").rglob("test_*.py")):
        where = test.relative_to(REPO / "tests")
        if where.parts[0] in ("e2e", "security"):
            continue
        tested = test.stem.removeprefix("test_")
        mirrored = (where.parent / f"{tested}.py").as_posix()
        if tested in sources:
            assert mirrored in sources[tested], f"tests/{where}: {sources[tested]}"
