"""Which reply queue a request may name, by who sent it: a sender the tier maps gets its
own queues alone; the others, the tier's allow-list."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bridge.protocol import sender_of
from bridge.settings import WorkerSettings
from bridge.worker import Worker

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/agents-prod-orchestrator"
ALICE, BOB = "AROAALICEALICEALICE1", "AROABOBBOBBOBBOBBOB2"
REPLIES = "https://sqs.us-east-1.amazonaws.com/123456789012/agents-prod-replies-"
ARN = "arn:aws:sqs:us-east-1:123456789012:agents-prod-replies-"


def may_reply(url: str, sender: str | None, **settings: object) -> bool:
    worker = SimpleNamespace(settings=WorkerSettings(queue_url=QUEUE, **settings))  # type: ignore[arg-type]
    return bool(Worker._may_reply(worker, url, sender))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sender", "queue", "settings", "allowed"),
    [
        (ALICE, "alice", {"reply_queues": (ARN + "*",)}, True),
        (ALICE, "bob", {"reply_queues": (ARN + "*",)}, True),  # the list alone: anyone's
        (ALICE, "bob", {"reply_queues": (ARN + "*",),
                        "reply_queues_by_sender": {ALICE: (ARN + "alice",)}}, False),
        (ALICE, "alice", {"reply_queues_by_sender": {ALICE: (ARN + "alice",)}}, True),
        (BOB, "bob", {"reply_queues": (ARN + "*",),
                      "reply_queues_by_sender": {ALICE: (ARN + "alice",)}}, True),
        (BOB, "alice", {"reply_queues_by_sender": {ALICE: (ARN + "alice",)}}, False),
        (None, "alice", {"reply_queues_by_sender": {ALICE: (ARN + "alice",)}}, False),
        (BOB, "anything", {}, True),  # neither: IAM alone decides
    ],
)  # fmt: skip
def test_a_mapped_sender_gets_its_own_queues_alone(
    sender: str | None, queue: str, settings: dict[str, object], allowed: bool
) -> None:
    assert may_reply(REPLIES + queue, sender, **settings) is allowed


def test_the_sender_is_the_principal_without_its_session() -> None:
    assert sender_of({"Attributes": {"SenderId": f"{ALICE}:i-0abc"}}) == ALICE
    assert sender_of({"Attributes": {"SenderId": "AIDAIT2UOQQY3AUEKVGXU"}}) == (
        "AIDAIT2UOQQY3AUEKVGXU"
    )
    assert sender_of({}) is None


def test_the_map_comes_as_json_and_bad_ids_are_refused() -> None:
    settings = WorkerSettings.model_validate(
        {"queue_url": QUEUE, "reply_queues_by_sender": f'{{"{ALICE}": ["{ARN}alice"]}}'}
    )
    assert settings.reply_queues_by_sender == {ALICE: (ARN + "alice",)}
    with pytest.raises(ValueError, match="not JSON"):
        WorkerSettings.model_validate({"queue_url": QUEUE, "reply_queues_by_sender": "{"})
    with pytest.raises(ValueError, match="should match pattern"):
        WorkerSettings.model_validate(
            {"queue_url": QUEUE, "reply_queues_by_sender": {"alice": [ARN + "alice"]}}
        )
