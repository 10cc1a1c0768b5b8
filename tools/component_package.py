"""The components as a Pulumi component package, for programs in every Pulumi language.

Pulumi's Python component provider host (``pulumi.provider.experimental``) infers a
package schema from run-time type annotations: each component's ``__init__(name, args,
opts)`` with a typed ``args``, the args' annotations and the attribute docstrings under
them, and the component's annotated outputs. The components here take pydantic models
written with ``from __future__ import annotations`` (string annotations), which that
analyzer cannot read, and richer types than a schema has (``Literal``, ``Decimal``,
``tuple``, Outputs typed ``Any``). So ``components/package.py`` is written from the models
themselves: a ``TypedDict`` per model with the field descriptions as attribute docstrings,
and per component a subclass whose ``__init__`` takes that dict and builds the component
from its own model. Run ``python -m tools.component_package`` after changing an args model;
a test fails while the written file or ``components/schema.json`` (the schema the analyzer
infers, checked in) is stale.

Type mapping: ``str``, ``int``, ``float``, ``bool`` as they are (plain: known when the
component is built); ``Literal`` as ``str``, its values in the description; ``Decimal`` as
``float``; ``tuple``/``list`` as ``list``, mappings as ``dict[str, ...]``; a nested model as
its own type; a field typed ``Any`` (a Pulumi input: an ARN, a URL, a name another
resource makes) as ``pulumi.Input[str]``, or ``Any`` where it holds resources to wait for.
"""

from __future__ import annotations

import ast
import inspect
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pulumi
from pydantic import BaseModel

from components.host_args import bare

PACKAGE = "agentfleet"
"""The Pulumi package's name: its components are ``agentfleet:index:<Component>``."""
HERE = Path(__file__).resolve().parent.parent / "components"
SOURCE = HERE / "package.py"
SCHEMA = HERE / "schema.json"
RESOURCE_LISTS = {("FleetTierArgs", "depends_on"), ("AddonReadiness", "gpu_operator"),
                  ("AddonReadiness", "keda"), ("AddonReadiness", "load_balancer_controller"),
                  ("AddonReadiness", "prometheus")}  # fmt: skip
"""Fields typed ``Any`` that hold resources to wait for, not strings."""
OUTPUT_TYPES = {
    "pulumi.Output[str]": "pulumi.Output[str]",
    "pulumi.Output[str] | None": "Optional[pulumi.Output[str]]",
    "str": "str",
    "str | None": "Optional[str]",
    "dict[str, str]": "dict[str, str]",
}
"""Component attributes the package exports, by their annotation: the resources a
component holds (a Queue, a NodeGroup) stay Python-only."""


def components() -> list[tuple[type[pulumi.ComponentResource], type[BaseModel]]]:
    """Every component ``components`` exports, with its args model."""
    import components as package

    found = []
    for name in package.__all__:
        value = getattr(package, name)
        if isinstance(value, type) and issubclass(value, pulumi.ComponentResource):
            found.append((value, getattr(package, f"{name}Args")))
    return found


# --- writing components/package.py --------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.types: dict[str, list[str]] = {}  # class name -> source lines, in order

    def schema_type(self, owner: str, field: str, annotation: Any) -> tuple[str, str]:
        """The annotation's source in the package, and a note for the description."""
        annotation = bare(annotation)
        origin = typing.get_origin(annotation)
        arguments = typing.get_args(annotation)
        if origin in (typing.Union, types.UnionType):
            options = [a for a in arguments if a is not type(None)]
            if len(options) != 1:
                raise TypeError(f"{owner}.{field}: a union of {options} has no schema type")
            inner, note = self.schema_type(owner, field, options[0])
            return f"Optional[{inner}]", note
        if origin is typing.Literal:
            return "str", "One of: " + ", ".join(f"`{a}`" for a in arguments) + "."
        if annotation is Any:
            if (owner, field) in RESOURCE_LISTS:
                return "Any", "Resources to wait for."
            return "pulumi.Input[str]", ""
        if annotation is Decimal:
            return "float", ""
        if annotation in (str, int, float, bool):
            return annotation.__name__, ""
        if origin in (tuple, list):
            if (owner, field) in RESOURCE_LISTS:
                return "list[Any]", "Resources to wait for."
            inner, note = self.schema_type(owner, field, arguments[0])
            return f"list[{inner}]", note
        if origin in (dict, Mapping):
            inner, note = self.schema_type(owner, field, arguments[1])
            return f"dict[str, {inner}]", note
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            self.model(annotation)
            return annotation.__name__, ""
        raise TypeError(f"{owner}.{field}: {annotation!r} has no schema type")

    def model(self, model: type[BaseModel]) -> str:
        name = model.__name__
        if name in self.types:
            return name
        doc = _one_paragraph(model.__doc__ or f"{name}.")
        lines = [f"class {name}(TypedDict):", f"    {_literal(doc)}", ""]
        for field_name, field in model.model_fields.items():
            source, note = self.schema_type(name, field_name, field.annotation)
            if not field.is_required():
                source = f"NotRequired[{source}]"
            description = " ".join(filter(None, [field.description or "", note])).strip()
            if not description:
                raise ValueError(f"{name}.{field_name} has no description")
            lines += [f"    {field_name}: {source}", f"    {_literal(description)}"]
        self.types[name] = lines  # after the types its fields use (models do not recurse)
        return name


def _one_paragraph(text: str) -> str:
    return " ".join(text.split())


def _literal(text: str) -> str:
    return repr(text)


def _outputs(component: type[pulumi.ComponentResource]) -> list[tuple[str, str, str]]:
    """The component's exported attributes (name, package type, docstring), read from its
    ``if TYPE_CHECKING:`` block."""
    tree = ast.parse(inspect.getsource(component))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            body = node.body
            for index, statement in enumerate(body):
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                    kind = OUTPUT_TYPES.get(ast.unparse(statement.annotation))
                    after = body[index + 1] if index + 1 < len(body) else None
                    doc = (
                        after.value.value
                        if isinstance(after, ast.Expr)
                        and isinstance(after.value, ast.Constant)
                        and isinstance(after.value.value, str)
                        else ""
                    )
                    if kind is not None:
                        if not doc:
                            raise ValueError(
                                f"{component.__name__}.{statement.target.id}: no docstring"
                            )
                        found.append((statement.target.id, kind, _one_paragraph(doc)))
    return found


HEADER = '''"""agentfleet's components as a Pulumi component package (written by
``python -m tools.component_package`` from the components' args models; do not edit).

Served by ``components/__main__.py`` (``PulumiPlugin.yaml``): ``pulumi package add`` gives
TypeScript, Go, C#, Java and YAML programs ``agentfleet:index:<Component>``. Each class here
is the Python component itself, taking its args as a plain mapping of the schema's types.
"""

# Run-time annotations, read by pulumi.provider.experimental's analyzer: no
# `from __future__ import annotations` here.
# ruff: noqa: E501, UP045

from typing import Any, NotRequired, Optional, TypedDict

import pulumi

import components as _components
from components.host_args import as_args'''


def render() -> str:
    writer = _Writer()
    classes: list[str] = []
    for component, model in components():
        args_type = writer.model(model)
        name = component.__name__
        doc = _one_paragraph(component.__doc__ or name)
        lines = [
            "",
            "",
            f"class {name}(_components.{name}):",
            f"    {_literal(doc)}",
            "",
        ]
        for attribute, kind, doc in _outputs(component):
            lines += [f"    {attribute}: {kind}", f"    {_literal(doc)}"]
        lines += [
            "",
            "    def __init__(",
            f"        self, name: str, args: {args_type}, "
            "opts: Optional[pulumi.ResourceOptions] = None",
            "    ) -> None:",
            f"        super().__init__(name, as_args(_components.{model.__name__}, args), opts)"
            "  # type: ignore[arg-type]",
        ]
        classes += lines
    body = [HEADER]
    for lines in writer.types.values():
        body += ["", "", *lines]
    body += classes
    names = [component.__name__ for component, _ in components()]
    body += ["", "", "COMPONENTS = [" + ", ".join(names) + "]"]
    body += [f"PACKAGE = {PACKAGE!r}", '"""The name the provider host serves the package by."""']
    body += [""]
    return "\n".join(body)


def schema() -> dict[str, Any]:
    """The package schema Pulumi's analyzer infers from ``components/package.py``."""
    import json

    from pulumi.provider.experimental.component import ComponentProvider

    from components import package
    from facts import __version__

    provider = ComponentProvider(package.COMPONENTS, package.PACKAGE, version=__version__)
    loaded: dict[str, Any] = json.loads(provider.schema or "{}")
    return loaded


def main() -> None:
    import importlib
    import json

    SOURCE.write_text(render(), encoding="utf-8")
    import components.package

    importlib.reload(components.package)
    SCHEMA.write_text(json.dumps(schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
