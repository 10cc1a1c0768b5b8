"""vLLM requires each tier's API key, from a Secret, and the worker beside it sends it:
judged by vLLM's own API server middleware (vLLM 0.33.0, in its virtualenv) with the
rendered prod pod's arguments and environment."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bridge.settings import WorkerSettings
from bridge.worker import Worker
from facts.resource_types import LISTENER
from infra.offline.manifests import is_kubernetes_object, manifest
from infra.offline.mocks import run_program
from tests.helpers import VllmProcess, stack_values

CHECKER = Path(__file__).with_name("vllm_auth.py")
CHAT = "/v1/chat/completions"
VLLM_PATHS = (  # what vLLM 0.33.0's API server serves (vllm/entrypoints/serve, .../openai)
    "/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/embeddings",
    "/v1/responses", "/v1/audio/transcriptions", "/v2/rerank", "/inference/v1/generate",
    "/invocations", "/tokenize", "/detokenize", "/pooling", "/score", "/rerank",
    "/classify", "/load", "/ping", "/version", "/health", "/metrics", "/server_info",
    "/reset_prefix_cache", "/sleep", "/wake_up", "/is_sleeping", "/collective_rpc",
    "/scale_elastic_ep", "/start_profile", "/stop_profile",
)  # fmt: skip


def forwarded(listener: dict[str, Any], rules: list[dict[str, Any]], path: str) -> bool:
    """Whether the ALB sends ``path`` on to the targets: a rule whose path pattern matches
    (case-sensitive, ``*`` any characters, ``?`` one), else the default action."""
    for rule in sorted(rules, key=lambda r: r["priority"]):
        patterns = [v for c in rule["conditions"] for v in c["pathPattern"]["values"]]
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns):
            return bool(rule["actions"][0]["type"] == "forward")
    return bool(listener["defaultActions"][0]["type"] == "forward")


def _secret_value(objects: list[dict[str, Any]], container: dict[str, Any], variable: str) -> str:
    """The value a container's ``variable`` takes: the entry of the Secret it refers to."""
    refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if e["name"] == variable]
    assert len(refs) == 1, f"{container['name']} takes {variable} from {len(refs)} Secrets"
    (ref,) = refs
    (secret,) = [
        o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == ref["name"]
    ]
    value: str = secret["stringData"][ref["key"]]
    return value


@pytest.fixture(scope="module")
def pod() -> dict[str, Any]:
    """The prod orchestrator's pod as rendered: vLLM's argv, the key vLLM reads, and the
    headers its worker sends."""
    registrations, _ = run_program(stack_values("prod"), stack="prod")
    listener = next(r.inputs for r in registrations if r.type == LISTENER)
    rules = [r.inputs for r in registrations if r.type == "aws:lb/listenerRule:ListenerRule"]
    objects = [manifest(r) for r in registrations if is_kubernetes_object(r)]
    deployment = next(
        o
        for o in objects
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "orchestrator-vllm"
    )
    containers = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
    vllm, worker = containers["vllm"], containers["queue-worker"]
    assert not any("api-key" in arg for arg in vllm["args"])  # not on the command line
    key = _secret_value(objects, vllm, "VLLM_API_KEY")
    assert len(key) >= 32
    worker_key = _secret_value(objects, worker, "VLLM_API_KEY")
    env = {e["name"]: e["value"] for e in worker["env"] if "value" in e}
    settings = WorkerSettings(queue_url=env["AGENTFLEET_QUEUE_URL"], vllm_api_key=worker_key)
    headers = Worker._headers(SimpleNamespace(settings=settings), "req-1")  # type: ignore[arg-type]
    assert vllm["command"] == ["vllm", "serve"]
    return {"argv": vllm["args"], "key": key, "headers": headers,
            "listener": listener, "rules": rules}  # fmt: skip


@pytest.fixture(scope="module")
def vllm_says(
    pod: dict[str, Any], request: pytest.FixtureRequest
) -> dict[tuple[str, str, str], int]:
    """vLLM's answer (its status) to each request the tests ask about, in one order to the
    session's vLLM process: by method, path and who asks (no key, a wrong key, the
    worker)."""
    wrong = {"Authorization": "Bearer " + "x" * len(pod["key"])}
    asks = [("POST", path, "nobody") for path in VLLM_PATHS]
    asks += [("POST", CHAT, "wrong key"), ("POST", CHAT, "worker"),
             ("GET", "/health", "nobody"), ("GET", "/metrics", "nobody")]  # fmt: skip
    headers = {"nobody": {}, "wrong key": wrong, "worker": pod["headers"]}
    order = {
        "argv": pod["argv"],
        "env": {"VLLM_API_KEY": pod["key"]},
        "requests": [(method, path, headers[who]) for method, path, who in asks],
    }
    # asked for after the pod: without vLLM's virtualenv the pod's own checks still run
    vllm: VllmProcess = request.getfixturevalue("vllm")
    statuses: list[int] = vllm.ask(CHECKER, order)
    return dict(zip(asks, statuses, strict=True))


@pytest.mark.integration
def test_a_caller_without_the_tiers_key_is_refused_by_vllm(
    vllm_says: dict[tuple[str, str, str], int],
) -> None:
    """A pod that reaches vLLM's port (a policy mistake, a host-network pod) still cannot
    use its API without the tier's key; the worker beside it can; the load balancer's
    health checks and Prometheus's scrapes need none."""
    assert [
        vllm_says[("POST", CHAT, "nobody")],
        vllm_says[("POST", CHAT, "wrong key")],
        vllm_says[("POST", CHAT, "worker")],
        vllm_says[("GET", "/health", "nobody")],
        vllm_says[("GET", "/metrics", "nobody")],
    ] == [401, 401, 200, 200, 200]


@pytest.mark.integration
def test_nothing_reaches_vllm_through_the_load_balancer_without_the_key(
    pod: dict[str, Any], vllm_says: dict[tuple[str, str, str], int]
) -> None:
    """vLLM's key guards only some of its paths (/invocations serves the same inference
    as /v1, keyless): the load balancer passes on only paths vLLM refuses without it."""
    through = [p for p in VLLM_PATHS if forwarded(pod["listener"], pod["rules"], p)]
    assert CHAT in through
    assert "/invocations" not in through
    assert vllm_says[("POST", "/invocations", "nobody")] == 200  # what it would have let in
    assert [vllm_says[("POST", path, "nobody")] for path in through] == [401] * len(through)
