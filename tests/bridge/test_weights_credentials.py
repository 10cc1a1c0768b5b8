"""The worker lends vLLM the weights role's short-lived credentials on the pod's loopback:
fetched by botocore's own container credentials provider (what vLLM's S3 reads use, from
AWS_CONTAINER_CREDENTIALS_FULL_URI), issued by STS (moto_server) for that role alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.credentials import ContainerProvider

from bridge.credentials import REFRESH_SECONDS, WeightsCredentials, weights_credentials_server
from bridge.settings import WorkerSettings
from facts.worker import CREDENTIALS_PATH, CREDENTIALS_PORT
from tests.bridge.support import AWS_ENV, REGION, MotoServer

ROLE = "arn:aws:iam::123456789012:role/agents-prod-orchestrator-weights"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/agents-prod-orchestrator"
URI = f"http://127.0.0.1:{CREDENTIALS_PORT}{CREDENTIALS_PATH}"


def _fetch() -> Any:
    """What vLLM's AWS SDK does with the URI the pod gives it."""
    loaded = ContainerProvider(environ={"AWS_CONTAINER_CREDENTIALS_FULL_URI": URI}).load()
    assert loaded is not None
    return loaded.get_frozen_credentials()


def test_vllm_gets_the_weights_roles_credentials_from_the_worker(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    settings = WorkerSettings(queue_url=QUEUE, weights_role_arn=ROLE, sts_endpoint=moto.url)

    async def lend() -> Any:
        async with weights_credentials_server(settings, REGION):
            return await asyncio.to_thread(_fetch)

    credentials = asyncio.run(lend())
    assert credentials.access_key != AWS_ENV["AWS_ACCESS_KEY_ID"]
    assert credentials.token
    who = boto3.client(
        "sts",
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    ).get_caller_identity()
    assert who["Arn"] == (
        "arn:aws:sts::123456789012:assumed-role/agents-prod-orchestrator-weights/agentfleet-weights"
    )


def test_without_a_weights_role_nothing_listens() -> None:
    settings = WorkerSettings(queue_url=QUEUE)

    async def lend() -> Any:
        async with weights_credentials_server(settings, REGION) as lender:
            return lender

    assert asyncio.run(lend()) is None


class _Sts:
    """STS answering AssumeRole with a session ending ``minutes`` from now."""

    def __init__(self, minutes: float) -> None:
        self.minutes, self.calls = minutes, 0

    async def assume_role(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{self.calls}",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": datetime.now(UTC) + timedelta(minutes=self.minutes),
            }
        }


@pytest.mark.parametrize(("minutes", "calls"), [(60, 1), (REFRESH_SECONDS / 60 - 1, 3)])
def test_a_session_is_reused_until_it_nears_its_end(minutes: float, calls: int) -> None:
    sts = _Sts(minutes)
    lender = WeightsCredentials(sts, ROLE, "agentfleet-weights")

    async def three() -> None:
        for _ in range(3):
            await lender.get()

    asyncio.run(three())
    assert sts.calls == calls
