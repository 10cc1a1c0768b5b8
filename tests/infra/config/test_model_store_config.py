"""The model store's keys and a tier's weights: where weights come from, refused with the
key path when they cannot be built."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, parse_stack_config
from tests.helpers import STORE_BUCKET, stack_values

TIER = "agentfleet:fleet.tiers.orchestrator"


def prod(store: bool = True, **orchestrator: Any) -> dict[str, Any]:
    values = stack_values("prod")
    if not store:
        values["agentfleet:fleet"].pop("modelStore")
    values["agentfleet:fleet"]["tiers"]["orchestrator"].update(orchestrator)
    return values


def test_where_each_tiers_weights_come_from() -> None:
    values = prod(weights="hub")
    values["agentfleet:fleet"]["tiers"]["mid-tier"]["model"] = "s3://ft-models/bot/v3"
    fleet = parse_stack_config(values).fleet
    assert fleet.weights_uri("orchestrator") is None  # opted out of the store
    assert fleet.weights_uri("mid-tier") == "s3://ft-models/bot/v3/"
    assert fleet.weights_uri("lightweight") == (
        f"s3://{STORE_BUCKET}/models/Qwen/Qwen2.5-3B-Instruct/"
    )
    hub = parse_stack_config(prod(store=False)).fleet
    assert {t: hub.weights_uri(t) for t in hub.tiers} == dict.fromkeys(hub.tiers)


@pytest.mark.parametrize(
    ("values", "where", "reason"),
    [
        (
            prod(model="s3://Bad_Bucket/x"),
            f"{TIER}.model",
            "'s3://Bad_Bucket/x' is not a model's S3 folder: want s3://<bucket>/<prefix>/ (a "
            "bucket name, then at least one key part)",
        ),
        (
            prod(model="s3://good-bucket/x/", weights="hub"),
            f"{TIER}.weights",
            "the model is an S3 folder, where its weights come from: leave it out",
        ),
        (
            prod(store=False, weights="store"),
            f"{TIER}.weights",
            "store needs fleet.modelStore (the bucket to read from)",
        ),
        (
            prod(model="/models/x", weights="store"),
            f"{TIER}.weights",
            "store holds Hub models; /models/x is a path in the image: leave weights out, or "
            "name the model's S3 folder as the model",
        ),
    ],
    ids=["not-a-folder", "weights-beside-a-folder", "store-without-one", "store-for-a-path"],
)
def test_weights_that_cannot_be_built_name_the_key(
    values: dict[str, Any], where: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    assert raised.value.problems == ((where, reason),)


def test_a_store_the_stack_creates_keeps_its_own_key() -> None:
    values = prod()
    values["agentfleet:fleet"]["modelStore"]["kmsKeyArn"] = (
        "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555"
    )
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    ((where, reason),) = raised.value.problems
    assert where == "agentfleet:fleet.modelStore.kmsKeyArn"
    assert "only with create: false" in reason
