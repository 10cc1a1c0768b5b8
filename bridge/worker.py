"""``agentfleet worker``: the sidecar that moves a tier's requests from SQS to vLLM.

One asyncio loop does everything: the receiver long-polls the queue while vLLM is
healthy and fewer than ``max_in_flight`` requests are running; each request runs as its
own task (forward to vLLM, reply, delete); a heartbeat extends the visibility of every
request still running; a watcher polls vLLM's ``/health``; a small HTTP server answers
the pod's probes and Prometheus.

What happens to a message:
- 2xx from vLLM: reply (when the request names a reply queue), then delete;
- 4xx (except 408 and 429) or a malformed request: error reply, then delete;
- 5xx, 408, 429, a connection error or a timeout: nothing; the message comes back after
  its visibility timeout and, after ``maxReceiveCount`` receives, rests in the DLQ;
- SIGTERM: stop receiving, let running requests finish for ``drain_seconds``, then make
  the unfinished ones visible again at once (visibility 0) and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from botocore.exceptions import BotoCoreError, ClientError

from bridge.answers import decode, error_message, read_at_most
from bridge.batching import SQS_BATCH, Batcher, BatchError
from bridge.credentials import weights_credentials_server
from bridge.protocol import (
    InvalidRequest,
    Reply,
    message_bytes,
    parse_request,
    reply_allowed,
    reply_message,
    sender_of,
)
from bridge.settings import WorkerError, WorkerSettings

if TYPE_CHECKING:
    from types_aiobotocore_sqs.client import SQSClient
    from types_aiobotocore_sqs.type_defs import MessageTypeDef, ReceiveMessageResultTypeDef

log = logging.getLogger("agentfleet.worker")

RETRIED_STATUSES = frozenset({408, 429})  # the server is busy or slow: try again later
FINAL_REPLY_ERRORS = frozenset(
    {
        # SQS's codes for a queue that is not there (query and JSON protocols), a sender
        # the queue's or the role's policy refuses, and a queue key the sender cannot use
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "AccessDenied",
        "AccessDeniedException",
        "KmsAccessDenied",
        "KmsDisabled",
        "KmsNotFound",
        "KmsInvalidState",
        "KmsInvalidKeyUsage",
    }
)
"""Reply errors no retry can mend: the request is settled, not run again to the DLQ."""
AWS_ERRORS = (BotoCoreError, ClientError)


@dataclass
class InFlight:
    receipt_handle: str
    task: asyncio.Task[None] | None = None


@dataclass
class Counters:
    received: int = 0
    replied: int = 0
    deleted: int = 0
    released: int = 0
    extended: int = 0
    failed: Counter[str] = field(default_factory=Counter)


class Worker:
    def __init__(self, settings: WorkerSettings, sqs: SQSClient, http: aiohttp.ClientSession):
        self.settings = settings
        self.sqs = sqs
        self.http = http
        self.counters = Counters()
        self.in_flight: dict[int, InFlight] = {}
        self.vllm_healthy = False
        self.queue_reachable = False
        self.stopping = asyncio.Event()
        self._stopped_at = 0.0
        self._in_flight_at_stop = 0
        self._wake = asyncio.Event()
        self._keys = itertools.count()
        self._deletes: Batcher = Batcher(
            lambda entries: sqs.delete_message_batch(QueueUrl=settings.queue_url, Entries=entries)  # type: ignore[arg-type]
        )
        self._reply_batchers: dict[str, Batcher] = {}

    # -- control -----------------------------------------------------------------------

    def stop(self) -> None:
        if not self.stopping.is_set():
            log.info("stopping: no more receives; draining %d in flight", len(self.in_flight))
            self.stopping.set()
            self._stopped_at = time.monotonic()
            self._in_flight_at_stop = len(self.in_flight)
            self._wake.set()

    @property
    def ready(self) -> bool:
        return self.vllm_healthy and self.queue_reachable and not self.stopping.is_set()

    async def run(self) -> None:
        """Receive until stopped, then drain."""
        background = [
            asyncio.create_task(self._watch_vllm()),
            asyncio.create_task(self._heartbeat()),
        ]
        try:
            await self._receive_loop()
            await self._drain()
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)

    async def _pause(self, seconds: float) -> None:
        """Sleep, returning early when the worker is told to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    # -- receiving ---------------------------------------------------------------------

    async def _room(self) -> int:
        """Wait until vLLM is healthy and a slot is free; 0 once stopping."""
        while True:
            self._wake.clear()
            if self.stopping.is_set():
                return 0
            free = self.settings.max_in_flight - len(self.in_flight)
            if self.vllm_healthy and free > 0:
                return free
            await self._wake.wait()

    async def _receive_loop(self) -> None:
        backoff = 1.0
        while free := await self._room():
            try:
                response = await self._poll(free)
            except AWS_ERRORS as error:
                self.queue_reachable = False
                log.warning("cannot receive from the queue (retry in %.0f s): %s", backoff, error)
                await self._pause(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if response is None:  # stopped during the long poll
                return
            self.queue_reachable, backoff = True, 1.0
            messages = response.get("Messages", [])
            self.counters.received += len(messages)
            if self.stopping.is_set():
                # Received while the stop arrived: give them straight back.
                await self._release([message["ReceiptHandle"] for message in messages])
                return
            for message in messages:
                key = next(self._keys)
                entry = self.in_flight[key] = InFlight(message["ReceiptHandle"])
                entry.task = asyncio.create_task(self._process(key, message))

    async def _poll(self, free: int) -> ReceiveMessageResultTypeDef | None:
        """One long poll, abandoned the moment the worker is told to stop (None): the drain
        must not wait out ``wait_seconds``. A message SQS handed out to an abandoned poll
        stays hidden for the visibility timeout, then returns to the queue."""
        receive = asyncio.ensure_future(
            self.sqs.receive_message(
                QueueUrl=self.settings.queue_url,
                MaxNumberOfMessages=min(SQS_BATCH, free),
                WaitTimeSeconds=self.settings.wait_seconds,
                VisibilityTimeout=self.settings.visibility_timeout,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["SenderId"],
            )
        )
        stopped = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({receive, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if receive.done():
            return receive.result()
        receive.cancel()
        with contextlib.suppress(asyncio.CancelledError, *AWS_ERRORS):
            await receive
        return None

    async def _process(self, key: int, message: MessageTypeDef) -> None:
        try:
            await self._settle(self.in_flight[key].receipt_handle, message)
        except Exception:
            self.counters.failed["internal"] += 1
            log.exception("unexpected error on message %s", message.get("MessageId"))
        finally:
            del self.in_flight[key]
            self._wake.set()

    # -- one request -------------------------------------------------------------------

    async def _settle(self, receipt_handle: str, message: MessageTypeDef) -> None:
        try:
            request = parse_request(message)
        except InvalidRequest as invalid:
            self.counters.failed["invalid"] += 1
            # ids and queue names as repr: a newline in them cannot forge a log line
            log.warning("invalid request %r: %s", invalid.request_id, invalid.reason)
            if (
                invalid.request_id
                and invalid.reply_to
                and self._may_reply(invalid.reply_to, sender_of(message))
            ):
                reply = Reply(
                    invalid.request_id,
                    "error",
                    400,
                    error_type="invalid_request",
                    error_message=invalid.reason,
                )
                if not await self._reply(reply, invalid.reply_to):
                    return
            await self._delete(receipt_handle)
            return
        if request.reply_to and not self._may_reply(request.reply_to, sender_of(message)):
            # No reply can reach it; running it would only spend the GPU.
            self.counters.failed["reply_denied"] += 1
            log.warning(
                "request %r names reply queue %r, which this tier may not send to; deleted unrun",
                request.request_id,
                request.reply_to,
            )
            await self._delete(receipt_handle)
            return

        try:
            async with self.http.post(
                self.settings.vllm_url + request.path,
                data=request.body,
                headers=self._headers(request.request_id),
                timeout=aiohttp.ClientTimeout(total=self.settings.request_timeout),
            ) as response:
                status = response.status
                payload = await read_at_most(response, self.settings.max_reply_bytes)
        except TimeoutError:
            self.counters.failed["timeout"] += 1
            log.warning("request %r timed out; it will be retried", request.request_id)
            return
        except aiohttp.ClientError as error:
            self.counters.failed["connection"] += 1
            log.warning("request %r: vLLM unreachable (%s); retried", request.request_id, error)
            return
        if status >= 500 or status in RETRIED_STATUSES:
            self.counters.failed["server_error"] += 1
            log.warning(
                "request %s: vLLM answered %d; it will be retried", request.request_id, status
            )
            return

        if payload is None:  # longer than any reply may be: not read, not parsed
            self.counters.failed["reply_too_large"] += 1
            reply = Reply(
                request.request_id,
                "error",
                413,
                error_type="reply_too_large",
                error_message=f"the response is over {self.settings.max_reply_bytes} bytes; "
                f"a reply may have {self.settings.max_reply_bytes}",
            )
            if request.reply_to and not await self._reply(reply, request.reply_to):
                return
            await self._delete(receipt_handle)
            return
        body = decode(payload)
        if status < 300:
            reply = Reply(request.request_id, "ok", status, response=body)
        else:
            self.counters.failed["client_error"] += 1
            reply = Reply(
                request.request_id,
                "error",
                status,
                error_type="client_error",
                error_message=error_message(body),
            )
        if request.reply_to and not await self._reply(reply, request.reply_to):
            return
        await self._delete(receipt_handle)

    def _headers(self, request_id: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "X-Request-Id": request_id}
        if self.settings.vllm_api_key:
            headers["Authorization"] = f"Bearer {self.settings.vllm_api_key}"
        return headers

    def _may_reply(self, queue_url: str, sender: str | None) -> bool:
        """Whether the tier may answer on ``queue_url``: a sender the tier maps to its
        reply queues gets those alone; any other, the tier's allow-list (none at all, when
        the tier maps senders but has no list; any queue, when it has neither)."""
        mapped = self.settings.reply_queues_by_sender or {}
        allowed = mapped.get(sender or "", self.settings.reply_queues)
        if allowed is None:
            return not mapped
        return reply_allowed(queue_url, allowed, self.settings.sqs_endpoint)

    async def _reply(self, reply: Reply, queue_url: str) -> bool:
        """Send a reply; True when it went, or when it never can (a reply queue that does
        not exist or refuses this worker: running the request again would not change that);
        False (and the message left to come back) when it may go later."""
        params = reply_message(reply, queue_url)
        size = message_bytes(params)
        if size > self.settings.max_reply_bytes:
            self.counters.failed["reply_too_large"] += 1
            params = reply_message(
                Reply(
                    reply.request_id,
                    "error",
                    413,
                    error_type="reply_too_large",
                    error_message=f"the response is {size} bytes; a reply may have "
                    f"{self.settings.max_reply_bytes}",
                ),
                queue_url,
            )
        batcher = self._reply_batchers.get(queue_url)
        if batcher is None:
            # One per reply queue while it has replies on the way; agents often have a
            # reply queue each, so idle ones are dropped rather than kept for good.
            batcher = self._reply_batchers[queue_url] = Batcher(
                lambda entries: self.sqs.send_message_batch(QueueUrl=queue_url, Entries=entries),  # type: ignore[arg-type]
                max_bytes=self.settings.max_reply_bytes,
                size=message_bytes,
                on_idle=lambda: self._drop_reply_batcher(queue_url),
            )
        params.pop("QueueUrl")
        try:
            await batcher.submit(params)
        except BatchError as error:
            if error.code in FINAL_REPLY_ERRORS:
                self.counters.failed["reply_unreachable"] += 1
                log.warning(
                    "reply queue %r refuses the reply to %r (%s); the request is settled",
                    queue_url,
                    reply.request_id,
                    error.code,
                )
                return True
            self.counters.failed["reply"] += 1
            log.warning("cannot reply to %r for %r: %s", queue_url, reply.request_id, error)
            return False
        self.counters.replied += 1
        return True

    def _drop_reply_batcher(self, queue_url: str) -> None:
        self._reply_batchers.pop(queue_url, None)

    async def _delete(self, receipt_handle: str) -> None:
        try:
            await self._deletes.submit({"ReceiptHandle": receipt_handle})
        except BatchError as error:
            self.counters.failed["delete"] += 1
            log.warning("cannot delete a settled message (it may come back): %s", error)
        else:
            self.counters.deleted += 1

    # -- visibility --------------------------------------------------------------------

    async def _change_visibility(self, receipt_handles: list[str], seconds: int) -> int:
        """Set the visibility of messages, ten at a time; how many took it."""
        changed = 0
        for start in range(0, len(receipt_handles), SQS_BATCH):
            batch = receipt_handles[start : start + SQS_BATCH]
            try:
                result = await self.sqs.change_message_visibility_batch(
                    QueueUrl=self.settings.queue_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                        for index, handle in enumerate(batch)
                    ],
                )
            except AWS_ERRORS as error:
                log.warning("cannot change the visibility of %d messages: %s", len(batch), error)
                continue
            changed += len(result.get("Successful", []))
        return changed

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.extend_every)
            handles = [entry.receipt_handle for entry in self.in_flight.values()]
            if handles:
                self.counters.extended += await self._change_visibility(
                    handles, self.settings.visibility_timeout
                )

    async def _release(self, receipt_handles: list[str]) -> None:
        if receipt_handles:
            self.counters.released += await self._change_visibility(receipt_handles, 0)
            log.info("released %d messages to other workers", len(receipt_handles))

    async def _drain(self) -> None:
        """Let what was in flight at the stop finish within the drain, counted from the
        signal; hand the rest back at once. The log counts from the stop, so requests that
        finished while the last poll was abandoned count as finished."""
        tasks = [entry.task for entry in self.in_flight.values() if entry.task]
        if tasks:
            # The grace period started at the signal, not when the last poll came back.
            left = self.settings.drain - (time.monotonic() - self._stopped_at)
            await asyncio.wait(tasks, timeout=max(0.0, left))
        unfinished = [entry for entry in self.in_flight.values() if entry.task]
        for entry in unfinished:
            assert entry.task is not None
            entry.task.cancel()
        await asyncio.gather(
            *(entry.task for entry in unfinished if entry.task), return_exceptions=True
        )
        await self._release([entry.receipt_handle for entry in unfinished])
        finished = max(0, self._in_flight_at_stop - len(unfinished))
        log.info("drained: %d finished, %d released", finished, len(unfinished))

    # -- vLLM health -------------------------------------------------------------------

    async def _watch_vllm(self) -> None:
        url = self.settings.vllm_url + "/health"
        timeout = aiohttp.ClientTimeout(total=min(5.0, self.settings.health_interval * 2))
        while True:
            try:
                async with self.http.get(url, timeout=timeout) as response:
                    healthy = response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                healthy = False
            if healthy != self.vllm_healthy:
                log.info("vLLM is %s", "healthy" if healthy else "not healthy")
                self.vllm_healthy = healthy
                self._wake.set()
            await asyncio.sleep(self.settings.health_interval)

    # -- probes and metrics ------------------------------------------------------------

    def metrics(self) -> str:
        c = self.counters
        lines: list[str] = []

        def metric(name: str, kind: str, help_: str, samples: Mapping[str, float]) -> None:
            lines.append(f"# HELP agentfleet_worker_{name} {help_}")
            lines.append(f"# TYPE agentfleet_worker_{name} {kind}")
            lines.extend(
                f"agentfleet_worker_{name}{labels} {value:g}" for labels, value in samples.items()
            )

        metric("received_total", "counter", "Messages received from the queue.", {"": c.received})
        metric("replied_total", "counter", "Replies sent (ok or error).", {"": c.replied})
        metric("deleted_total", "counter", "Messages settled and deleted.", {"": c.deleted})
        metric(
            "released_total", "counter", "Messages made visible again at once.", {"": c.released}
        )
        metric("visibility_extended_total", "counter", "Visibility extensions.", {"": c.extended})
        metric(
            "failed_total",
            "counter",
            "Requests that did not succeed, by reason.",
            {f'{{reason="{reason}"}}': count for reason, count in sorted(c.failed.items())}
            or {'{reason="none"}': 0},
        )
        metric("in_flight", "gauge", "Requests being processed.", {"": len(self.in_flight)})
        metric(
            "max_in_flight",
            "gauge",
            "The cap on requests in flight.",
            {"": self.settings.max_in_flight},
        )
        metric(
            "vllm_healthy", "gauge", "1 when vLLM's /health answers 200.", {"": self.vllm_healthy}
        )
        metric(
            "queue_reachable",
            "gauge",
            "1 when the last receive from the queue succeeded.",
            {"": self.queue_reachable},
        )
        metric("draining", "gauge", "1 after SIGTERM.", {"": self.stopping.is_set()})
        return "\n".join(lines) + "\n"

    def app(self) -> web.Application:
        async def livez(_: web.Request) -> web.Response:
            return web.json_response({"status": "alive"})

        async def readyz(_: web.Request) -> web.Response:
            state = {
                "ready": self.ready,
                "vllmHealthy": self.vllm_healthy,
                "queueReachable": self.queue_reachable,
                "draining": self.stopping.is_set(),
                "inFlight": len(self.in_flight),
            }
            return web.json_response(state, status=200 if self.ready else 503)

        async def metrics(_: web.Request) -> web.Response:
            return web.Response(text=self.metrics(), content_type="text/plain", charset="utf-8")

        app = web.Application()
        app.router.add_get("/livez", livez)
        app.router.add_get("/readyz", readyz)
        app.router.add_get("/metrics", metrics)
        return app


async def serve(settings: WorkerSettings) -> None:
    """Run a worker until SIGTERM or SIGINT, and drain it."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    region = settings.region or os.environ.get("AWS_REGION") or settings.queue_region
    config = AioConfig(
        max_pool_connections=min(100, settings.max_in_flight + 4),
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=settings.wait_seconds + 10,
    )
    try:
        client = get_session().create_client(
            "sqs", region_name=region, endpoint_url=settings.sqs_endpoint, config=config
        )
        sqs = await client.__aenter__()
    except BotoCoreError as error:
        raise WorkerError(f"cannot make an SQS client: {error}") from None
    try:
        async with weights_credentials_server(settings, region):
            await _serve(settings, sqs)
    finally:
        await client.__aexit__(None, None, None)


async def _serve(settings: WorkerSettings, sqs: SQSClient) -> None:
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=settings.max_in_flight)) as http,
    ):
        worker = Worker(settings, sqs, http)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        runner = web.AppRunner(worker.app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.host, settings.port).start()
        except OSError as error:
            await runner.cleanup()
            raise WorkerError(
                f"cannot listen on {settings.host}:{settings.port}: {error}"
            ) from None
        log.info(
            "worker up: queue %s -> %s, at most %d in flight, probes on :%d",
            settings.queue_url,
            settings.vllm_url,
            settings.max_in_flight,
            settings.port,
        )
        started = time.monotonic()
        try:
            await worker.run()
        finally:
            await runner.cleanup()
        c = worker.counters
        log.info(
            "worker stopped after %.0f s: received %d, replied %d, deleted %d, released %d, "
            "failed %d",
            time.monotonic() - started,
            c.received,
            c.replied,
            c.deleted,
            c.released,
            sum(c.failed.values()),
        )
