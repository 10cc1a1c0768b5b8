"""Stack files are read as the Pulumi CLI reads them (yaml.v3: YAML 1.2 syntax, its own
scalar rules, merge keys), and whatever a hostile file holds ends as one line naming where
and why, quickly: bad encodings, non-text or complex keys, deep nesting, recursive and
exploding aliases, tags a stack file cannot hold."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import ConfigError, parse_stack_config, read_stack_file, stackfile
from infra.config.stackfile import (
    MAX_DEPTH,
    MAX_NODES,
    StackFileError,
    parse_document,
    resolve_plain,
)
from tests.helpers import REPO, stack_values


def values(text: str | bytes) -> Any:
    raw = text.encode() if isinstance(text, str) else text
    return parse_document(raw).values


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("yes", "yes"),  # YAML 1.1 (PyYAML) says True; yaml.v3 keeps it text
        ("on", "on"),
        ("true", True),
        ("FALSE", False),
        ("0764", 500),  # yaml.v3: strconv.ParseInt(s, 0, 64), a leading 0 is octal
        ("0o764", 500),
        ("0x1F", 31),
        ("0b101", 5),
        ("1_000", 1000),  # underscores dropped
        ("08", 8.0),  # not octal, not an int: ParseFloat reads it
        ("8:20", "8:20"),  # YAML 1.1's base 60 (500) is gone
        ("2024-01-01", "2024-01-01"),  # timestamps stay text in an interface{}
        ("1e100", 1e100),
        ("1" + "0" * 30, 1e30),  # beyond 64 bits: a float
        ("1e400", "1e400"),  # out of float range: text
        ("9" * 5000, "9" * 5000),  # no 4,300-digit int conversion error
        ("~", None),
        ("", None),
        (".inf", math.inf),
        ("-5", -5),
        ("3.14", 3.14),
        ("us-east-1", "us-east-1"),
    ],
)
def test_scalars_resolve_as_yaml_v3_does(scalar: str, expected: Any) -> None:
    assert resolve_plain(scalar) == expected
    assert type(resolve_plain(scalar)) is type(expected)


def test_quoted_scalars_are_text() -> None:
    assert values("a: 'yes'\nb: \"0764\"\nc: !!str 12\n") == {"a": "yes", "b": "0764", "c": "12"}


def test_merge_keys_merge_and_explicit_keys_win() -> None:
    text = "base: &b {gpu: l40s, minInstances: 1}\ntier:\n  <<: *b\n  minInstances: 2\n"
    assert values(text)["tier"] == {"gpu": "l40s", "minInstances": 2}
    many = "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n"
    assert values(many)["c"] == {"x": 1, "y": 2}


def test_lines_of_keys_are_kept() -> None:
    document = parse_document(b"config:\n  aws:region: us-east-1\n  agentfleet:fleet:\n    x: 1\n")
    assert document.lines["config.aws:region"] == 2
    assert document.lines["config.agentfleet:fleet.x"] == 4


def test_other_namespaces_values_are_read_as_yaml_v3_reads_them() -> None:
    """Pulumi takes another namespace's value as yaml.v3 decodes it: !!binary as its
    base64-decoded text, !!set as a mapping of its members to null, a tag yaml.v3 does not
    know as the value's text or collection (gopkg.in/yaml.v3 decode.go, resolve.go)."""
    raw = (
        b"config:\n"
        b"  aws:profile: !!binary aGVsbG8=\n"
        b"  app:members: !!set {a, b}\n"
        b"  app:token: !vault secret\n"
        b"  app:argv: !!python/object:os.system [ls]\n"
        b"  app:lines: !!binary |\n    aGVs\n    bG8=\n"
        b"  app:when: !!timestamp 2001-12-14t21:59:43.10-05:00\n"
        b"  app:day: !!timestamp 2024-1-2\n"
        b"secretsprovider: !custom passphrase\n"
    )
    assert values(raw) == {
        "config": {
            "aws:profile": "hello",
            "app:members": {"a": None, "b": None},
            "app:token": "secret",
            "app:argv": ["ls"],
            "app:lines": "hello",
            "app:when": "2001-12-14t21:59:43.10-05:00",
            "app:day": "2024-1-2",
        },
        "secretsprovider": "passphrase",
    }


def test_a_binary_or_set_in_agentfleets_keys_is_judged_as_its_decoded_value() -> None:
    """yaml.v3 decodes both before agentfleet sees them: the models judge what they hold."""
    raw = b"config:\n  agentfleet:fleet:\n    namespace: !!binary YWdlbnRz\n    tiers: !!set {a}\n"
    assert values(raw) == {
        "config": {"agentfleet:fleet": {"namespace": "agents", "tiers": {"a": None}}}
    }


def test_byte_order_marks_are_read() -> None:
    for encoding in ("utf-16", "utf-32", "utf-8-sig"):
        assert values("a: café\n".encode(encoding)) == {"a": "café"}


HOSTILE: list[tuple[str, bytes, str, str]] = [
    ("latin-1", "a: caf\xe9\n".encode("latin-1"), "file", "not UTF-8 text: byte 0xe9 at offset 6"),
    ("random bytes", bytes([0xFF, 0xFE, 0xFD, 0x00, 0x80]) * 3, "file", "not UTF-8 text"),
    ("an ELF header", b"\x7fELF\x02\x01\x01\x00", "file", "not valid YAML: unacceptable"),
    ("an int key", b"config:\n  1: x\n", "config", "the key '1' at line 2 is not text"),
    ("a null key", b"config:\n  ~: x\n", "config", "the key '~' at line 2 is not text"),
    ("a complex key", b"config:\n  ? [a, b]\n  : 1\n", "config", "a key at line 2 is not text"),
    ("a duplicate key", b"a: 1\na: 2\n", "a", "the key appears twice (line 2)"),
    ("a recursive alias", b"config:\n  agentfleet:fleet: &r [*r]\n",
     "config.agentfleet:fleet[0]", "an alias refers to the value it is part of"),
    ("5,000-deep nesting", b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", "file",
     f"nests deeper than {MAX_DEPTH} levels"),
    ("a custom tag on agentfleet's key", b"config:\n  agentfleet:fleet: !vault secret\n",
     "config.agentfleet:fleet", "the tag !vault has no meaning"),
    ("a custom tag on the region", b"config:\n  aws:region: !vault secret\n",
     "config.aws:region", "the tag !vault has no meaning"),
    ("an !!omap as agentfleet's key", b"config:\n  agentfleet:cluster: !!omap [a: 1]\n",
     "config.agentfleet:cluster", "the tag tag:yaml.org,2002:omap has no meaning"),
    ("invalid base64", b"config:\n  aws:profile: !!binary '%%%'\n", "config.aws:profile",
     "a !!binary value holds invalid base64 data"),
    ("not a timestamp", b"config:\n  app:t: !!timestamp notadate\n", "config.app:t",
     "'notadate' is not a timestamp"),
    ("no such date", b"config:\n  app:t: !!timestamp 2024-02-30\n", "config.app:t",
     "'2024-02-30' is not a timestamp"),
    ("a core tag that does not fit", b"config:\n  app:n: !!int abc\n", "config.app:n",
     "'abc' is not !!int"),
    ("an unclosed list", b"a: [1, 2\nb: c\n", "line 2, column 2", "not valid YAML: expected"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "where", "reason"), [h[1:] for h in HOSTILE],
                         ids=[h[0] for h in HOSTILE])  # fmt: skip
def test_hostile_files_are_refused_in_one_line(raw: bytes, where: str, reason: str) -> None:
    with pytest.raises(StackFileError) as raised:
        parse_document(raw)
    assert raised.value.where == where
    assert raised.value.reason.startswith(reason)
    assert "\n" not in raised.value.reason


@pytest.fixture
def size_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size each node the reader measures comes to, one entry per node measured (a
    node an alias repeats is measured once: the reader memoises sizes per node); building
    values from the nodes is refused, so a test sees the reader decide on sizes alone."""
    measured: list[int] = []
    check = stackfile._Sizes.check

    def counting(self: Any, node: Any, path: str, depth: int) -> int:
        known = id(node) in self.sizes
        size = check(self, node, path, depth)
        if not known:
            measured.append(size)
        return size

    monkeypatch.setattr(stackfile._Sizes, "check", counting)
    return measured


def test_billion_laughs_is_refused_without_expanding_it(
    size_checks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nine levels of ten aliases each stand for 10^9 values; they are counted, memoised
    per node, and refused before any value is built: the reader measures each of the
    file's own nodes at most once (the 10^9 values are never visited)."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    built: list[str] = []
    monkeypatch.setattr(stackfile._Builder, "build", lambda _, node, path: built.append(path))
    with pytest.raises(StackFileError, match="expands to more than 200,000 values"):
        parse_document("\n".join(lines).encode())
    nodes_in_file = 1 + 10 * 2 + 10 + 9 * 10  # the mapping, its keys and values, the items
    assert 0 < len(size_checks) <= nodes_in_file
    assert built == []


def test_a_refusal_names_the_key_path_within_config(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_bytes(b"config:\n  agentfleet:fleet:\n    tiers:\n      7: {gpu: l40s}\n")
    with pytest.raises(ConfigError) as raised:
        read_stack_file(path)
    assert raised.value.problems == (
        ("agentfleet:fleet.tiers", "the key '7' at line 4 is not text; quote it"),
    )
    path.write_bytes("config: {a: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(ConfigError) as raised:
        read_stack_file(path)
    assert raised.value.problems == ((str(path), "not UTF-8 text: byte 0xe9 at offset 15"),)


def test_a_500_tier_stack_is_read_and_validated(tmp_path: Path, size_checks: list[int]) -> None:
    """A large fleet is legitimate: well inside the reader's bounds, each node measured
    once. How long it takes is benchmarks/stackfile_speed.py's to say."""
    values = stack_values("prod")
    tiers = values["agentfleet:fleet"]["tiers"]
    for index in range(500):
        tiers[f"t{index}"] = {**tiers["lightweight"], "expectedConcurrency": 100}
    path = tmp_path / "Pulumi.big.yaml"
    path.write_text(yaml.safe_dump({"config": values}))
    config = parse_stack_config(read_stack_file(path))
    assert len(config.fleet.tiers) == 503
    whole = max(size_checks)  # the document's own node: every value, aliases expanded
    # Each node measured once, though the dump shares the tiers' nested settings by alias.
    assert len(size_checks) <= whole < MAX_NODES / 4


def test_merge_keys_share_tier_defaults_in_a_real_stack(tmp_path: Path) -> None:
    text = (REPO / "stacks" / "Pulumi.prod.yaml").read_text().replace(
        "      lightweight:\n",
        "      lightweight: &light\n",
    ) + "        # a second tier from the same settings, one changed\n"
    text = text.replace(
        "    modelStore:",
        "      lightweight-eu:\n        <<: *light\n        expectedConcurrency: 700\n"
        "    modelStore:",
        1,
    )
    path = tmp_path / "Pulumi.merge.yaml"
    path.write_text(text)
    tiers = parse_stack_config(read_stack_file(path)).fleet.tiers
    assert tiers["lightweight-eu"].gpu == tiers["lightweight"].gpu == "l40s"
    assert tiers["lightweight-eu"].expected_concurrency == 700
