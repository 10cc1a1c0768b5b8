"""Fixtures for the queue bridge: moto_server for the session, a fake vLLM and fresh
queues per test, and worker processes that are stopped whatever happens."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.bridge.support import AWS_ENV, REGION, FakeVllm, MotoServer, WorkerProcess


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def sqs(moto: MotoServer) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )


@dataclass(frozen=True)
class Queues:
    url: str
    dlq_url: str
    reply_url: str


@pytest.fixture
def queues(sqs: Any) -> Callable[..., Queues]:
    """A task queue with its DLQ (``max_receive_count``) and a reply queue, fresh names."""

    def make(visibility: int = 30, max_receive_count: int = 5) -> Queues:
        name = f"tier-{uuid.uuid4().hex[:12]}"
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        url = sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(visibility),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
                ),
            },
        )["QueueUrl"]
        reply_url = sqs.create_queue(QueueName=f"{name}-replies")["QueueUrl"]
        return Queues(url, dlq_url, reply_url)

    return make


@pytest.fixture
def vllm() -> Iterator[FakeVllm]:
    server = FakeVllm()
    yield server
    server.stop()


@pytest.fixture
def start_worker(
    moto: MotoServer, vllm: FakeVllm, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``agentfleet worker`` processes on the fake vLLM and moto; all are killed at
    the end of the test."""
    started: list[WorkerProcess] = []

    def start(queue_url: str, **settings: object) -> WorkerProcess:
        worker = WorkerProcess(
            tmp_path / f"worker-{len(started)}.log",
            queue_url=queue_url,
            vllm_url=vllm.url,
            sqs_endpoint=moto.url,
            **settings,
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
