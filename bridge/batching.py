"""Group single SQS calls into batch calls (ten entries at most) without holding any of
them back for long: fewer requests to SQS, which bills per request, and far less CPU in
the worker, where signing and parsing a call costs more than forwarding a request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

SQS_BATCH = 10  # the most entries one SQS batch call takes
Entry = dict[str, Any]


class BatchError(Exception):
    """An entry that SQS refused, or a batch call that failed as a whole; ``code`` is
    SQS's error code, when it gave one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class Batcher:
    """Collects entries and sends them ``SQS_BATCH`` at a time through ``send``, which
    takes ``[{"Id": ..., **entry}]`` and returns the batch response. An entry waits at
    most ``linger`` seconds for others; a batch never exceeds ``max_bytes`` by
    ``size``. ``submit`` returns when its entry went through, or raises BatchError.
    ``on_idle`` is called when nothing is waiting or being sent any more."""

    def __init__(
        self,
        send: Callable[[list[Entry]], Awaitable[Any]],
        *,
        linger: float = 0.01,
        max_bytes: int | None = None,
        size: Callable[[Entry], int] = lambda _: 0,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self._send = send
        self._linger = linger
        self._max_bytes = max_bytes
        self._size = size
        self._pending: list[tuple[Entry, asyncio.Future[None]]] = []
        self._bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._on_idle = on_idle

    async def submit(self, entry: Entry) -> None:
        size = self._size(entry)
        if self._max_bytes is not None and self._bytes + size > self._max_bytes:
            self._flush()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Read the outcome even when the caller was cancelled, so none goes unreported.
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._pending.append((entry, future))
        self._bytes += size
        if len(self._pending) >= SQS_BATCH:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._linger, self._flush)
        await asyncio.shield(future)  # a cancelled caller leaves the batch intact

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending, self._bytes = self._pending, [], 0
        if batch:
            task = asyncio.get_running_loop().create_task(self._call(batch))
            self._flushes.add(task)
            task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._flushes.discard(task)
        if self._on_idle is not None and not self._pending and not self._flushes:
            self._on_idle()

    async def _call(self, batch: list[tuple[Entry, asyncio.Future[None]]]) -> None:
        try:
            response = await self._send(
                [{"Id": str(index), **entry} for index, (entry, _) in enumerate(batch)]
            )
        except (BotoCoreError, ClientError) as error:
            code = (
                error.response.get("Error", {}).get("Code")
                if isinstance(error, ClientError)
                else None
            )
            for _, future in batch:
                if not future.done():
                    future.set_exception(BatchError(str(error), code))
            return
        failed = {item["Id"]: item for item in response.get("Failed", [])}
        for index, (_, future) in enumerate(batch):
            if future.done():
                continue
            problem = failed.get(str(index))
            if problem is None:
                future.set_result(None)
            else:
                code = problem.get("Code")
                future.set_exception(
                    BatchError(f"{code}: {problem.get('Message', '')}".strip(), code)
                )
