"""Batcher: single calls grouped into SQS batch calls, with a fake batch call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from bridge.batching import Batcher, BatchError, Entry


class FakeBatchCall:
    def __init__(self, fail_ids: frozenset[str] = frozenset(), down: bool = False) -> None:
        self.calls: list[list[Entry]] = []
        self.fail_ids = fail_ids
        self.down = down

    async def __call__(self, entries: list[Entry]) -> dict[str, Any]:
        self.calls.append(entries)
        await asyncio.sleep(0)
        if self.down:
            raise EndpointConnectionError(endpoint_url="http://sqs")
        failed = [e for e in entries if e["value"] in self.fail_ids]
        return {
            "Successful": [{"Id": e["Id"]} for e in entries if e not in failed],
            "Failed": [
                {"Id": e["Id"], "Code": "ReceiptHandleIsInvalid", "Message": "gone"} for e in failed
            ],
        }


def run(coroutine: Any) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def test_25_entries_go_in_three_calls_of_at_most_ten() -> None:
    send = FakeBatchCall()

    async def main() -> None:
        batcher = Batcher(send, linger=0.05)
        await asyncio.gather(*(batcher.submit({"value": str(i)}) for i in range(25)))

    run(main())
    assert [len(call) for call in send.calls] == [10, 10, 5]
    assert [entry["value"] for call in send.calls for entry in call] == [str(i) for i in range(25)]
    assert [entry["Id"] for entry in send.calls[0]] == [str(i) for i in range(10)]


def test_a_lone_entry_waits_only_the_linger() -> None:
    send = FakeBatchCall()

    async def main() -> float:
        batcher = Batcher(send, linger=0.02)
        started = asyncio.get_running_loop().time()
        await batcher.submit({"value": "alone"})
        return asyncio.get_running_loop().time() - started

    waited = run(main())
    assert 0.015 < waited < 0.5
    assert send.calls == [[{"Id": "0", "value": "alone"}]]


def test_a_batch_never_exceeds_max_bytes() -> None:
    send = FakeBatchCall()

    async def main() -> None:
        batcher = Batcher(send, max_bytes=100, size=lambda entry: int(entry["value"]))
        await asyncio.gather(*(batcher.submit({"value": v}) for v in ("60", "30", "20", "90", "5")))

    run(main())
    assert [[e["value"] for e in call] for call in send.calls] == [
        ["60", "30"],
        ["20"],
        ["90", "5"],
    ]


def test_refused_entries_and_failed_calls_raise_for_their_callers_only() -> None:
    send = FakeBatchCall(fail_ids=frozenset({"b"}))

    async def main(batcher: Batcher, values: tuple[str, ...]) -> list[BaseException | None]:
        return list(
            await asyncio.gather(
                *(batcher.submit({"value": v}) for v in values), return_exceptions=True
            )
        )

    outcomes = run(main(Batcher(send), ("a", "b", "c")))
    assert outcomes[0] is None
    assert outcomes[2] is None
    assert isinstance(outcomes[1], BatchError)
    assert str(outcomes[1]) == "ReceiptHandleIsInvalid: gone"

    down = FakeBatchCall(down=True)
    outcomes = run(main(Batcher(down), ("a", "b")))
    assert all(isinstance(outcome, BatchError) for outcome in outcomes)
    assert "Could not connect" in str(outcomes[0])


def test_a_cancelled_caller_does_not_cancel_the_batch() -> None:
    send = FakeBatchCall()

    async def main() -> None:
        batcher = Batcher(send, linger=0.05)
        first = asyncio.create_task(batcher.submit({"value": "kept"}))
        second = asyncio.create_task(batcher.submit({"value": "cancelled"}))
        await asyncio.sleep(0.01)
        second.cancel()
        await first
        with pytest.raises(asyncio.CancelledError):
            await second

    run(main())
    assert [e["value"] for e in send.calls[0]] == ["kept", "cancelled"]


def test_on_idle_is_called_once_everything_is_sent() -> None:
    send = FakeBatchCall()
    idle: list[int] = []

    async def main() -> None:
        batcher = Batcher(send, linger=0.01, on_idle=lambda: idle.append(len(send.calls)))
        await asyncio.gather(*(batcher.submit({"value": str(i)}) for i in range(12)))
        await asyncio.sleep(0.01)

    run(main())
    assert idle == [2]  # after both calls, not between them
