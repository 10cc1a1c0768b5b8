"""The queue worker's settings (``agentfleet-worker``, the sidecar beside vLLM): each one
a flag and an environment variable. The worker (``bridge``) reads them and the component
that runs it (``components.queue_worker``) writes them, both from this one table."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from facts import __version__

PORT = 8081
"""Where the worker answers /livez, /readyz and /metrics."""
CREDENTIALS_PORT = 8082
CREDENTIALS_PATH = "/weights-credentials"
"""Where, on the pod's loopback only, the worker hands vLLM short-lived credentials of the
tier's weights role (the container credentials format the AWS SDKs read from
AWS_CONTAINER_CREDENTIALS_FULL_URI): vLLM gets no credentials of its own."""
RUN_AS = 10001
"""The image's user, and the pod's runAsUser for the worker container."""
IMAGE = f"agentfleet-worker:{__version__}"
"""The tag docs/queue-bridge.md's `docker build` gives the image."""
MAX_LOGPROBS = 5
"""The most log-probabilities a token of an answer may carry: the worker refuses requests
for more (a queue's reply is bounded), and vLLM gets ``--max-logprobs`` of it."""


IDLE_RSS_MIB = 65
"""A running worker's resident memory with nothing in flight: 64.6 MiB, measured
(`agentfleet-worker` on moto_server, x86_64, Python 3.11.7, --max-in-flight 300)."""
REQUEST_MIB = 1.7
"""What one request in flight holds at worst: the largest answer read (256 KiB of a chat
completion with 5 log-probabilities a token), decoded, and its reply serialised; 1.69-1.70
MiB, measured by benchmarks/worker_memory.py (100 and 300 in flight, the same machine)."""
MEMORY_MARGIN = 1.25
"""Room above the measured worst case: allocator fragmentation, a Python of other sizes."""


def memory_mib(max_in_flight: int, reply_bytes: int = 262_144) -> int:
    """The memory limit a worker of ``max_in_flight`` needs when every request in flight
    holds the largest answer it may read, with the margin, in whole 64 MiB."""
    worst = IDLE_RSS_MIB + max_in_flight * REQUEST_MIB * reply_bytes / 262_144
    return -(-int(worst * MEMORY_MARGIN) // 64) * 64


@dataclass(frozen=True)
class Setting:
    field: str
    """The field of the worker's settings model."""
    flag: str
    env: str
    help: str


SETTINGS = (
    Setting(
        "queue_url", "--queue-url", "AGENTFLEET_QUEUE_URL", "the tier's SQS queue URL (required)"
    ),
    Setting(
        "vllm_url", "--vllm-url", "AGENTFLEET_VLLM_URL", "vLLM's base URL (http://127.0.0.1:8000)"
    ),
    Setting(
        "max_in_flight",
        "--max-in-flight",
        "AGENTFLEET_MAX_IN_FLIGHT",
        "cap on requests in flight (64)",
    ),
    Setting(
        "visibility_timeout",
        "--visibility-timeout",
        "AGENTFLEET_VISIBILITY_TIMEOUT",
        "seconds a received message stays hidden, extended while it runs (360)",
    ),
    Setting(
        "request_timeout",
        "--request-timeout",
        "AGENTFLEET_REQUEST_TIMEOUT",
        "longest request, seconds (300)",
    ),
    Setting(
        "drain_seconds",
        "--drain-seconds",
        "AGENTFLEET_DRAIN_SECONDS",
        "on SIGTERM, how long running requests may finish (the request timeout)",
    ),
    Setting(
        "wait_seconds", "--wait-seconds", "AGENTFLEET_WAIT_SECONDS", "long-poll wait, 0-20 (20)"
    ),
    Setting(
        "health_interval",
        "--health-interval",
        "AGENTFLEET_HEALTH_INTERVAL",
        "seconds between checks of vLLM's /health (5)",
    ),
    Setting("host", "--host", "AGENTFLEET_WORKER_HOST", "address of the probe server (0.0.0.0)"),
    Setting(
        "port", "--port", "AGENTFLEET_WORKER_PORT", f"port of /livez, /readyz, /metrics ({PORT})"
    ),
    Setting("region", "--region", "AWS_REGION", "AWS region (the queue URL's)"),
    Setting(
        "sqs_endpoint", "--sqs-endpoint", "AGENTFLEET_SQS_ENDPOINT", "SQS endpoint URL (AWS's)"
    ),
    Setting(
        "max_reply_bytes",
        "--max-reply-bytes",
        "AGENTFLEET_MAX_REPLY_BYTES",
        "reply queues' message size limit (262144)",
    ),
    Setting(
        "reply_queues",
        "--reply-queues",
        "AGENTFLEET_REPLY_QUEUES",
        "ARNs of the reply queues it may answer on, comma-separated (any)",
    ),
    Setting(
        "reply_queues_by_sender",
        "--reply-queues-by-sender",
        "AGENTFLEET_REPLY_QUEUES_BY_SENDER",
        "JSON {sender's IAM unique id: [reply queue ARNs]}; a mapped sender gets only its own",
    ),
    Setting(
        "weights_role_arn",
        "--weights-role-arn",
        "AGENTFLEET_WEIGHTS_ROLE_ARN",
        f"role whose credentials vLLM gets on 127.0.0.1:{CREDENTIALS_PORT} (none: no server)",
    ),
    Setting(
        "sts_endpoint", "--sts-endpoint", "AGENTFLEET_STS_ENDPOINT", "STS endpoint URL (AWS's)"
    ),
    Setting(
        "vllm_api_key",
        "--vllm-api-key",
        "VLLM_API_KEY",
        "the key vLLM requires (its --api-key; best from the environment); none: send none",
    ),
)
ENV = MappingProxyType({setting.field: setting.env for setting in SETTINGS})
"""The environment variable of each setting, by field."""
