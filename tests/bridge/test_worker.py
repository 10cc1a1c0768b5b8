"""The worker against real SQS protocol (moto_server) and a fake vLLM, on loopback."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.bridge.conftest import Queues
from tests.bridge.support import (
    FakeVllm,
    WorkerProcess,
    drain_replies,
    queue_size,
    request_entries,
    send_all,
    wait_until,
)

pytestmark = pytest.mark.integration

StartWorker = Callable[..., WorkerProcess]
MakeQueues = Callable[..., Queues]


MOTO_SENDER = "AIDAIT2UOQQY3AUEKVGXU"
"""The SenderId moto_server gives every message (an IAM user's unique id)."""


def ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{index:04d}" for index in range(count)]


def test_200_requests_get_one_reply_each_and_never_exceed_the_cap(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    q = queues()
    vllm.latency = 0.05
    wanted = ids("r", 200)
    send_all(sqs, q.url, request_entries(wanted, q.reply_url))
    worker = start_worker(q.url, max_in_flight=8).wait_ready()

    replies = drain_replies(sqs, q.reply_url, set(wanted), timeout=90, settle=1.0)

    by_id = Counter(reply["requestId"] for reply in replies)
    assert set(by_id) == set(wanted), worker.output()
    assert max(by_id.values()) == 1
    assert all(reply["status"] == "ok" and reply["statusCode"] == 200 for reply in replies)
    assert replies[0]["response"]["choices"][0]["message"]["content"] == replies[0]["requestId"]
    assert vllm.max_in_flight <= 8
    assert vllm.max_in_flight > 1  # the cap was used, not one at a time
    assert sum(vllm.calls.values()) == 200
    wait_until(lambda: queue_size(sqs, q.url) == (0, 0), 10, "every request deleted")
    metrics = worker.metrics()
    assert metrics["agentfleet_worker_received_total"] == 200
    assert metrics["agentfleet_worker_replied_total"] == 200
    assert metrics["agentfleet_worker_deleted_total"] == 200
    assert metrics["agentfleet_worker_in_flight"] == 0
    assert metrics["agentfleet_worker_max_in_flight"] == 8


def test_a_worker_killed_mid_batch_loses_nothing(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    q = queues(visibility=2)
    vllm.latency = 0.3
    wanted = ids("k", 60)
    send_all(sqs, q.url, request_entries(wanted, q.reply_url))
    first = start_worker(q.url, max_in_flight=6, visibility_timeout=2).wait_ready()
    wait_until(
        lambda: sum(vllm.completed.values()) >= 15 and vllm.in_flight > 0,
        30,
        "a quarter of the batch done and more running",
        step=0.01,
    )
    first.signal(signal.SIGKILL)  # in the middle of work
    first.wait(10)

    start_worker(q.url, max_in_flight=6, visibility_timeout=2).wait_ready()
    replies = drain_replies(sqs, q.reply_url, set(wanted), timeout=90, settle=3.0)

    by_id = Counter(reply["requestId"] for reply in replies)
    assert set(by_id) == set(wanted)  # no loss
    duplicates = sum(by_id.values()) - len(by_id)
    assert duplicates <= 6  # at most what was in flight when it died
    wait_until(lambda: queue_size(sqs, q.url) == (0, 0), 10, "every request deleted")


def test_sigterm_finishes_in_flight_receives_nothing_new_and_hands_over_at_once(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    q = queues(visibility=60)  # a message left hidden would stay so for a minute
    vllm.latency = 1.0
    wanted = ids("t", 30)
    send_all(sqs, q.url, request_entries(wanted, q.reply_url))
    drain = 20
    first = start_worker(
        q.url, max_in_flight=5, visibility_timeout=60, drain_seconds=drain
    ).wait_ready()
    wait_until(lambda: vllm.in_flight == 5, 20, "a full batch in flight")
    calls_before = sum(vllm.calls.values())
    first.signal(signal.SIGTERM)

    # It exits once the running requests finish, without waiting out the whole drain.
    assert first.wait(timeout=drain * 3 / 4) == 0, first.output()
    assert sum(vllm.calls.values()) == calls_before  # nothing new was taken on
    assert sum(vllm.completed.values()) == calls_before  # what was running finished
    assert f"drained: {calls_before} finished, 0 released" in first.output()
    # Handed over at once: what it finished is deleted, nothing is left hidden for the
    # visibility timeout's minute, and the rest waits visible for the next worker.
    assert queue_size(sqs, q.url) == (len(wanted) - calls_before, 0)

    second = start_worker(q.url, max_in_flight=10, visibility_timeout=60).wait_ready()
    replies = drain_replies(sqs, q.reply_url, set(wanted), timeout=30)
    assert {reply["requestId"] for reply in replies} == set(wanted), second.output()


def test_sigterm_releases_what_cannot_finish_within_the_drain(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    q = queues(visibility=60)
    wanted = ids("s", 4)
    send_all(sqs, q.url, request_entries(wanted, q.reply_url, fake={"latency": 30}))
    first = start_worker(
        q.url, max_in_flight=4, visibility_timeout=60, drain_seconds=1
    ).wait_ready()
    wait_until(lambda: vllm.in_flight == 4, 20, "the slow requests to start")
    first.signal(signal.SIGTERM)
    assert first.wait(15) == 0, first.output()
    assert queue_size(sqs, q.url) == (4, 0)  # visible again at once, not in 60 s

    start_worker(q.url, max_in_flight=4, visibility_timeout=60).wait_ready()
    wait_until(lambda: all(vllm.calls[i] == 2 for i in wanted), 10, "a second attempt at each")


def test_a_drain_shorter_than_the_long_poll_is_kept_and_reported_truthfully(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    """SIGTERM in the middle of a 20 s long poll with four requests running: the poll is
    abandoned, the four finish inside the 3 s drain, the worker exits well before the poll
    would have returned, and its log says four finished."""
    q = queues(visibility=60)
    wanted = ids("d", 4)
    send_all(sqs, q.url, request_entries(wanted, q.reply_url, fake={"latency": 1.5}))
    poll = 20
    worker = start_worker(
        q.url, max_in_flight=8, visibility_timeout=60, drain_seconds=3, wait_seconds=poll
    ).wait_ready()
    wait_until(lambda: vllm.in_flight == 4, 20, "the four requests running")
    # The queue is empty and four slots are free: the worker is in a 20 s long poll.
    worker.signal(signal.SIGTERM)
    # A worker that waited for its poll to return could not exit within half of it.
    assert worker.wait(timeout=poll / 2) == 0, worker.output()
    assert sum(vllm.completed[i] for i in wanted) == 4
    assert "drained: 4 finished, 0 released" in worker.output()


def test_a_request_that_always_fails_with_5xx_ends_in_the_dead_letter_queue(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    q = queues(visibility=1, max_receive_count=3)
    send_all(sqs, q.url, request_entries(["bad"], q.reply_url, fake={"status": 500}))
    worker = start_worker(q.url, visibility_timeout=1).wait_ready()

    wait_until(lambda: queue_size(sqs, q.dlq_url)[0] == 1, 30, "the message in the DLQ")
    assert vllm.calls["bad"] == 3  # one call per receive, maxReceiveCount receives
    dead = sqs.receive_message(QueueUrl=q.dlq_url, MessageAttributeNames=["All"])["Messages"][0]
    assert dead["MessageAttributes"]["agentfleet.requestId"]["StringValue"] == "bad"
    assert queue_size(sqs, q.url) == (0, 0)
    assert queue_size(sqs, q.reply_url) == (0, 0)  # no reply for a server failure
    metrics = worker.metrics()
    assert metrics['agentfleet_worker_failed_total{reason="server_error"}'] == 3
    assert metrics["agentfleet_worker_replied_total"] == 0


def test_a_4xx_gets_an_error_reply_and_is_deleted(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    q = queues(visibility=1, max_receive_count=3)
    send_all(sqs, q.url, request_entries(["too-long"], q.reply_url, fake={"status": 400}))
    worker = start_worker(q.url, visibility_timeout=1).wait_ready()

    (reply,) = drain_replies(sqs, q.reply_url, {"too-long"}, timeout=20, settle=2.5)
    assert reply == {
        "requestId": "too-long",
        "status": "error",
        "statusCode": 400,
        "error": {"type": "client_error", "message": "fake failure 400"},
    }
    assert vllm.calls["too-long"] == 1  # deleted, so never received again
    wait_until(lambda: queue_size(sqs, q.url) == (0, 0), 10, "every request deleted")
    assert queue_size(sqs, q.dlq_url) == (0, 0)
    assert worker.metrics()['agentfleet_worker_failed_total{reason="client_error"}'] == 1


def test_a_malformed_request_gets_an_error_reply_and_is_deleted(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    q = queues(visibility=1)
    entry = next(request_entries(["streamed"], q.reply_url))
    entry["MessageBody"] = json.dumps({"model": "m", "prompt": "x", "stream": True})
    send_all(sqs, q.url, [entry])
    start_worker(q.url, visibility_timeout=1).wait_ready()

    (reply,) = drain_replies(sqs, q.reply_url, {"streamed"}, timeout=20, settle=1.5)
    assert reply["status"] == "error"
    assert reply["statusCode"] == 400
    assert reply["error"]["type"] == "invalid_request"
    assert "stream" in reply["error"]["message"]
    assert not vllm.calls
    wait_until(lambda: queue_size(sqs, q.url) == (0, 0), 10, "every request deleted")


def test_a_long_request_keeps_its_visibility_and_runs_once(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    q = queues(visibility=2)
    send_all(sqs, q.url, request_entries(["long"], q.reply_url, fake={"latency": 7}))
    first = start_worker(q.url, visibility_timeout=2).wait_ready()
    second = start_worker(q.url, visibility_timeout=2).wait_ready()  # would take it if visible

    (reply,) = drain_replies(sqs, q.reply_url, {"long"}, timeout=30, settle=3.0)
    assert reply["status"] == "ok"
    assert vllm.calls["long"] == 1
    extended = sum(
        w.metrics()["agentfleet_worker_visibility_extended_total"] for w in (first, second)
    )
    assert extended >= 3  # 7 s at one extension per 2/3 s... at least a few
    wait_until(lambda: queue_size(sqs, q.url) == (0, 0), 10, "every request deleted")


def test_readiness_follows_vllm_and_no_message_is_taken_while_vllm_is_down(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    q = queues()
    vllm.healthy = False
    worker = start_worker(q.url)
    wait_until(lambda: worker.status("/livez") == 200, 20, "the probe server")
    send_all(sqs, q.url, request_entries(["early"], q.reply_url))
    time.sleep(1.0)
    status, body = worker.get("/readyz")
    assert status == 503
    assert json.loads(body)["vllmHealthy"] is False
    assert queue_size(sqs, q.url) == (1, 0)  # left for a worker whose vLLM is up
    assert worker.metrics()["agentfleet_worker_vllm_healthy"] == 0

    vllm.healthy = True
    worker.wait_ready(10)
    (reply,) = drain_replies(sqs, q.reply_url, {"early"}, timeout=20)
    assert reply["status"] == "ok"
    worker.signal(signal.SIGTERM)
    assert worker.wait(15) == 0


def test_a_request_naming_a_reply_queue_the_tier_may_not_use_is_deleted_unrun(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    q = queues(visibility=1)
    allowed = "arn:aws:sqs:us-east-1:123456789012:" + q.reply_url.rsplit("/", 1)[1]
    other = sqs.create_queue(QueueName=q.reply_url.rsplit("/", 1)[1] + "-other")["QueueUrl"]
    send_all(sqs, q.url, request_entries(["denied"], other))
    send_all(sqs, q.url, request_entries(["allowed"], q.reply_url))
    worker = start_worker(q.url, visibility_timeout=1, reply_queues=allowed).wait_ready()

    (reply,) = drain_replies(sqs, q.reply_url, {"allowed"}, timeout=20)
    assert reply["status"] == "ok"
    wait_until(lambda: queue_size(sqs, q.url) == (0, 0), 10, "both settled")
    assert "denied" not in vllm.calls  # never run
    assert queue_size(sqs, other) == (0, 0)
    assert worker.metrics()['agentfleet_worker_failed_total{reason="reply_denied"}'] == 1


def test_a_sender_aims_its_replies_only_at_its_own_queue(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    """Every agent's reply queue is on the tier's allow-list (agents-prod-replies-*), so
    the list alone let one agent aim replies, or forged error replies, at another's. A
    sender the tier maps to its queues (by SQS's SenderId) may name only those."""
    q = queues(visibility=1)
    mine = q.reply_url.rsplit("/", 1)[1]
    victim = sqs.create_queue(QueueName=mine + "-victim")["QueueUrl"]
    everyone = f"arn:aws:sqs:us-east-1:123456789012:{mine}*"
    by_sender = {MOTO_SENDER: [f"arn:aws:sqs:us-east-1:123456789012:{mine}"]}
    send_all(sqs, q.url, request_entries(["aimed"], victim))
    send_all(sqs, q.url, [{**next(request_entries(["forged"], victim)), "MessageBody": "{"}])
    send_all(sqs, q.url, request_entries(["own"], q.reply_url))
    worker = start_worker(
        q.url,
        visibility_timeout=1,
        reply_queues=everyone,
        reply_queues_by_sender=json.dumps(by_sender),
    ).wait_ready()

    (reply,) = drain_replies(sqs, q.reply_url, {"own"}, timeout=20)
    assert reply["status"] == "ok"
    wait_until(lambda: queue_size(sqs, q.url) == (0, 0), 10, "all settled")
    assert "aimed" not in vllm.calls  # never run
    assert queue_size(sqs, victim) == (0, 0)  # and no error reply landed there either
    assert worker.metrics()['agentfleet_worker_failed_total{reason="reply_denied"}'] == 1


def test_a_reply_queue_that_does_not_exist_settles_the_request_after_one_run(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    """SQS answers a send to a missing queue with NonExistentQueue, and will answer it so
    every time: the request is settled after its one run, not rerun until the DLQ."""
    q = queues(visibility=1, max_receive_count=3)
    gone = q.reply_url + "-gone"  # a well-formed URL of no queue
    send_all(sqs, q.url, request_entries(["orphan"], gone))
    worker = start_worker(q.url, visibility_timeout=1).wait_ready()

    wait_until(lambda: queue_size(sqs, q.url) == (0, 0), 20, "the request settled")
    time.sleep(2.5)  # past the visibility timeout: it would be back by now
    assert vllm.calls["orphan"] == 1
    assert queue_size(sqs, q.dlq_url) == (0, 0)
    assert worker.metrics()['agentfleet_worker_failed_total{reason="reply_unreachable"}'] == 1


def test_an_invalid_request_gets_no_error_reply_on_a_queue_the_tier_may_not_use(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    """The error reply to a malformed request obeys the reply allow-list too: otherwise
    anyone who can send to the tier's queue chooses what lands in another agent's."""
    q = queues(visibility=1)
    allowed = "arn:aws:sqs:us-east-1:123456789012:" + q.reply_url.rsplit("/", 1)[1]
    victim = sqs.create_queue(QueueName=q.reply_url.rsplit("/", 1)[1] + "-victim")["QueueUrl"]
    entry = next(request_entries(["forged"], victim))
    entry["MessageBody"] = "not json"
    send_all(sqs, q.url, [entry])
    worker = start_worker(q.url, visibility_timeout=1, reply_queues=allowed).wait_ready()

    wait_until(lambda: queue_size(sqs, q.url) == (0, 0), 20, "the request settled")
    assert queue_size(sqs, victim) == (0, 0)
    assert worker.metrics()['agentfleet_worker_failed_total{reason="invalid"}'] == 1


def test_a_request_id_cannot_write_a_line_into_the_workers_log(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    q = queues(visibility=1)
    send_all(sqs, q.url, request_entries(["x\nINFO worker stopped"], q.reply_url))
    worker = start_worker(q.url, visibility_timeout=1).wait_ready()

    wait_until(lambda: queue_size(sqs, q.url) == (0, 0), 20, "the request settled")
    lines = worker.log.read_text().splitlines()
    assert not [line for line in lines if line.startswith("INFO worker stopped")]
    assert not vllm.calls


def peak_rss_mib(pid: int) -> float:
    """A process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_huge_response_is_refused_without_being_held_in_memory(
    sqs: Any, queues: MakeQueues, vllm: FakeVllm, start_worker: StartWorker
) -> None:
    """A request shaped for a huge answer (logprobs, n, a list of prompts) must not run the
    sidecar out of memory, which would rerun everything in flight: the worker reads vLLM's
    answer only up to the largest reply it may send, and answers reply_too_large."""
    q = queues(visibility=30)
    worker = start_worker(q.url, visibility_timeout=30).wait_ready()
    before = peak_rss_mib(worker.process.pid)
    send_all(
        sqs, q.url, request_entries(["huge"], q.reply_url, fake={"response_bytes": 200_000_000})
    )

    (reply,) = drain_replies(sqs, q.reply_url, {"huge"}, timeout=60)
    assert (reply["statusCode"], reply["error"]["type"]) == (413, "reply_too_large")
    grown = peak_rss_mib(worker.process.pid) - before
    assert grown < 32, f"the worker's peak memory grew {grown:.0f} MiB for a 200 MB answer"
