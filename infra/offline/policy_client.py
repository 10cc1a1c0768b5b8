"""The policy pack, served exactly as the Pulumi CLI serves it, and a client for it.

The CLI starts a Python pack as ``python -u -m pulumi.policy <engine-address> .`` in the
pack's folder, with PULUMI_PROJECT, PULUMI_STACK, PULUMI_DRY_RUN and PULUMI_CONFIG set;
the pack prints its port on its first line and speaks the analyzer protocol
(``pulumi.runtime.proto``):
GetAnalyzerInfo, Configure, Analyze (resource policies, one resource a call) and
AnalyzeStack (stack policies, the whole stack at once).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from infra.offline.mocks import Registration

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
LEVEL_NAMES = {value: key for key, value in LEVELS.items()}
START_TIMEOUT_SECONDS = 60


class PolicyPackError(RuntimeError):
    """The pack could not be started, or refused a call."""


class PolicyConfigError(ValueError):
    """A policy-pack config file that cannot be applied; the message says why."""


@dataclass(frozen=True)
class Finding:
    policy: str
    enforcement: str
    resource: str
    """URN of the resource at fault, or "" for the stack as a whole."""
    message: str


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    enforcement: str
    kind: str
    description: str
    config_schema: dict[str, Any]
    remediation: str = ""
    severity: str = ""
    item: str = ""
    """The production-checklist item (the first of the policy's tags)."""
    keys: tuple[str, ...] = ()
    """The stack keys behind its findings, most specific first (tags ``stack-key:``)."""


KEY_TAG = "stack-key:"
SEVERITIES = {
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}


LIFELINE = "AGENTFLEET_PACK_LIFELINE"
"""Set to ``stdin`` for a pack that must end when its standard input does."""


class PolicyPackServer:
    """The pack in a subprocess, as the CLI runs it; use as a context manager."""

    def __init__(
        self,
        pack_dir: Path = PACK_DIR,
        *,
        project: str = "agentfleet",
        stack: str = "offline",
        dry_run: bool = True,
        config: Mapping[str, str] | None = None,
    ) -> None:
        self.pack_dir = pack_dir
        self._structs: dict[str, struct_pb2.Struct] = {}
        self.env = {
            **os.environ,
            "PULUMI_PROJECT": project,
            "PULUMI_STACK": stack,
            "PULUMI_DRY_RUN": "true" if dry_run else "false",
            "PULUMI_CONFIG": json.dumps(dict(config or {})),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._stderr: list[bytes] = []

    def __enter__(self) -> PolicyPackServer:
        if self.process is None:
            self.start()
        return self

    @classmethod
    def launched(cls, **kwargs: Any) -> PolicyPackServer:
        """The pack started but not yet connected to (call ``connect`` when needed)."""
        server = cls(**kwargs)
        server.launch()
        return server

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.launch()
        self.connect()

    def launch(self) -> None:
        """Start the pack's process; it loads while the caller does other work. As the CLI
        does: in the pack's folder, with the program ".", so the pack sees only what is
        installed beside it, never this checkout's other folders."""
        engine = "127.0.0.1:1"  # only used by the pack to log a crash
        # The pack's lifeline: a pipe this process holds open and never writes to. When
        # this process ends, however it ends (SIGKILL included), the kernel closes it and
        # the pack exits on the end of its input (policies/__main__.py).
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", engine, "."],
            cwd=self.pack_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**self.env, LIFELINE: "stdin"},
        )
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def connect(self) -> None:
        """Wait for the pack's port and open the gRPC channel."""
        port = self._read_port()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(self.channel).result(timeout=START_TIMEOUT_SECONDS)
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def _drain_stderr(self) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)

    def _read_port(self) -> int:
        assert self.process is not None
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            self.process.wait(timeout=10)
            detail = b"".join(self._stderr).decode(errors="replace")[-2000:]
            raise PolicyPackError(f"the policy pack did not start: {line or detail}")
        return int(line)

    def stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()  # the lifeline: the pack exits on it too
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def stub(self) -> analyzer_pb2_grpc.AnalyzerStub:
        if self._stub is None:
            raise PolicyPackError("the policy pack is not running")
        return self._stub

    # --- the protocol ---------------------------------------------------------------

    def info(self) -> tuple[str, list[PolicyInfo]]:
        reply = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        policies = [
            PolicyInfo(
                name=policy.name,
                enforcement=LEVEL_NAMES[policy.enforcementLevel],
                kind="stack"
                if policy.policy_type == analyzer_pb2.PolicyType.POLICY_TYPE_STACK
                else "resource",
                description=policy.description,
                config_schema=json_format.MessageToDict(policy.configSchema.properties),
                remediation=policy.remediation_steps,
                severity=SEVERITIES.get(policy.severity, ""),
                item=next((t for t in policy.tags if not t.startswith(KEY_TAG)), ""),
                keys=tuple(t.removeprefix(KEY_TAG) for t in policy.tags if t.startswith(KEY_TAG)),
            )
            for policy in reply.policies
        ]
        return reply.name, policies

    def configure(self, config: Mapping[str, Mapping[str, Any]]) -> None:
        """Apply per-policy config: {policy: {"enforcementLevel": ..., prop: value}}."""
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in config.items():
            properties = struct_pb2.Struct()
            properties.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(
                    enforcementLevel=LEVELS[entry["enforcementLevel"]], properties=properties
                )
            )
        self.stub.Configure(request)

    def analyze(self, registrations: Iterable[Registration]) -> list[Finding]:
        """Resource policies over each custom resource. The protocol takes one resource a
        call; every call is sent before the first reply is awaited, so the pack checks one
        while this side encodes the next."""
        sent = [(r.urn, self.send(r)) for r in registrations if r.custom]
        return [finding for urn, call in sent for finding in _findings(call.result(), urn)]

    def analyze_one(self, registration: Registration) -> list[Finding]:
        """Resource policies over one custom resource."""
        return _findings(self.send(registration).result(), registration.urn)

    def send(self, registration: Registration) -> Any:
        """Start the Analyze call for one resource and return it at once, unanswered (a
        ``grpc.Future`` of its reply): gRPC's own threads carry it to the pack and back,
        so nothing here waits on the pack, or on a Python thread to be scheduled."""
        properties = _struct(registration.inputs)
        self._structs[registration.urn] = properties  # the stack analysis sends it again
        request = analyzer_pb2.AnalyzeRequest(
            type=registration.type,
            properties=properties,
            urn=registration.urn,
            name=registration.name,
        )
        return self.stub.Analyze.future(request)

    def _sent(self, registration: Registration) -> struct_pb2.Struct:
        """The resource's properties as analyze_one sent them, else encoded now."""
        found = self._structs.get(registration.urn)
        return _struct(registration.inputs) if found is None else found

    def analyze_stack(self, registrations: Iterable[Registration]) -> list[Finding]:
        """Stack policies over the whole stack."""
        resources = [
            analyzer_pb2.AnalyzerResource(
                type=r.type,
                properties=self._sent(r),
                urn=r.urn,
                name=r.name,
                parent=r.parent or "",
            )
            for r in registrations
        ]
        reply = self.stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
        return _findings(reply, "")


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    json_format.ParseDict(json.loads(json.dumps(values, default=str)), message)
    return message


def _findings(reply: analyzer_pb2.AnalyzeResponse, urn: str) -> list[Finding]:
    findings = []
    for diagnostic in reply.diagnostics:
        message = diagnostic.message
        if message.startswith(diagnostic.description):
            message = message[len(diagnostic.description) :].lstrip("\n") or message
        findings.append(
            Finding(
                policy=diagnostic.policyName,
                enforcement=LEVEL_NAMES.get(diagnostic.enforcementLevel, "advisory"),
                resource=diagnostic.urn or urn,
                message=message,
            )
        )
    return findings


def pack_config(
    policies: Iterable[PolicyInfo], overrides: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Each policy's config for Configure: its default enforcement, then the overrides of
    a Pulumi policy-pack config file ({"all": level, name: level | {enforcementLevel,
    property: value}})."""
    config: dict[str, dict[str, Any]] = {p.name: {"enforcementLevel": p.enforcement}
                                         for p in policies}  # fmt: skip
    overrides = dict(overrides or {})
    everything = overrides.pop("all", None)
    if everything is not None:
        level = everything if isinstance(everything, str) else everything.get("enforcementLevel")
        if level not in LEVELS:
            raise PolicyConfigError(f"all: unknown enforcement level {level!r}")
        for entry in config.values():
            entry["enforcementLevel"] = level
    for name, value in overrides.items():
        if name not in config:
            raise PolicyConfigError(f"{name}: no such policy in the pack")
        entry = {"enforcementLevel": value} if isinstance(value, str) else dict(value)
        level = entry.get("enforcementLevel", config[name]["enforcementLevel"])
        if level not in LEVELS:
            raise PolicyConfigError(f"{name}: unknown enforcement level {level!r}")
        config[name] = {**config[name], **entry, "enforcementLevel": level}
    return config


class StreamingAnalysis:
    """Resource analysis that runs while the program is still declaring: each custom
    resource is sent to the pack as soon as it is registered (once the pack is up; until
    then they wait here), so the program (this process) and the pack (its own process)
    work at the same time.

    The calls are sent from the thread that registers, not from a pool: with the program
    holding the interpreter, pool threads waited for it in turns of sys.getswitchinterval()
    (5 ms), and at 100 tiers two thirds of the stack was still unsent when the program
    ended."""

    def __init__(self, server: PolicyPackServer, overrides: Mapping[str, Any] | None) -> None:
        self.server = server
        self.overrides = overrides
        self._starting = ThreadPoolExecutor(max_workers=1)
        self.ready = self._starting.submit(self._connect)
        self._lock = threading.Lock()
        self._waiting: list[Registration] = []
        self._sent: list[tuple[str, Any]] = []
        self.policies: list[PolicyInfo] = []
        """The pack's policies as configured for this analysis (once it is connected)."""

    def _connect(self) -> None:
        self.server.connect()
        _, policies = self.server.info()
        config = pack_config(policies, self.overrides)
        self.server.configure(config)
        self.policies = [
            replace(info, enforcement=config[info.name]["enforcementLevel"]) for info in policies
        ]

    def submit(self, registration: Registration) -> None:
        if not registration.custom:
            return
        with self._lock:
            self._waiting.append(registration)
            if self.ready.done() and self.ready.exception() is None:
                self._send_waiting()

    def _send_waiting(self) -> None:
        self._sent.extend((r.urn, self.server.send(r)) for r in self._waiting)
        self._waiting.clear()

    def findings(self) -> list[Finding]:
        """Wait for every submitted resource; findings in registration order."""
        try:
            self.ready.result()
            with self._lock:
                self._send_waiting()
            return [f for urn, call in self._sent for f in _findings(call.result(), urn)]
        finally:
            self._starting.shutdown()
