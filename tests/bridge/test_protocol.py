"""The queue protocol: pure functions, no SQS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.protocol import (
    API,
    REPLY_TO,
    REQUEST_ID,
    InvalidRequest,
    Reply,
    message_bytes,
    parse_reply,
    parse_request,
    reply_allowed,
    reply_message,
    request_message,
    string_attribute,
)

REPLIES = "https://sqs.us-east-1.amazonaws.com/123456789012/agent-7-replies"


def received(params: dict[str, Any]) -> dict[str, Any]:
    """A sent request as ReceiveMessage gives it back."""
    return {
        "MessageId": "m-1",
        "ReceiptHandle": "h-1",
        "Body": params["MessageBody"],
        "MessageAttributes": params["MessageAttributes"],
    }


def test_a_sent_request_parses_back_with_its_path() -> None:
    body = {"model": "Qwen/Qwen2.5-7B-Instruct", "messages": [{"role": "user", "content": "hi"}]}
    params = request_message(body, request_id="req-1", api="chat.completions", reply_to=REPLIES)
    request = parse_request(received(params))
    assert request.request_id == "req-1"
    assert request.api == "chat.completions"
    assert request.path == "/v1/chat/completions"
    assert request.reply_to == REPLIES
    assert json.loads(request.body) == body


@pytest.mark.parametrize(
    ("api", "path"),
    [("completions", "/v1/completions"), ("embeddings", "/v1/embeddings")],
)
def test_each_api_maps_to_vllms_path(api: Any, path: str) -> None:
    params = request_message({"model": "m", "input": "x"}, request_id="r", api=api)
    request = parse_request(received(params))
    assert request.path == path
    assert request.reply_to is None


GOOD = request_message(
    {"model": "m", "prompt": "x"}, request_id="r-9", api="completions", reply_to=REPLIES
)


def mutated(**changes: Any) -> dict[str, Any]:
    message = received(json.loads(json.dumps(GOOD)))
    attributes = message["MessageAttributes"]
    for name, value in changes.items():
        key = {"request_id": REQUEST_ID, "api": API, "reply_to": REPLY_TO}.get(name)
        if key is None:
            message["Body"] = value
        elif value is None:
            del attributes[key]
        else:
            attributes[key] = string_attribute(value)
    return message


@pytest.mark.parametrize(
    ("changes", "reason", "knows_reply_to"),
    [
        ({"request_id": None}, "the message attribute agentfleet.requestId is missing", True),
        (
            {"request_id": "has space"},
            "agentfleet.requestId must be 1-128 printable characters, no spaces",
            True,
        ),
        (
            {"api": None},
            "agentfleet.api is None; expected one of chat.completions, completions, embeddings",
            True,
        ),
        (
            {"api": "responses"},
            "agentfleet.api is 'responses'; expected one of chat.completions, completions, "
            "embeddings",
            True,
        ),
        ({"body": "not json"}, "the body is not JSON this worker can read", True),
        # nested past Python's recursion limit: json raises RecursionError, not ValueError
        (
            {"body": "[" * 100_000 + "]" * 100_000},
            "the body is not JSON this worker can read",
            True,
        ),
        # "$" matches before a final newline: an id ending in one would pass and then
        # break the X-Request-Id header
        (
            {"request_id": "r-1\n"},
            "agentfleet.requestId must be 1-128 printable characters, no spaces",
            True,
        ),
        ({"body": "[1, 2]"}, "the body must be a JSON object (an OpenAI-compatible request)", True),
        (
            {"body": '{"model": "m", "stream": true}'},
            '"stream": true cannot be answered through a queue; send it without',
            True,
        ),
        (
            {"reply_to": "agent-replies"},
            "agentfleet.replyTo 'agent-replies' is not an SQS queue URL",
            False,
        ),
        # shaped for an answer no reply can carry (and no sidecar should hold)
        ({"body": '{"model": "m", "prompt": "x", "n": 50}'}, '"n" may be at most 4', True),
        (
            {"body": '{"model": "m", "messages": [], "logprobs": true, "top_logprobs": 20}'},
            "log-probabilities may be at most 5 a token",
            True,
        ),
        (
            {"body": '{"model": "m", "prompt": "x", "logprobs": 20}'},
            "log-probabilities may be at most 5 a token",
            True,
        ),
        (
            {"body": '{"model": "m", "prompt": "x", "prompt_logprobs": 1}'},
            '"prompt_logprobs" cannot be answered through a queue; send it without',
            True,
        ),
        (
            {"body": '{"model": "m", "prompt": "x", "echo": true}'},
            '"echo": true cannot be answered through a queue; send it without',
            True,
        ),
        (
            {"body": json.dumps({"model": "m", "prompt": ["x"] * 1000})},
            '"prompt" may list at most 16',
            True,
        ),
    ],
)
def test_a_malformed_request_is_refused_with_its_reason(
    changes: dict[str, Any], reason: str, knows_reply_to: bool
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_request(mutated(**changes))
    assert caught.value.reason == reason
    assert caught.value.reply_to == (REPLIES if knows_reply_to else None)


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "messages": [], "logprobs": True, "top_logprobs": 5, "n": 4},
        {"model": "m", "prompt": list(range(4000)), "logprobs": 5},  # one prompt of token ids
        {"model": "m", "input": ["a"] * 16},
    ],
)
def test_requests_within_the_limits_pass(body: dict[str, Any]) -> None:
    assert parse_request(mutated(body=json.dumps(body))).body == json.dumps(body).encode()


def test_request_message_refuses_bad_ids_apis_and_reply_queues() -> None:
    with pytest.raises(ValueError, match="request id ''"):
        request_message({}, request_id="", api="completions")
    with pytest.raises(ValueError, match="api 'chat'"):
        request_message({}, request_id="r", api="chat")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not an SQS queue URL"):
        request_message({}, request_id="r", api="completions", reply_to="replies")
    with pytest.raises(ValueError, match="must be 1-128 printable characters"):
        request_message({}, request_id="r\n", api="completions")
    with pytest.raises(ValueError, match="is not an SQS queue URL"):
        request_message({}, request_id="r", api="completions", reply_to=REPLIES + "\n")


def test_replies_round_trip_and_fifo_queues_get_group_and_dedup_ids() -> None:
    ok = Reply("r-1", "ok", 200, response={"choices": []})
    params = reply_message(ok, REPLIES)
    assert "MessageGroupId" not in params
    assert params["MessageAttributes"]["agentfleet.status"]["StringValue"] == "ok"
    assert parse_reply({"Body": params["MessageBody"]}) == ok

    error = Reply("r-2", "error", 400, error_type="client_error", error_message="too long")
    fifo = reply_message(error, REPLIES + ".fifo")
    assert fifo["MessageGroupId"] == fifo["MessageDeduplicationId"] == "r-2"
    assert json.loads(fifo["MessageBody"]) == {
        "requestId": "r-2",
        "status": "error",
        "statusCode": 400,
        "error": {"type": "client_error", "message": "too long"},
    }
    assert parse_reply({"Body": fifo["MessageBody"]}) == error


@pytest.mark.parametrize(
    "body",
    [
        "",
        "{}",
        '{"requestId": 1, "status": "ok", "statusCode": 200}',
        '{"requestId": "a", "status": "maybe", "statusCode": 200}',
    ],
)
def test_parse_reply_refuses_what_is_not_a_reply(body: str) -> None:
    with pytest.raises(ValueError, match="not an agentfleet reply"):
        parse_reply({"Body": body})


def test_message_bytes_counts_body_and_attributes() -> None:
    params = reply_message(Reply("ab", "ok", 200, response="é"), REPLIES)
    body = len(params["MessageBody"].encode())
    attributes = len("agentfleet.requestIdStringab") + len("agentfleet.statusStringok")
    assert message_bytes(params) == body + attributes


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://sqs.us-east-1.amazonaws.com/123456789012/agent-router-replies", True),
        ("https://sqs.us-east-1.amazonaws.com/123456789012/planner-7-replies", True),
        ("http://127.0.0.1:5000/123456789012/planner-7-replies", True),  # the worker's SQS
        ("https://us-east-1.queue.amazonaws.com/123456789012/planner-7-replies", True),
        # the same account and name in another region is another queue
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/agent-router-replies", False),
        # a host that is neither SQS's nor the worker's own endpoint
        ("https://sqs.us-east-1.amazonaws.com.evil.example/123456789012/planner-7-replies", False),
        ("http://127.0.0.2:5000/123456789012/planner-7-replies", False),
        ("https://sqs.us-east-1.amazonaws.com/123456789012/planner-7-replies.fifo", False),
        ("https://sqs.us-east-1.amazonaws.com/999999999999/agent-router-replies", False),
        ("https://sqs.us-east-1.amazonaws.com/123456789012/billing", False),
    ],
)
def test_reply_allowed_matches_account_region_and_name_as_iam_does(url: str, allowed: bool) -> None:
    arns = (
        "arn:aws:sqs:us-east-1:123456789012:agent-router-replies",
        "arn:aws:sqs:us-east-1:123456789012:planner-*-replies",
    )
    assert reply_allowed(url, arns, endpoint="http://127.0.0.1:5000") is allowed
