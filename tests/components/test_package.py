"""The components as a Pulumi component package: the schema Pulumi's own analyzer
(pulumi.provider.experimental) infers is complete (every component, every arg with its type
and description, every exported output) and stable (components/schema.json, checked in;
components/package.py is what the generator writes), and the provider host constructs
components under mocks from inputs as another language sends them."""

from __future__ import annotations

import json
import re
import typing
from decimal import Decimal
from typing import Any

import pulumi
import pytest
from pulumi.provider.experimental.component import ComponentProvider
from pydantic import BaseModel

from components import GpuNodePoolArgs, GpuPrices
from components import package as component_package
from components.host_args import as_args, bare
from facts.resource_types import NODE_GROUP, QUEUE
from tests.components.builders import node_pool_args
from tests.components.support import one, run
from tools.component_package import (
    PACKAGE,
    SCHEMA,
    SOURCE,
    _outputs,
    components,
    render,
    schema,
)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@pytest.fixture(scope="module")
def inferred() -> dict[str, Any]:
    return schema()


def test_the_written_package_is_what_the_generator_writes() -> None:
    """Stale after an args model changed: run `python -m tools.component_package`."""
    assert SOURCE.read_text(encoding="utf-8") == render()


def test_the_schema_snapshot_is_what_the_analyzer_infers(inferred: dict[str, Any]) -> None:
    """Drift in the package's public interface shows here first (and in review)."""
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == inferred


def _check_properties(
    where: str, properties: dict[str, Any], required: list[str], model: type[BaseModel]
) -> list[type[BaseModel]]:
    nested = []
    assert set(properties) == {camel(name) for name in model.model_fields}, where
    wanted = sorted(camel(name) for name, field in model.model_fields.items()
                    if field.is_required())  # fmt: skip
    assert sorted(required) == wanted, where
    for name, field in model.model_fields.items():
        prop = properties[camel(name)]
        assert prop.get("description"), f"{where}.{name} has no description"
        assert "type" in prop or "$ref" in prop, f"{where}.{name} has no type"
        for inner in _models(field.annotation):
            nested.append(inner)
    return nested


def _models(annotation: Any) -> list[type[BaseModel]]:
    annotation = bare(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models(a)]


def test_every_component_arg_and_output_is_in_the_schema(inferred: dict[str, Any]) -> None:
    resources = inferred["resources"]
    assert inferred["name"] == PACKAGE
    assert set(resources) == {f"{PACKAGE}:index:{c.__name__}" for c, _ in components()}
    assert len(resources) == 15
    seen: dict[str, type[BaseModel]] = {}
    for component, model in components():
        resource = resources[f"{PACKAGE}:index:{component.__name__}"]
        assert resource["isComponent"] is True
        assert resource["description"]
        nested = _check_properties(
            component.__name__,
            resource["inputProperties"],
            resource.get("requiredInputs", []),
            model,
        )
        outputs = {camel(name) for name, _, _ in _outputs(component)}
        assert set(resource.get("properties", {})) == outputs, component.__name__
        assert all(p["description"] for p in resource.get("properties", {}).values())
        while nested:
            inner = nested.pop()
            if inner.__name__ in seen:
                continue
            seen[inner.__name__] = inner
            kind = inferred["types"][f"{PACKAGE}:index:{inner.__name__}"]
            nested += _check_properties(
                inner.__name__, kind["properties"], kind.get("required", []), inner
            )
    assert {f"{PACKAGE}:index:{name}" for name in seen} == set(inferred["types"])


def test_schema_types_follow_the_models(inferred: dict[str, Any]) -> None:
    pool = inferred["resources"][f"{PACKAGE}:index:GpuNodePool"]["inputProperties"]
    assert pool["minSize"]["type"] == "integer"
    assert pool["userFacing"]["type"] == "boolean"
    assert pool["capacity"]["type"] == "string"  # a Literal: its values in the description
    assert "`on-demand`, `spot`" in pool["capacity"]["description"]
    assert pool["subnetIds"]["items"]["type"] == "string"
    assert "plain" not in pool["nodeRoleArn"]  # an Input: another resource's output
    assert pool["prices"]["$ref"] == f"#/types/{PACKAGE}:index:GpuPrices"
    prices = inferred["types"][f"{PACKAGE}:index:GpuPrices"]["properties"]
    assert prices["onDemand"]["type"] == "number"  # a Decimal
    tier = inferred["resources"][f"{PACKAGE}:index:FleetTier"]["inputProperties"]
    assert tier["dependsOn"]["items"]["$ref"] == "pulumi.json#/Any"


def test_host_inputs_become_the_components_own_args() -> None:
    """Numbers arrive as floats and nested types as dicts; the model gets its own types."""
    reference = node_pool_args("prod", "orchestrator")
    given = json.loads(json.dumps(reference.model_dump(mode="json")))
    given["min_size"] = float(given["min_size"])
    given["prices"] = {"on_demand": 2.51, "spot": None}
    args = as_args(GpuNodePoolArgs, given)
    assert isinstance(args, GpuNodePoolArgs)
    assert args.min_size == reference.min_size
    assert args.prices is not None
    assert args.prices.on_demand == Decimal("2.51")
    assert args == reference.model_copy(update={"prices": args.prices})


def construct(type_name: str, name: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    """What the host registers for a component another language asks for, and the state
    it answers with (resolved)."""
    provider = ComponentProvider(component_package.COMPONENTS, PACKAGE)
    state: dict[str, Any] = {}

    def program() -> pulumi.Output[Any]:
        result = provider.construct(name, f"{PACKAGE}:index:{type_name}", inputs, None)
        return pulumi.Output.from_input(result.state).apply(state.update)

    registrations = run(program)
    return registrations, state


def test_the_provider_host_constructs_a_queue_under_mocks() -> None:
    registrations, state = construct(
        "AgentQueue",
        "batch",
        {"environment": "prod", "tier": "batch", "clusterName": "agents-prod",
         "requestTimeoutSeconds": 600.0},
    )  # fmt: skip
    component = one(registrations, f"{PACKAGE}:index:AgentQueue", "batch")
    queues = [r for r in registrations if r.type == QUEUE and r.parent == component.urn]
    assert sorted(r.name for r in queues) == ["batch-dlq", "batch-queue"]
    main = next(r for r in queues if r.name == "batch-queue")
    assert main.inputs["visibilityTimeoutSeconds"] > 600  # longer than the longest request
    assert set(state) == {"url", "arn", "queueName", "dlqUrl", "dlqArn"}
    assert state["url"].startswith(
        "https://sqs.us-east-1.amazonaws.com/123456789012/agents-prod-batch"
    )


def wire(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """Args as another language's program sends them: schema (camelCase) names, nested
    types as objects, numbers as JSON numbers."""
    sent = {}
    for name, field in model.model_fields.items():
        value = values.get(name)
        if value is None:
            continue
        nested = _models(field.annotation)
        if nested and isinstance(value, dict):
            value = wire(nested[0], value)
        sent[camel(name)] = value
    return sent


def test_the_provider_host_constructs_a_node_pool_under_mocks() -> None:
    reference = node_pool_args("prod", "orchestrator").model_copy(
        update={"prices": GpuPrices(on_demand=Decimal("2.51"))}
    )
    inputs = wire(GpuNodePoolArgs, json.loads(json.dumps(reference.model_dump(mode="json"))))
    assert isinstance(inputs["prices"]["onDemand"], float | str)
    registrations, state = construct("GpuNodePool", "orchestrator", inputs)
    direct = run(lambda: _direct_pool(reference))
    node_group = one(registrations, NODE_GROUP, "orchestrator-nodes")
    assert node_group.inputs == one(direct, NODE_GROUP, "orchestrator-nodes").inputs
    assert re.fullmatch(r"eks-.*-asg", state["autoscalingGroupName"])
    assert state["labels"]["agentfleet.io/tier"] == "orchestrator"


def _direct_pool(args: GpuNodePoolArgs) -> Any:
    from components import GpuNodePool

    return GpuNodePool(args.tier, args).autoscaling_group_name


@pytest.mark.integration
def test_the_plugin_serves_the_schema_over_the_provider_protocol() -> None:
    """`python -m components` as the Pulumi CLI starts the plugin (PulumiPlugin.yaml):
    it prints its port and answers GetSchema with the checked-in schema."""
    import subprocess
    import sys

    import grpc
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    from tests.helpers import REPO

    assert (REPO / "components" / "PulumiPlugin.yaml").is_file()
    process = subprocess.Popen(
        [sys.executable, "-m", "components", "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            reply = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30)
        assert json.loads(reply.schema) == json.loads(SCHEMA.read_text(encoding="utf-8"))
    finally:
        process.kill()
        process.wait()


def test_the_docs_yaml_program_uses_the_schema(inferred: dict[str, Any]) -> None:
    """Every resource type of the YAML program in docs/components.md ("From other
    languages") is in the package, with every required input given and nothing the schema
    does not have; its outputs exist."""
    import yaml

    from tests.helpers import REPO

    page = (REPO / "docs" / "components.md").read_text(encoding="utf-8")
    section = page.split("## From other languages", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    program = yaml.safe_load(block)
    assert program["runtime"] == "yaml"
    names = {}
    for name, resource in program["resources"].items():
        declared = inferred["resources"][resource["type"]]
        given = set(resource["properties"])
        assert given <= set(declared["inputProperties"]), name
        assert set(declared.get("requiredInputs", [])) <= given, name
        names[name] = declared
    for reference in program["outputs"].values():
        found = re.fullmatch(r"\$\{(.+)\.(\w+)\}", reference)
        assert found is not None, reference
        assert found[2] in names[found[1]]["properties"]
