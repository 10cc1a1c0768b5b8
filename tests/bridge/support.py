"""Loopback stand-ins for the worker's two ends: SQS (moto_server, a real process speaking
the SQS protocol) and vLLM (a fake OpenAI-compatible server with controllable latency
and failures), plus a handle on a worker process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from aiohttp import web

from bridge.protocol import API, REPLY_TO, REQUEST_ID, string_attribute
from tests.helpers import REPO

REGION = "us-east-1"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, step: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a process we started, by its PID: SIGTERM, then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class MotoServer:
    """``moto_server`` on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        moto = Path(sys.executable).with_name("moto_server")
        self.process = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(self._up, 30, "moto_server to listen")
        except AssertionError:
            stop_process(self.process)
            raise

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"moto_server exited with {self.process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
            return True
        return False

    def stop(self) -> None:
        stop_process(self.process)


class FakeVllm:
    """An OpenAI-compatible server on loopback, in a thread of its own. A request's body
    may carry ``"fake": {"latency": s, "status": code}``; otherwise it answers 200 after
    ``latency`` seconds. It records calls, completions and the most seen at once."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.healthy = True
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls: Counter[str] = Counter()
        self.completed: Counter[str] = Counter()
        self.arrivals: list[float] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise AssertionError("the fake vLLM server did not start")
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/health", self._health)
        for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
            app.router.add_post(path, self._serve)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True
        )
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self._loop.run_forever()

    async def _health(self, _: web.Request) -> web.Response:
        return web.Response(status=200 if self.healthy else 503)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        request_id = request.headers.get("X-Request-Id", "")
        fake = body.get("fake") or {}
        with self.lock:
            self.calls[request_id] += 1
            self.arrivals.append(time.monotonic())
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(float(fake.get("latency", self.latency)))
            status = int(fake.get("status", 200))
            if status >= 400:
                return web.json_response(
                    {"object": "error", "message": f"fake failure {status}", "code": status},
                    status=status,
                )
            with self.lock:
                self.completed[request_id] += 1
            if "response_bytes" in fake:  # a huge answer (logprobs, n, prompt lists), streamed
                return await self._huge(request, int(fake["response_bytes"]))
            if request.path.endswith("embeddings"):
                return web.json_response({"object": "list", "data": [{"embedding": [0.5]}]})
            return web.json_response(
                {
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": request_id}}
                    ],
                    "size": len(fake.get("pad", "")),
                    "pad": fake.get("pad", ""),
                }
            )
        finally:
            with self.lock:
                self.in_flight -= 1

    async def _huge(self, request: web.Request, size: int) -> web.StreamResponse:
        """A JSON answer of ``size`` bytes, written a megabyte at a time."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        head, tail = b'{"object":"chat.completion","pad":"', b'"}'
        await response.write(head)
        left, chunk = size - len(head) - len(tail), b"x" * 1_048_576
        with contextlib.suppress(ConnectionResetError):  # the reader may stop early
            while left > 0:
                await response.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
            await response.write(tail)
            await response.write_eof()
        return response

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class WorkerProcess:
    """The worker as a process of its own (``python -m bridge``, the entry point of
    ``agentfleet-worker`` and of the image), logging to a file."""

    def __init__(self, log: Path, **settings: object) -> None:
        self.port = free_port()
        self.log = log
        flags = {"port": self.port, "host": "127.0.0.1", "wait-seconds": 1, "health-interval": 0.2}
        flags.update({key.replace("_", "-"): value for key, value in settings.items()})
        argv = [sys.executable, "-m", "bridge", "--log-level", "DEBUG"]
        for flag, value in flags.items():
            argv += [f"--{flag}", str(value)]
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            argv,
            cwd=REPO,
            env={**os.environ, **AWS_ENV},
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}{path}", timeout=2
            ) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def status(self, path: str) -> int:
        """The HTTP status of a probe; 0 while nothing listens. Fails if the worker died."""
        if self.process.poll() is not None:
            raise AssertionError(
                f"the worker exited with {self.process.returncode}:\n{self.output()}"
            )
        with contextlib.suppress(OSError):
            return self.get(path)[0]
        return 0

    def ready(self) -> bool:
        return self.status("/readyz") == 200

    def wait_ready(self, timeout: float = 20) -> WorkerProcess:
        wait_until(self.ready, timeout, "the worker to be ready")
        return self

    def metrics(self) -> dict[str, float]:
        """The /metrics samples, by name with labels."""
        _, text = self.get("/metrics")
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log_file.close()


def request_entries(
    ids: Iterable[str],
    reply_to: str | None,
    api: str = "chat.completions",
    fake: dict[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    for request_id in ids:
        attributes = {REQUEST_ID: string_attribute(request_id), API: string_attribute(api)}
        if reply_to:
            attributes[REPLY_TO] = string_attribute(reply_to)
        body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": request_id}]}
        if fake:
            body["fake"] = fake
        yield {"MessageBody": json.dumps(body), "MessageAttributes": attributes}


def send_all(sqs: Any, queue_url: str, entries: Iterable[dict[str, Any]]) -> int:
    batch: list[dict[str, Any]] = []
    sent = 0

    def flush() -> None:
        nonlocal sent
        if batch:
            result = sqs.send_message_batch(
                QueueUrl=queue_url, Entries=[{"Id": str(i), **e} for i, e in enumerate(batch)]
            )
            assert not result.get("Failed"), result["Failed"]
            sent += len(batch)
            batch.clear()

    for entry in entries:
        batch.append(entry)
        if len(batch) == 10:
            flush()
    flush()
    return sent


def drain_replies(
    sqs: Any, queue_url: str, want: set[str], timeout: float, settle: float = 0.0
) -> list[dict[str, Any]]:
    """Receive and delete replies until every id in ``want`` has one (then ``settle``
    seconds more, to catch duplicates) or ``timeout`` passes; every reply body, in order."""
    replies: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    settle_until: float | None = None
    while time.monotonic() < deadline and (settle_until is None or time.monotonic() < settle_until):
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        for message in messages:
            replies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if settle_until is None and want <= {reply["requestId"] for reply in replies}:
            settle_until = time.monotonic() + settle
        if not messages:
            time.sleep(0.05)
    return replies


def queue_size(sqs: Any, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )
