"""Requests per second through `agentfleet worker`, beside the same requests sent straight
to the server, in one run.

    .venv/bin/python benchmarks/worker_throughput.py [--requests N] [--cap C] [--latency S]

Starts moto_server (SQS on loopback) and a fake OpenAI-compatible server that answers
after --latency seconds, then:
- direct: N requests POSTed straight to the fake server, at most C at once;
- through the worker: one `agentfleet worker` process (--max-in-flight C) on the queue;
  N requests are sent to the queue and the clock runs from the first send to the last
  reply read back from the reply queue.
Prints both rates and their ratio. SQS here is moto, a single Python process: the
"through the worker" figure is bound by it, not by the worker, and is a floor for real
SQS. Never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.bridge.support import (  # noqa: E402 - after the path fix
    AWS_ENV,
    REGION,
    FakeVllm,
    MotoServer,
    WorkerProcess,
    request_entries,
    send_all,
)


async def direct(url: str, requests: int, cap: int) -> float:
    """Seconds for ``requests`` POSTs straight to the server, ``cap`` at a time."""
    gate = asyncio.Semaphore(cap)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})

    async def one(session: aiohttp.ClientSession, index: int) -> None:
        async with (
            gate,
            session.post(
                f"{url}/v1/chat/completions",
                data=body,
                headers={"Content-Type": "application/json", "X-Request-Id": f"d-{index}"},
            ) as response,
        ):
            await response.read()
            assert response.status == 200

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=cap)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(session, index) for index in range(requests)))
        return time.perf_counter() - started


def collect(sqs: Any, queue_url: str, want: int, timeout: float) -> int:
    """Read and delete replies until ``want`` distinct request ids are back."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < want and time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            seen.add(json.loads(message["Body"])["requestId"])
        if messages:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
    return len(seen)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def through_worker(
    moto: MotoServer, vllm: FakeVllm, requests: int, cap: int
) -> tuple[float, float, float, dict[str, float]]:
    """(seconds from first send to last reply, seconds sending, the worker's CPU seconds
    over the run, its metrics)."""
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    queue = sqs.create_queue(QueueName="bench")["QueueUrl"]
    replies = sqs.create_queue(QueueName="bench-replies")["QueueUrl"]
    with tempfile.TemporaryDirectory() as tmp:
        worker = WorkerProcess(
            Path(tmp) / "worker.log",
            queue_url=queue,
            vllm_url=vllm.url,
            sqs_endpoint=moto.url,
            max_in_flight=cap,
        )
        try:
            worker.wait_ready(30)
            cpu_before = cpu_seconds(worker.process.pid)
            counted: list[int] = []
            reader = threading.Thread(
                target=lambda: counted.append(collect(sqs, replies, requests, 600))
            )
            started = time.perf_counter()
            reader.start()
            send_all(sqs, queue, request_entries((f"w-{i}" for i in range(requests)), replies))
            sent = time.perf_counter() - started
            reader.join()
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(worker.process.pid) - cpu_before
            if counted != [requests]:
                raise SystemExit(
                    f"only {counted} of {requests} replies came back:\n{worker.output()}"
                )
            return elapsed, sent, cpu, worker.metrics()
        finally:
            worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cap", type=int, default=32, help="requests in flight at most")
    parser.add_argument("--latency", type=float, default=0.05, help="server seconds per request")
    args = parser.parse_args()
    os.environ.update(AWS_ENV)

    moto, vllm = MotoServer(), FakeVllm(latency=args.latency)
    try:
        direct_seconds = asyncio.run(direct(vllm.url, args.requests, args.cap))
        vllm.max_in_flight = 0
        worker_seconds, send_seconds, cpu, metrics = through_worker(
            moto, vllm, args.requests, args.cap
        )
    finally:
        vllm.stop()
        moto.stop()

    direct_rate = args.requests / direct_seconds
    worker_rate = args.requests / worker_seconds
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"{args.requests} requests, at most {args.cap} in flight, "
        f"{args.latency * 1000:g} ms per request"
    )
    print(f"direct to the server:  {direct_rate:8.1f} requests/s  ({direct_seconds:.2f} s)")
    print(
        f"through the worker:    {worker_rate:8.1f} requests/s  ({worker_seconds:.2f} s, "
        f"of which {send_seconds:.2f} s sending to SQS)"
    )
    print(f"ratio worker/direct:   {worker_rate / direct_rate:8.3f}")
    per_request = cpu / args.requests
    print(
        f"worker CPU: {per_request * 1000:.2f} ms per request, so one core carries "
        f"{1 / per_request:.0f} requests/s of worker overhead"
    )
    print(
        f"worker: most in flight at the server {vllm.max_in_flight}, received "
        f"{metrics['agentfleet_worker_received_total']:g}, replied "
        f"{metrics['agentfleet_worker_replied_total']:g}"
    )


if __name__ == "__main__":
    main()
