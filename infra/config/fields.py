"""What the stack config models share: their base model, the error a model validator
raises to blame one key, and the value types (money, counts, seconds, names, patterns)."""

from __future__ import annotations

import ipaddress
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
)
from pydantic.alias_generators import to_camel

from facts.checklist import HPA_MAX_WINDOW_SECONDS
from infra.config.cron import parse_cron

NAMESPACE = "agentfleet"
"""The Pulumi config namespace of every key agentfleet reads."""
REGION_KEY = "aws:region"
HF_TOKEN_KEY = f"{NAMESPACE}:hfToken"


class KeyedError(ValueError):
    """Raised by a model validator to blame one field of the model by its key."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


def to_decimal(value: object) -> object:
    """Prices and budgets: exact decimals from YAML ints, floats or numeric strings."""
    if isinstance(value, bool):
        return value  # let pydantic reject it as a wrong type
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"must be a number (got {value!r})") from None
        if not parsed.is_finite():
            raise ValueError("must be a finite number")
        return parsed
    return value


CENT = Decimal("0.01")
MAX_MONEY = Decimal(1_000_000)
"""Far above any GPU price or hourly budget, far below what exact money arithmetic holds."""
MAX_COUNT = 1_000_000_000


def _money_range(value: Decimal) -> Decimal:
    if value < CENT:
        raise ValueError(f"must be at least 0.01 (a cent); got {value}")
    if value > MAX_MONEY:
        raise ValueError(f"must be at most {MAX_MONEY:,}; got {value:.3g}")
    return value


Money = Annotated[
    Decimal, BeforeValidator(to_decimal), AfterValidator(_money_range), Field(allow_inf_nan=False)
]
"""Dollars: at least a cent (a smaller amount shows as $0.00), at most a million."""
Count = Annotated[StrictInt, Field(ge=1, le=MAX_COUNT)]
Seconds = Annotated[StrictInt, Field(ge=0, le=HPA_MAX_WINDOW_SECONDS)]
TierName = Annotated[
    str, StringConstraints(pattern=r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$", strict=True)
]
"""A DNS-1035 label (it names Services and Deployments): a lowercase letter first."""
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def _cidr(value: str) -> str:
    """An IPv4 network as AWS takes it: four decimal octets without leading zeros, a
    prefix of 0-32, no host bits set."""
    if not re.fullmatch(r"(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}/(0|[1-9]\d?)", value):
        raise ValueError(f"{value!r} is not an IPv4 CIDR block (e.g. 10.0.0.0/16)")
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"{value}: {error}") from None
    return value


Cidr = Annotated[StrictStr, Field(max_length=18), AfterValidator(_cidr)]


class ConfigModel(BaseModel):
    """Base of the stack config models: camelCase keys, unknown keys refused, frozen."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        extra="forbid",
        frozen=True,
        validate_by_alias=True,
        validate_by_name=True,
    )


def _cron(value: str) -> str:
    """Five fields as KEDA's cron trigger parses them (robfig/cron), that fire some day."""
    reason = parse_cron(value).never_fires()
    if reason:
        raise ValueError(f"{value!r} {reason}")
    return value


Cron = Annotated[StrictStr, Field(max_length=100), AfterValidator(_cron)]

# An OCI image reference (distribution/reference's grammar): [registry[:port]/]path
# components of lowercase alphanumerics and separators, then :tag and/or @digest.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_REGISTRY = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?/)?"
IMAGE = re.compile(
    rf"{_REGISTRY}{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)
TAG_VALUE = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"
"""What an AWS tag value may hold (the Tagging API's pattern)."""
SQS_ARN = r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_*?-]{1,80}(\.fifo)?$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"
SubnetId = Annotated[StrictStr, StringConstraints(pattern=r"^subnet-[0-9a-f]{1,17}$")]
