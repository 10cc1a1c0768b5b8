"""Reading a stack file as the Pulumi CLI reads it, and refusing what it should not hold.

The CLI reads stack files with Go's yaml.v3 into plain values: YAML 1.2 syntax with
yaml.v3's scalars (``true``/``false`` only, so ``yes`` is text; ``0764`` is octal, as
``strconv.ParseInt`` with base 0 reads it; ``8:20`` is text; dates stay text; integers
beyond 64 bits become floats), merge keys (``<<``) honoured. PyYAML reads YAML 1.1 and
would disagree on those, so the parser here is ruamel.yaml's (YAML 1.2), with scalars
resolved by yaml.v3's rules.

And a stack file is input from anyone: it must be UTF-8 (or UTF-16/32 with a byte-order
mark), not too large, not too deep, without recursive or exploding aliases, with text
keys and no tags agentfleet cannot represent in its own keys (another namespace's values
are the Pulumi CLI's to judge: they are read as yaml.v3 reads them, tags and all). Each
refusal is one line naming where.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from infra.config.fields import NAMESPACE, REGION_KEY

MAX_BYTES = 4 * 1024 * 1024
"""A stack of 500 tiers is about 300 KB."""
MAX_NODES = 200_000
"""Values and keys once every alias is expanded: a 500-tier stack has about 25,000."""
MAX_DEPTH = 32
"""A stack file nests about 8 levels."""

PLAIN = "?"  # the tag of a plain scalar left for yaml.v3's rules
STR, SEQ, MAP = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")
BINARY, SET, TIMESTAMP = (
    "tag:yaml.org,2002:binary",
    "tag:yaml.org,2002:set",
    "tag:yaml.org,2002:timestamp",
)
EXPLICIT = {
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:null": type(None),
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class StackFileError(ValueError):
    """A stack file that cannot be read: where (a key path or a line) and why."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(reason)
        self.where = where
        self.reason = reason


@dataclass
class Document:
    """A stack file's values, and the line of each key path (for messages and SARIF)."""

    values: Any
    lines: dict[str, int] = field(default_factory=dict)


def read_document(path: Path) -> Document:
    """The stack file at ``path``, read as the Pulumi CLI reads it."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise StackFileError(str(path), f"cannot read the stack file: {error.strerror}") from None
    return parse_document(raw)


def parse_document(raw: bytes) -> Document:
    if len(raw) > MAX_BYTES:
        raise StackFileError("file", f"{len(raw):,} bytes; a stack file is at most {MAX_BYTES:,}")
    text = _decode(raw)
    reader = YAML(typ="safe", pure=True)
    reader.Resolver = _PlainLeft
    try:
        node = reader.compose(text)
    except MarkedYAMLError as error:
        raise StackFileError(_at(error), f"not valid YAML: {_one_line(error.problem)}") from None
    except YAMLError as error:
        raise StackFileError("file", f"not valid YAML: {_one_line(str(error))}") from None
    except RecursionError:
        raise StackFileError("file", f"nests deeper than {MAX_DEPTH} levels") from None
    if node is None:
        return Document(None)
    _Sizes().check(node, "", 0)
    builder = _Builder()
    return Document(builder.build(node, ""), builder.lines)


def _decode(raw: bytes) -> str:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                break
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = raw[error.start]
        raise StackFileError(
            "file", f"not UTF-8 text: byte 0x{byte:02x} at offset {error.start}"
        ) from None


class _PlainLeft(VersionedResolver):
    """Leaves every plain scalar untagged, for yaml.v3's rules (``resolve_plain``)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            return Tag(suffix=PLAIN)
        return super().resolve(kind, value, implicit)


def _tag(node: Node) -> str:
    return str(node.tag)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _at(error: MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "file"


def _one_line(text: object) -> str:
    return " ".join(str(text or "").split())


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Sizes:
    """How many values each node stands for once aliases are expanded, memoised per node
    so an alias bomb is measured without being expanded; recursion refused."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def check(self, node: Node, path: str, depth: int) -> int:
        if id(node) in self.sizes:
            return self.sizes[id(node)]
        where = path or "file"
        if id(node) in self.open:
            raise StackFileError(where, "an alias refers to the value it is part of")
        if depth > MAX_DEPTH:
            raise StackFileError(where, f"nests deeper than {MAX_DEPTH} levels")
        self.open.add(id(node))
        size = 1
        if isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                size += self.check(item, _child(path, index), depth + 1)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                name = str(key.value) if isinstance(key, ScalarNode) else "?"
                size += self.check(key, path, depth + 1)
                size += self.check(value, _child(path, name), depth + 1)
        self.open.discard(id(node))
        if size > MAX_NODES:
            raise StackFileError(
                where, f"expands to more than {MAX_NODES:,} values (aliases counted in full)"
            )
        self.sizes[id(node)] = size
        return size


class _Builder:
    """Plain Python values from the node tree, yaml.v3's way, with each key's line."""

    def __init__(self) -> None:
        self.lines: dict[str, int] = {}

    def build(self, node: Node, path: str) -> Any:
        where = path or "file"
        tag = _tag(node)
        if isinstance(node, ScalarNode):
            return self._scalar(node, tag, where)
        if isinstance(node, SequenceNode):
            if tag != SEQ and not _foreign(path):
                raise StackFileError(where, f"the tag {tag} has no meaning in a stack file")
            return [self.build(item, _child(path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if tag not in (MAP, SET) and not _foreign(path):
                raise StackFileError(where, f"the tag {tag} has no meaning in a stack file")
            return self._mapping(node, path)  # a !!set is a mapping of its members to null
        raise StackFileError(where, "not a value a stack file holds")

    def _scalar(self, node: ScalarNode, tag: str, where: str) -> Any:
        text = str(node.value)
        if tag == PLAIN:
            return resolve_plain(text)
        if tag == STR:
            return text
        if tag in EXPLICIT:
            value = resolve_plain(text)
            kind = EXPLICIT[tag]
            if kind is float and type(value) is int:
                return float(value)
            if type(value) is kind:
                return value
            raise StackFileError(where, f"{text!r} is not !!{tag.rsplit(':', 1)[-1]}")
        if tag == BINARY:
            return _binary(text, where)
        if tag == TIMESTAMP and _foreign(where):
            return _timestamp(text, where)
        if _foreign(where):
            return text  # yaml.v3 decodes a tag it does not know as the scalar's text
        raise StackFileError(where, f"the tag {tag} has no meaning in a stack file")

    def _mapping(self, node: MappingNode, path: str) -> dict[str, Any]:
        explicit: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if (
                isinstance(key_node, ScalarNode)
                and _tag(key_node) == PLAIN
                and key_node.value == "<<"
            ):
                for source in self._merge_sources(value_node, path):
                    for key, value in source.items():
                        merged.setdefault(key, value)
                continue
            key = self._key(key_node, path)
            where = _child(path, key)
            if key in explicit:
                raise StackFileError(where, f"the key appears twice (line {_line(key_node)})")
            self.lines.setdefault(where, _line(key_node))
            explicit[key] = self.build(value_node, where)
        return {**{k: v for k, v in merged.items() if k not in explicit}, **explicit}

    def _merge_sources(self, node: Node, path: str) -> list[dict[str, Any]]:
        """What ``<<:`` merges: a mapping, or a sequence of them (yaml.v3, YAML 1.1)."""
        items = node.value if isinstance(node, SequenceNode) else [node]
        sources = []
        for item in items:
            built = self.build(item, path)
            if not isinstance(built, dict):
                raise StackFileError(path or "file", "a merge key (<<) takes mappings only")
            sources.append(built)
        return sources

    def _key(self, node: Node, path: str) -> str:
        where = path or "file"
        if not isinstance(node, ScalarNode):
            raise StackFileError(where, f"a key at line {_line(node)} is not text")
        key = self._scalar(node, _tag(node), where)
        if not isinstance(key, str):
            raise StackFileError(
                where, f"the key {node.value!r} at line {_line(node)} is not text; quote it"
            )
        return key


def _foreign(path: str) -> bool:
    """Whether ``path`` is outside agentfleet's keys (``config.aws:profile``, a top-level
    key of the Pulumi CLI's own): its value is the CLI's and its owner's to judge, so a tag
    yaml.v3 decodes is read as it decodes it, not refused."""
    if not path.startswith("config."):
        return path not in ("", "file", "config")
    key = re.split(r"[.\[]", path.removeprefix("config."), maxsplit=1)[0]
    return key != REGION_KEY and not key.startswith(f"{NAMESPACE}:")


def _binary(text: str, where: str) -> str:
    """A ``!!binary`` scalar as yaml.v3 decodes it: standard base64 (line breaks ignored),
    the bytes taken as text."""
    try:
        data = base64.b64decode(re.sub(r"[\r\n]", "", text), validate=True)
    except binascii.Error:
        raise StackFileError(where, "a !!binary value holds invalid base64 data") from None
    return data.decode("utf-8", errors="replace")


_TIMESTAMP_FORMS = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:(?:[Tt](?P<H>\d{1,2}):(?P<M>\d{1,2}):(?P<S>\d{1,2})(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?: (?P<h>\d{1,2}):(?P<n>\d{1,2}):(?P<s>\d{1,2})(?:\.\d{1,9})?))?"
)


def _timestamp(text: str, where: str) -> str:
    """An explicit ``!!timestamp`` as yaml.v3 takes it: one of its four forms (a date, a
    date and time with T and a zone, or with a space and none), a real date and time; its
    text is kept, as the CLI hands the owner of the key its value."""
    found = _TIMESTAMP_FORMS.fullmatch(text)
    if found is not None:
        parts = found.groupdict()
        hour, minute, second = (int(parts[k] or parts[alt] or 0) for k, alt in ("Hh", "Mn", "Ss"))
        try:
            datetime(int(parts["y"]), int(parts["m"]), int(parts["d"]), hour, minute, second)
        except ValueError:
            found = None
    if found is None:
        raise StackFileError(where, f"{text!r} is not a timestamp (!!timestamp)")
    return text


# yaml.v3's scalar resolution (resolve.go): the literals it knows by name, then numbers.
_NAMED: dict[str, Any] = {
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
}
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([Tt ].*)?$")
_INT64 = (-(2**63), 2**63 - 1)
_BASES = {"0x": 16, "0o": 8, "0b": 2}
_DIGITS = {
    2: set("01"),
    8: set("01234567"),
    10: set("0123456789"),
    16: set("0123456789abcdefABCDEF"),
}
_UINT64 = 2**64 - 1


def resolve_plain(text: str) -> Any:
    """A plain scalar as yaml.v3 decodes it into an interface{}."""
    if text in _NAMED:
        return _NAMED[text]
    if not text:
        return None
    first = text[0]
    if first == ".":
        return _go_float(text, text)
    if first.isdigit() or first in "+-":
        if _TIMESTAMP.match(text):
            return text  # yaml.v3 keeps timestamps as text in an interface{}
        plain = text.replace("_", "")
        number = _go_int(plain)
        if number is not None:
            return number
        if _FLOAT.match(plain):
            return _go_float(plain, text)
    return text


def _go_int(plain: str) -> int | None:
    """strconv.ParseInt (then ParseUint) with base 0: 0x, 0o, 0b and a leading 0 (octal)."""
    sign = -1 if plain.startswith("-") else 1
    digits = plain[1:] if plain[:1] in ("+", "-") else plain
    base, body = _BASES.get(digits[:2].lower(), 10), digits
    if base != 10:
        body = digits[2:]
    elif len(digits) > 1 and digits.startswith("0"):
        base, body = 8, digits[1:]
    if not body or len(body) > 64 or not set(body) <= _DIGITS[base]:
        return None
    value = sign * int(body, base)
    if _INT64[0] <= value <= _INT64[1] or 0 <= value <= _UINT64:
        return value
    return None


def _go_float(plain: str, text: str) -> Any:
    if not _FLOAT.match(plain):
        return text
    value = float(plain)
    return text if math.isinf(value) else value
