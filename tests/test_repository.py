"""The repository keeps its promises: the README's commands are what CI runs, the Pulumi
CLI finds the program and the stacks, requirements.txt matches pyproject.toml, and the
tool virtualenvs are pinned (the generated files: tests/tools; the docs:
tests/test_documentation)."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.helpers import REPO, STACKS


def readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command() -> None:
    """The README's test command is CI's: `.ci/run` runs it as the README writes it."""
    assert "\nCI=true python3 tasks.py test    # set up .venv, then run the whole test suite" in (
        readme()
    )
    commands = [
        line
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert commands == ["CI=true python3 tasks.py test"]


def test_readme_main_command_is_the_main_job() -> None:
    assert "\npython3 tasks.py plan            # set up .venv, then run the main job" in readme()
    tasks = (REPO / "tasks.py").read_text()
    assert 'MAIN_JOB = ["agentfleet", "plan", "--stack", "prod"]' in tasks
    assert "The main job is `agentfleet plan --stack prod`" in " ".join(readme().split())


def test_pulumi_project_finds_program_and_stacks() -> None:
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["name"] == "agentfleet"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": ".venv"},
    }
    assert project["main"] == "infra/"
    assert (REPO / project["main"] / "__main__.py").is_file()
    for stack in STACKS:
        assert (REPO / project["stackConfigDir"] / f"Pulumi.{stack}.yaml").is_file()


def test_requirements_match_pyproject() -> None:
    """What the Pulumi CLI installs into .venv: the dependencies, and agentfleet itself
    (the policy pack, run in the same virtualenv, imports it)."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    requirements = [
        line.strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert requirements == [*pyproject["project"]["dependencies"], "-e ."]


def test_version_is_pyprojects() -> None:
    import facts
    import infra

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert facts.__version__ == infra.__version__ == pyproject["project"]["version"]


def test_every_dependency_is_pinned_to_a_range() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    project = pyproject["project"]
    extras = project["optional-dependencies"]
    for requirement in [*project["dependencies"], *extras["dev"]]:
        assert re.search(r">=[\d.]+,<[\d.]+$", requirement), requirement
    assert extras["vllm"] == ["vllm==0.33.0"]
    assert extras["checkov"] == ["checkov==3.3.30"]
    assert extras["mkdocs-material"] == ["mkdocs-material==9.8.1"]
    assert project["scripts"] == {
        "agentfleet": "infra.launch:run",
        "agentfleet-worker": "bridge.cli:run_worker",
    }


def test_packages_are_typed() -> None:
    for package in ("facts", "infra", "components", "policies", "bridge"):
        assert (REPO / package / "py.typed").is_file()


def test_components_are_importable_from_the_package() -> None:
    import components

    for name in (
        "GpuNodePool",
        "MigConfiguration",
        "VllmService",
        "McpServer",
        "InferenceLoadBalancer",
    ):
        component = getattr(components, name)
        assert getattr(components, f"{name}Args").model_config["frozen"] is True
        assert f"\n## `{name}`\n" in (REPO / "docs" / "reference" / "components.md").read_text()
        assert component.__module__.startswith("components.")


def test_component_type_tokens_have_three_segments() -> None:
    from components import load_balancer, mcp_server, mig_config, node_pool, vllm_service

    tokens = [m.TYPE for m in (load_balancer, mcp_server, mig_config, node_pool, vllm_service)]
    assert tokens == [
        "agentfleet:index:InferenceLoadBalancer",
        "agentfleet:index:McpServer",
        "agentfleet:index:MigConfiguration",
        "agentfleet:index:GpuNodePool",
        "agentfleet:index:VllmService",
    ]


def test_vllm_image_matches_the_vllm_extra() -> None:
    from components.vllm_service import IMAGE

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    (pin,) = pyproject["project"]["optional-dependencies"]["vllm"]
    assert f"vllm/vllm-openai:v{pin.removeprefix('vllm==')}" == IMAGE
