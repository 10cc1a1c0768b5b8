"""A tier's reserved capacity (``agentfleet:fleet.tiers.<name>.reservation``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StrictStr, StringConstraints, model_validator

from infra.config.fields import ConfigModel, Count, KeyedError, Money, SubnetId


class ReservationConfig(ConfigModel):
    """EC2 capacity the tier's on-demand nodes launch into: an On-Demand Capacity
    Reservation, or a Capacity Block for ML (docs/capacity-and-cost.md, Reserved capacity)."""

    kind: Literal["capacity-reservation", "capacity-block"] = Field(
        description="capacity-reservation (an On-Demand Capacity Reservation: billed at the "
        "on-demand rate whether used or not) or capacity-block (a Capacity Block for ML: "
        "paid for when bought, for its hours; the node group is CAPACITY_BLOCK)."
    )
    id: Annotated[StrictStr, StringConstraints(pattern=r"^cr-[0-9a-f]{8,17}$")] = Field(
        description="The reservation's id (cr-...): the launch template targets it."
    )
    instances: Count = Field(description="Instances of the tier's type it holds.")
    price_per_instance_hour: Money | None = Field(
        None,
        description="USD an instance-hour: a Capacity Block's price when bought (required "
        "for one); for a capacity reservation, default the tier's on-demand price.",
    )
    ends_at: AwareDatetime | None = Field(
        None,
        description="When a Capacity Block ends (ISO 8601 with a zone): with a floor above "
        "0 the reserved-capacity-fits policy reports that the floor outlives it.",
    )
    subnet_ids: Annotated[list[SubnetId], Field(min_length=1)] = Field(
        description="The subnets of the reservation's availability zone: it holds instances "
        "in that zone only, and the node group launches nowhere else.",
    )

    @model_validator(mode="after")
    def _priced(self) -> ReservationConfig:
        if self.kind == "capacity-block" and self.price_per_instance_hour is None:
            raise KeyedError(
                "pricePerInstanceHour",
                "a Capacity Block is priced when it is bought: give its price per "
                "instance-hour (its upfront fee over its hours and instances)",
            )
        if self.kind != "capacity-block" and self.ends_at is not None:
            raise KeyedError(
                "endsAt",
                "only a Capacity Block ends with its instances; a capacity reservation's "
                "instances run on at on-demand prices after it ends",
            )
        return self
