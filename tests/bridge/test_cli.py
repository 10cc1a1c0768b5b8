"""``agentfleet worker`` and ``agentfleet submit`` as users run them, and the client API."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from bridge.cli import worker_settings
from bridge.client import QueueClient
from infra.cli import _parser
from tests.bridge.conftest import Queues
from tests.bridge.support import (
    AWS_ENV,
    REGION,
    FakeVllm,
    MotoServer,
    WorkerProcess,
    drain_replies,
    queue_size,
    request_entries,
    send_all,
    wait_until,
)
from tests.helpers import REPO

pytestmark = pytest.mark.integration

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/agents-prod-orchestrator-1a2b3c4d"
StartWorker = Callable[..., WorkerProcess]
MakeQueues = Callable[..., Queues]


def agentfleet(
    *argv: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *argv],
        cwd=REPO,
        env={**os.environ, **AWS_ENV},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def settings_from(argv: list[str], environ: dict[str, str]) -> Any:
    return worker_settings(_parser().parse_args(["worker", *argv]), environ)


def test_worker_settings_come_from_flags_over_environment() -> None:
    settings = settings_from(
        ["--max-in-flight", "12"],
        {
            "AGENTFLEET_QUEUE_URL": QUEUE,
            "AGENTFLEET_MAX_IN_FLIGHT": "99",
            "AGENTFLEET_REQUEST_TIMEOUT": "120",
        },
    )
    assert settings.queue_url == QUEUE
    assert settings.max_in_flight == 12  # the flag wins
    assert settings.request_timeout == 120
    assert settings.drain == 120  # default: the request timeout
    assert settings.queue_region == "eu-west-1"
    assert settings.extend_every == 120  # a third of the 360 s default visibility


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        ([], {}, "--queue-url (AGENTFLEET_QUEUE_URL): required"),
        (
            ["--queue-url", "orchestrator"],
            {},
            "--queue-url (AGENTFLEET_QUEUE_URL): 'orchestrator' is not an SQS queue URL",
        ),
        (
            [],
            {"AGENTFLEET_QUEUE_URL": QUEUE, "AGENTFLEET_MAX_IN_FLIGHT": "0"},
            "--max-in-flight (AGENTFLEET_MAX_IN_FLIGHT): Input should be greater than or equal "
            "to 1",
        ),
        (
            ["--queue-url", QUEUE, "--wait-seconds", "30"],
            {},
            "--wait-seconds (AGENTFLEET_WAIT_SECONDS): Input should be less than or equal to 20",
        ),
        (
            ["--queue-url", QUEUE, "--vllm-url", "localhost:8000"],
            {},
            "--vllm-url (AGENTFLEET_VLLM_URL): String should match pattern",
        ),
        (
            ["--queue-url", QUEUE, "--request-timeout", "soon"],
            {},
            "--request-timeout (AGENTFLEET_REQUEST_TIMEOUT): Input should be a valid number",
        ),
    ],
)
def test_bad_worker_settings_name_the_flag_and_variable(
    argv: list[str], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        settings_from(argv, environ)


def test_the_worker_refuses_bad_settings_with_exit_2_and_no_traceback() -> None:
    result = agentfleet("worker", "--queue-url", QUEUE, "--max-in-flight", "many")
    assert result.returncode == 2
    assert result.stderr.startswith("agentfleet worker: invalid settings\n--max-in-flight")
    assert "Traceback" not in result.stderr


def test_the_worker_exits_1_when_its_port_is_taken(moto: MotoServer, vllm: FakeVllm) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = agentfleet(
            "worker",
            "--queue-url",
            f"{moto.url}/123456789012/none",
            "--sqs-endpoint",
            moto.url,
            "--vllm-url",
            vllm.url,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        )
    assert result.returncode == 1
    assert f"agentfleet worker: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_submit_refuses_bad_input_with_exit_2() -> None:
    cases = [
        (["--queue-url", QUEUE, "--body", "{"], "agentfleet submit: --body: not valid JSON"),
        (
            ["--queue-url", QUEUE, "--body", "[]"],
            "agentfleet submit: --body: must be a JSON object",
        ),
        (
            ["--queue-url", QUEUE, "--body", "{}", "--wait", "5"],
            "agentfleet submit: --wait needs --reply-to",
        ),
        (["--queue-url", "q", "--body", "{}"], "agentfleet submit: 'q' is not an SQS queue URL"),
        (
            ["--queue-url", QUEUE, "--body-file", "/nonexistent.json"],
            "agentfleet submit: --body-file /nonexistent.json: cannot read",
        ),
    ]
    for argv, message in cases:
        result = agentfleet("submit", *argv)
        assert result.returncode == 2, argv
        assert result.stderr.startswith(message), result.stderr
        assert "Traceback" not in result.stderr


def local_sqs(moto: MotoServer, q: Queues) -> list[str]:
    """The submit flags for a tier queue and reply queue on moto_server."""
    return ["--queue-url", q.url, "--reply-to", q.reply_url, "--endpoint-url", moto.url,
            "--region", REGION]  # fmt: skip


def test_submit_waits_for_the_reply_and_exits_by_its_status(
    moto: MotoServer, sqs: Any, queues: MakeQueues, start_worker: StartWorker
) -> None:
    q = queues()
    worker = start_worker(q.url).wait_ready()
    common = local_sqs(moto, q)

    ok = agentfleet(
        "submit",
        *common,
        "--request-id",
        "cli-1",
        "--wait",
        "20",
        "--body-file",
        "-",
        stdin=json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
    )
    assert ok.returncode == 0, ok.stderr + worker.output()
    reply = json.loads(ok.stdout)
    assert reply["requestId"] == "cli-1"
    assert reply["status"] == "ok"
    assert reply["response"]["choices"][0]["message"]["content"] == "cli-1"

    refused = agentfleet(
        "submit",
        *common,
        "--wait",
        "20",
        "--api",
        "completions",
        "--body",
        json.dumps({"model": "m", "prompt": "x", "fake": {"status": 422}}),
    )
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"] == {
        "type": "client_error",
        "message": "fake failure 422",
    }

    sent = agentfleet(
        "submit",
        "--queue-url",
        q.url,
        "--endpoint-url",
        moto.url,
        "--region",
        REGION,
        "--body",
        "{}",
        "--request-id",
        "fire-and-forget",
    )
    assert sent.returncode == 0
    assert json.loads(sent.stdout) == {"requestId": "fire-and-forget"}


def test_submit_exits_1_when_no_reply_comes_in_time(moto: MotoServer, queues: MakeQueues) -> None:
    q = queues()  # no worker
    result = agentfleet(
        "submit", *local_sqs(moto, q), "--body", "{}", "--request-id", "lonely", "--wait", "1"
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "agentfleet submit: no reply to lonely within 1 s"


def test_the_client_api_sends_and_collects_replies(
    moto: MotoServer,
    sqs: Any,
    queues: MakeQueues,
    start_worker: StartWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    q = queues()
    start_worker(q.url).wait_ready()
    stranger = next(request_entries(["someone-else"], None))  # a reply queue shared by mistake
    sqs.send_message(
        QueueUrl=q.reply_url,
        MessageBody=json.dumps({"requestId": "x", "status": "ok", "statusCode": 200}),
        MessageAttributes=stranger["MessageAttributes"],
    )

    async def exchange() -> tuple[Any, dict[str, Any]]:
        async with QueueClient.connect(
            region=REGION, endpoint_url=moto.url, shared_reply_queue=True
        ) as client:
            single = await client.request(
                q.url,
                {"model": "m", "input": "a"},
                reply_to=q.reply_url,
                api="embeddings",
                timeout=20,
            )
            ids = [
                await client.submit(q.url, {"model": "m", "messages": []}, reply_to=q.reply_url)
                for _ in range(5)
            ]
            return single, await client.replies(q.reply_url, ids, timeout=20)

    loop = asyncio.new_event_loop()  # not asyncio.run: it leaves no loop for later tests
    try:
        single, several = loop.run_until_complete(exchange())
    finally:
        loop.close()
    assert single is not None
    assert single.ok
    assert single.response == {"object": "list", "data": [{"embedding": [0.5]}]}
    assert len(several) == 5
    assert all(reply.ok for reply in several.values())
    # shared: the stranger's reply was given back
    assert queue_size(sqs, q.reply_url)[0] == 1


def test_a_reply_this_client_never_asked_for_is_deleted_not_taken(
    sqs: Any,
    moto: MotoServer,
    queues: MakeQueues,
    start_worker: StartWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Anyone who may send to an agent's reply queue can forge a reply: one with a request
    id this client never sent is neither returned nor left to come back on every read."""
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    q = queues()
    start_worker(q.url).wait_ready()
    forged = {"requestId": "guessed", "status": "ok", "statusCode": 200, "response": "junk"}
    sqs.send_message(QueueUrl=q.reply_url, MessageBody=json.dumps(forged))

    async def exchange() -> tuple[Any, int]:
        async with QueueClient.connect(region=REGION, endpoint_url=moto.url) as client:
            reply = await client.request(
                q.url, {"model": "m", "messages": []}, reply_to=q.reply_url, timeout=20
            )
            return reply, client.dropped

    loop = asyncio.new_event_loop()
    try:
        reply, dropped = loop.run_until_complete(exchange())
    finally:
        loop.close()
    assert reply is not None
    assert reply.ok
    assert reply.response != "junk"
    assert dropped == 1
    assert queue_size(sqs, q.reply_url) == (0, 0)


def test_a_reply_too_large_for_sqs_becomes_an_error_reply(
    sqs: Any, queues: MakeQueues, start_worker: StartWorker
) -> None:
    q = queues()
    send_all(sqs, q.url, request_entries(["huge"], q.reply_url, fake={"pad": "x" * 300_000}))
    worker = start_worker(q.url).wait_ready()
    (reply,) = drain_replies(sqs, q.reply_url, {"huge"}, timeout=20)
    assert reply["statusCode"] == 413
    assert reply["error"]["type"] == "reply_too_large"
    assert reply["error"]["message"].endswith("a reply may have 262144")
    # The delete follows the reply (in the next batch call): deleted, not left to retry.
    wait_until(lambda: queue_size(sqs, q.url) == (0, 0), 10, "the request deleted")
    worker.signal(signal.SIGTERM)
    assert worker.wait(15) == 0
