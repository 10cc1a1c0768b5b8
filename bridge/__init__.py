"""The queue bridge: the worker that moves agents' requests from a tier's SQS queue to
vLLM, the client agents send them with, and the message protocol between the two."""

from bridge.client import QueueClient
from bridge.protocol import Api, Reply, Request

__all__ = ["Api", "QueueClient", "Reply", "Request"]
