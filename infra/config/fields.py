"""What the stack config models share: their base model, the error a model validator
raises to blame one key, and the value types (money, counts, seconds, names, patterns)."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import (
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

NAMESPACE = "agentfleet"
"""The Pulumi config namespace of every key agentfleet reads."""
REGION_KEY = "aws:region"
HF_TOKEN_KEY = f"{NAMESPACE}:hfToken"


class KeyedError(ValueError):
    """Raised by a model validator to blame one field of the model by its key."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


def _to_decimal(value: object) -> object:
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


Money = Annotated[Decimal, BeforeValidator(_to_decimal), Field(gt=0, allow_inf_nan=False)]
Count = Annotated[StrictInt, Field(ge=1)]
Seconds = Annotated[StrictInt, Field(ge=0, le=HPA_MAX_WINDOW_SECONDS)]
TierName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", strict=True)
]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
CIDR = r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$"


class ConfigModel(BaseModel):
    """Base of the stack config models: camelCase keys, unknown keys refused, frozen."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        extra="forbid",
        frozen=True,
        validate_by_alias=True,
        validate_by_name=True,
    )


CRON_FIELD = r"[0-9*/,\-A-Za-z?]+"
CRON = rf"^{CRON_FIELD}( {CRON_FIELD}){{4}}$"


IMAGE = re.compile(r"^[\w./:-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$")
SQS_ARN = r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_*?-]{1,80}(\.fifo)?$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"
SubnetId = Annotated[StrictStr, StringConstraints(pattern=r"^subnet-[0-9a-f]{1,17}$")]
