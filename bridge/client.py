"""The agents' side of the queue protocol: send requests to a tier, collect replies.

```python
async with QueueClient.connect(region="us-east-1") as client:
    reply = await client.request(
        tier_queue_url,
        {"model": "Qwen/Qwen2.5-7B-Instruct", "messages": [{"role": "user", "content": "hi"}]},
        reply_to=my_reply_queue_url,
        timeout=120,
    )
    print(reply.response if reply.ok else reply.error_message)
```

Give each agent process a reply queue of its own: ``replies()`` deletes what comes there
that is no reply to a request this client sent (a forged or stray message, counted in
``dropped``), so none can crowd out or pose as a real reply. A client that shares its
reply queue with others (``shared_reply_queue=True``) gives such messages back instead,
and each reader then keeps receiving the others' replies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from bridge.protocol import Api, Reply, parse_reply, request_message

if TYPE_CHECKING:
    from types_aiobotocore_sqs.client import SQSClient


def new_request_id() -> str:
    return uuid.uuid4().hex


class QueueClient:
    """Sends requests and waits for replies over an aiobotocore SQS client."""

    def __init__(self, sqs: SQSClient, *, shared_reply_queue: bool = False) -> None:
        self.sqs = sqs
        self.shared_reply_queue = shared_reply_queue
        self.sent: set[str] = set()
        """The request ids this client sent: the replies it will take."""
        self.dropped = 0
        """Messages deleted from the reply queue as no reply to this client."""

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        shared_reply_queue: bool = False,
    ) -> AsyncIterator[QueueClient]:
        from aiobotocore.session import get_session

        async with get_session().create_client(
            "sqs", region_name=region, endpoint_url=endpoint_url
        ) as sqs:
            yield cls(sqs, shared_reply_queue=shared_reply_queue)

    async def submit(
        self,
        queue_url: str,
        body: Mapping[str, Any],
        *,
        api: Api = "chat.completions",
        reply_to: str | None = None,
        request_id: str | None = None,
    ) -> str:
        """Send one request; returns its request id."""
        request_id = request_id or new_request_id()
        params = request_message(body, request_id=request_id, api=api, reply_to=reply_to)
        await self.sqs.send_message(QueueUrl=queue_url, **params)
        self.sent.add(request_id)
        return request_id

    async def replies(
        self, reply_to: str, request_ids: Iterable[str], *, timeout: float
    ) -> dict[str, Reply]:
        """Collect the replies to ``request_ids`` from ``reply_to`` until all have come or
        ``timeout`` seconds have passed; what came is returned. A reply that comes twice
        is deleted and kept once."""
        wanted = set(request_ids)
        found: dict[str, Reply] = {}
        deadline = time.monotonic() + timeout
        while wanted - found.keys():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            response = await self.sqs.receive_message(
                QueueUrl=reply_to,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=max(0, min(20, int(left))),
                MessageAttributeNames=["All"],
            )
            for message in response.get("Messages", []):
                try:
                    reply = parse_reply(message)
                except ValueError:
                    reply = None
                ours = reply is not None and reply.request_id in self.sent
                if not ours and not self.shared_reply_queue:
                    # No reply to this client: forged, or astray. Gone, so it can neither
                    # pose as a reply nor come back to every read.
                    self.dropped += 1
                    await self.sqs.delete_message(
                        QueueUrl=reply_to, ReceiptHandle=message["ReceiptHandle"]
                    )
                    continue
                if reply is None or reply.request_id not in wanted:
                    # Another waiter's (or, shared, another reader's): give it back at once.
                    await self.sqs.change_message_visibility(
                        QueueUrl=reply_to,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=0,
                    )
                    continue
                found.setdefault(reply.request_id, reply)
                await self.sqs.delete_message(
                    QueueUrl=reply_to, ReceiptHandle=message["ReceiptHandle"]
                )
        return found

    async def request(
        self,
        queue_url: str,
        body: Mapping[str, Any],
        *,
        reply_to: str,
        api: Api = "chat.completions",
        timeout: float = 300,
        request_id: str | None = None,
    ) -> Reply | None:
        """Send one request and wait for its reply; None when none came in time."""
        request_id = await self.submit(
            queue_url, body, api=api, reply_to=reply_to, request_id=request_id
        )
        return (await self.replies(reply_to, [request_id], timeout=timeout)).get(request_id)
