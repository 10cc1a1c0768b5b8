"""The weights credentials server: the worker assumes the tier's weights role (read of the
model's S3 folder, nothing else) and hands vLLM its short-lived credentials on the pod's
loopback, in the format the AWS SDKs' container credentials provider reads from
AWS_CONTAINER_CREDENTIALS_FULL_URI (botocore's ContainerMetadataFetcher, the C++ SDK's
general HTTP provider; both accept a loopback address over plain HTTP).

vLLM parses every tenant's request, so it holds no credentials of the pod (the pod
identity webhook skips its container): what it can reach with these is the weights it
already serves, and only for the hour STS grants a chained role."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import Any

from aiohttp import web
from botocore.exceptions import BotoCoreError, ClientError

from bridge.settings import WorkerError, WorkerSettings
from facts.worker import CREDENTIALS_PATH, CREDENTIALS_PORT

log = logging.getLogger("agentfleet.worker")

SESSION_SECONDS = 3600
"""The longest session STS grants a role assumed by a role (role chaining: one hour)."""
REFRESH_SECONDS = 600
"""A session this close to its end is replaced; the SDKs refresh theirs 5-15 min early."""
LOOPBACK = "127.0.0.1"


class WeightsCredentials:
    """Sessions of one role, each reused until it nears its end."""

    def __init__(self, sts: Any, role_arn: str, session_name: str) -> None:
        self.sts, self.role_arn, self.session_name = sts, role_arn, session_name
        self._current: dict[str, str] | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> dict[str, str]:
        """The current session's keys, assuming the role anew when none is left."""
        async with self._lock:
            if self._current is None or self._expires - time.time() < REFRESH_SECONDS:
                answer = await self.sts.assume_role(
                    RoleArn=self.role_arn,
                    RoleSessionName=self.session_name,
                    DurationSeconds=SESSION_SECONDS,
                )
                granted = answer["Credentials"]
                expiration: datetime = granted["Expiration"]
                self._expires = expiration.timestamp()
                self._current = {
                    "AccessKeyId": granted["AccessKeyId"],
                    "SecretAccessKey": granted["SecretAccessKey"],
                    "Token": granted["SessionToken"],
                    "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            return self._current

    async def handle(self, _: web.Request) -> web.Response:
        try:
            return web.json_response(await self.get())
        except (BotoCoreError, ClientError) as error:
            log.warning("cannot assume the weights role %s: %s", self.role_arn, error)
            return web.json_response({"message": "weights role unavailable"}, status=503)


@contextlib.asynccontextmanager
async def weights_credentials_server(settings: WorkerSettings, region: str | None) -> Any:
    """With a weights role: an STS client and the server on 127.0.0.1 (never on the pod's
    address, which Prometheus and the load balancer's subnets reach); else nothing."""
    if settings.weights_role_arn is None:
        yield None
        return
    from aiobotocore.session import get_session

    async with get_session().create_client(
        "sts", region_name=region, endpoint_url=settings.sts_endpoint
    ) as sts:
        credentials = WeightsCredentials(sts, settings.weights_role_arn, "agentfleet-weights")
        app = web.Application()
        app.router.add_get(CREDENTIALS_PATH, credentials.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            try:
                await web.TCPSite(runner, LOOPBACK, CREDENTIALS_PORT).start()
            except OSError as error:
                raise WorkerError(
                    f"cannot listen on {LOOPBACK}:{CREDENTIALS_PORT}: {error}"
                ) from None
            log.info("weights credentials on %s:%d", LOOPBACK, CREDENTIALS_PORT)
            yield credentials
        finally:
            await runner.cleanup()
