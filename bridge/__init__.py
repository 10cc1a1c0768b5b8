"""The queue bridge: the worker that moves agents' requests from a tier's SQS queue to
vLLM (``agentfleet-worker``, the sidecar in every vLLM pod), the client agents send them
with, and the message protocol between the two.

May import: ``facts``, aiobotocore, aiohttp and pydantic; never pulumi, pyyaml, ``infra``,
``components`` or ``policies``: the worker image ships this package and ``facts`` only.
"""

from bridge.client import QueueClient
from bridge.protocol import Api, Reply, Request

__all__ = ["Api", "QueueClient", "Reply", "Request"]
