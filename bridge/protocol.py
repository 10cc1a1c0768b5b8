"""The queue protocol between agents and a tier's workers (public interface).

A **request** is one SQS message on the tier's queue:

- body: an OpenAI-compatible request body, a JSON object (what the agent would POST to
  vLLM); ``"stream": true`` is refused, since a reply is one message, and so is a request
  shaped for an answer no reply can carry (``LIMITS``: more than ``MAX_CHOICES`` choices,
  more than ``MAX_LOGPROBS`` log-probabilities a token, prompt log-probabilities, an echoed
  prompt, more than ``MAX_PROMPTS`` prompts or inputs);
- message attributes (``DataType: String``):
  ``agentfleet.requestId`` (required; 1-128 characters, no spaces),
  ``agentfleet.api`` (required; ``chat.completions`` | ``completions`` | ``embeddings``),
  ``agentfleet.replyTo`` (optional; the URL of the SQS queue the reply goes to).

A **reply** is one SQS message on the reply queue, sent once the request is settled:

- body: ``{"requestId", "status": "ok" | "error", "statusCode", "response" | "error"}``;
  ``response`` is vLLM's JSON response, ``error`` is ``{"type", "message"}``;
- message attributes: ``agentfleet.requestId`` and ``agentfleet.status``.

Requests that fail on the server side (5xx, connection errors, timeouts) get no reply:
they come back after their visibility timeout and, after ``maxReceiveCount`` receives,
rest in the dead-letter queue. Delivery is at least once: a reply can come twice.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from facts.worker import MAX_LOGPROBS

REQUEST_ID = "agentfleet.requestId"
API = "agentfleet.api"
REPLY_TO = "agentfleet.replyTo"
STATUS = "agentfleet.status"

Api = Literal["chat.completions", "completions", "embeddings"]
APIS: tuple[Api, ...] = get_args(Api)
PATHS: dict[Api, str] = {
    "chat.completions": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
}
Status = Literal["ok", "error"]
ErrorType = Literal["invalid_request", "client_error", "reply_too_large"]

# Matched whole (fullmatch): "$" also matches before a final newline, which would let a
# request id end in "\n" and break the HTTP header it is sent in.
REQUEST_ID_PATTERN = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII, no spaces
QUEUE_URL_PATTERN = re.compile(r"https?://[\x21-\x7e]+/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?")
MAX_CHOICES = 4
"""``n`` (and ``best_of``): the most choices one request may ask for."""
MAX_PROMPTS = 16
"""The most prompts (completions) or inputs (embeddings) one request may list."""
MAX_MESSAGE_BYTES = 262_144
"""SQS's default (and, for queues that keep the default, actual) message size limit."""


class InvalidRequest(ValueError):
    """A request message that can never succeed; ``request_id`` and ``reply_to`` are
    whatever could be read, so that the sender can still be told."""

    def __init__(self, reason: str, request_id: str | None, reply_to: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request_id = request_id
        self.reply_to = reply_to


@dataclass(frozen=True)
class Request:
    request_id: str
    api: Api
    body: bytes
    reply_to: str | None

    @property
    def path(self) -> str:
        return PATHS[self.api]


@dataclass(frozen=True)
class Reply:
    request_id: str
    status: Status
    status_code: int
    response: Any = None
    error_type: ErrorType | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "requestId": self.request_id,
            "status": self.status,
            "statusCode": self.status_code,
        }
        if self.ok:
            body["response"] = self.response
        else:
            body["error"] = {"type": self.error_type, "message": self.error_message}
        return json.dumps(body, separators=(",", ":"))


def string_attribute(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def _attribute(message: Mapping[str, Any], name: str) -> str | None:
    value = (message.get("MessageAttributes") or {}).get(name)
    if not isinstance(value, Mapping):
        return None
    text = value.get("StringValue")
    return text if isinstance(text, str) else None


def check_request_id(request_id: str) -> str:
    if not REQUEST_ID_PATTERN.fullmatch(request_id):
        raise ValueError(f"request id {request_id!r} must be 1-128 printable characters, no spaces")
    return request_id


def check_queue_url(url: str) -> str:
    if not QUEUE_URL_PATTERN.fullmatch(url):
        raise ValueError(f"{url!r} is not an SQS queue URL (https://<endpoint>/<account>/<name>)")
    return url


def queue_of(url: str) -> tuple[str, str]:
    """(account, name) of a queue URL."""
    account, name = url.rstrip("/").rsplit("/", 2)[-2:]
    return account, name


AWS_QUEUE_HOST = re.compile(
    r"(?:sqs\.(?P<region>[a-z0-9-]+)|(?P<legacy>[a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?"
)
"""SQS's hosts: ``sqs.<region>.amazonaws.com`` and the legacy ``<region>.queue...``."""


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].lower()


def sender_of(message: Mapping[str, Any]) -> str | None:
    """Who sent a message: the IAM principal's unique id of its SenderId (an assumed role's
    AROA..., without the session name after ':'; an IAM user's AIDA...; an account)."""
    sender = (message.get("Attributes") or {}).get("SenderId")
    return None if not sender else str(sender).split(":", 1)[0]


def reply_allowed(url: str, arns: Iterable[str], endpoint: str | None = None) -> bool:
    """Whether a reply queue URL is one of ``arns``: its account, its region (from SQS's
    host) and its name (``*`` and ``?`` match in the region and the name, as in an IAM
    policy's resource). A URL on any other host is allowed only on ``endpoint``, the
    worker's own SQS (a local one), where the region cannot be told."""
    account, name = queue_of(url)
    found = AWS_QUEUE_HOST.fullmatch(_host(url))
    if found is None and (endpoint is None or _host(url) != _host(endpoint)):
        return False
    region = None if found is None else found["region"] or found["legacy"]
    for arn in arns:
        arn_region, arn_account, arn_name = arn.split(":")[3:6]
        if (
            arn_account == account
            and (region is None or fnmatch.fnmatchcase(region, arn_region))
            and fnmatch.fnmatchcase(name, arn_name)
        ):
            return True
    return False


def parse_request(message: Mapping[str, Any]) -> Request:
    """A received SQS message as a Request; raises InvalidRequest with the reason."""
    request_id = _attribute(message, REQUEST_ID)
    reply_to = _attribute(message, REPLY_TO)
    if reply_to is not None and not QUEUE_URL_PATTERN.fullmatch(reply_to):
        raise InvalidRequest(f"{REPLY_TO} {reply_to!r} is not an SQS queue URL", request_id, None)

    def invalid(reason: str) -> InvalidRequest:
        return InvalidRequest(reason, request_id, reply_to)

    if request_id is None:
        raise invalid(f"the message attribute {REQUEST_ID} is missing")
    if not REQUEST_ID_PATTERN.fullmatch(request_id):
        # not the sender's id: a reply could not name it, nor a log line show it as given
        raise InvalidRequest(
            f"{REQUEST_ID} must be 1-128 printable characters, no spaces", None, reply_to
        )
    api = _attribute(message, API)
    if api not in APIS:
        raise invalid(f"{API} is {api!r}; expected one of {', '.join(APIS)}")
    text = message.get("Body", "")
    try:
        body = json.loads(text)
    except (ValueError, TypeError, RecursionError):  # RecursionError: nested too deep
        raise invalid("the body is not JSON this worker can read") from None
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object (an OpenAI-compatible request)")
    if body.get("stream"):
        raise invalid('"stream": true cannot be answered through a queue; send it without')
    problem = oversized(body)
    if problem is not None:
        raise invalid(problem)
    return Request(request_id=request_id, api=api, body=text.encode(), reply_to=reply_to)


def _count(value: Any) -> int:
    """How many a request field asks for: a number as it is, a bool as 0 or 1 (chat's
    ``logprobs: true``), anything else (null, absent) as 0."""
    if isinstance(value, bool):
        return int(value)
    return int(value) if isinstance(value, int | float) else 0


def oversized(body: Mapping[str, Any]) -> str | None:
    """Why a request would ask for more than a reply may carry; None when it does not."""
    for field in ("n", "best_of"):
        if _count(body.get(field)) > MAX_CHOICES:
            return f'"{field}" may be at most {MAX_CHOICES}'
    chat_logprobs = _count(body.get("top_logprobs"))
    completion_logprobs = (
        0 if isinstance(body.get("logprobs"), bool) else _count(body.get("logprobs"))
    )
    if max(chat_logprobs, completion_logprobs) > MAX_LOGPROBS:
        return f"log-probabilities may be at most {MAX_LOGPROBS} a token"
    if body.get("prompt_logprobs") is not None:
        return '"prompt_logprobs" cannot be answered through a queue; send it without'
    if body.get("echo"):
        return '"echo": true cannot be answered through a queue; send it without'
    for field in ("prompt", "input"):
        value = body.get(field)
        # a list of token ids is one prompt; a list of strings (or of id lists) is many
        if not isinstance(value, list) or not value or isinstance(value[0], int):
            continue
        if len(value) > MAX_PROMPTS:
            return f'"{field}" may list at most {MAX_PROMPTS}'
    return None


def request_message(
    body: Mapping[str, Any], *, request_id: str, api: Api, reply_to: str | None = None
) -> dict[str, Any]:
    """The SendMessage parameters (except QueueUrl) of a request."""
    if api not in APIS:
        raise ValueError(f"api {api!r} is not one of {', '.join(APIS)}")
    attributes = {
        REQUEST_ID: string_attribute(check_request_id(request_id)),
        API: string_attribute(api),
    }
    if reply_to is not None:
        attributes[REPLY_TO] = string_attribute(check_queue_url(reply_to))
    return {"MessageBody": json.dumps(dict(body)), "MessageAttributes": attributes}


def reply_message(reply: Reply, queue_url: str) -> dict[str, Any]:
    """The SendMessage parameters of a reply; FIFO reply queues get the request id as
    group and deduplication id, so a repeated reply within five minutes is dropped."""
    params: dict[str, Any] = {
        "QueueUrl": queue_url,
        "MessageBody": reply.to_json(),
        "MessageAttributes": {
            REQUEST_ID: string_attribute(reply.request_id),
            STATUS: string_attribute(reply.status),
        },
    }
    if queue_url.endswith(".fifo"):
        params["MessageGroupId"] = reply.request_id
        params["MessageDeduplicationId"] = reply.request_id
    return params


def message_bytes(params: Mapping[str, Any]) -> int:
    """The size SQS counts against its limit: the body plus every attribute's name, type
    and value."""
    size = len(str(params["MessageBody"]).encode())
    for name, value in params.get("MessageAttributes", {}).items():
        size += len(name.encode()) + len(value["DataType"].encode())
        size += len(value.get("StringValue", "").encode())
    return size


def parse_reply(message: Mapping[str, Any]) -> Reply:
    """A reply message as a Reply; raises ValueError when it is not one."""
    try:
        body = json.loads(message.get("Body", ""))
        request_id, status, code = body["requestId"], body["status"], body["statusCode"]
    except (ValueError, KeyError, TypeError):
        raise ValueError("not an agentfleet reply") from None
    if status not in ("ok", "error") or not isinstance(request_id, str):
        raise ValueError("not an agentfleet reply")
    error = body.get("error") or {}
    return Reply(
        request_id=request_id,
        status=status,
        status_code=int(code),
        response=body.get("response"),
        error_type=error.get("type"),
        error_message=error.get("message"),
    )
