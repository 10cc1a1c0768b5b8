"""A4: user-facing tiers never scale to zero."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.support import (
    HPA_TYPES,
    NODE_GROUP,
    PREFIX,
    SCALED_OBJECT,
    Report,
    dig,
    flag,
    labels,
    mapping,
    number,
    resource_policy,
    show,
    tags,
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    props = args.props
    marks: Mapping[str, Any]
    if args.resource_type == NODE_GROUP:
        marks = {**mapping(tags(props)), **mapping(props.get("labels"))}
        floor = number(dig(props, "scalingConfig", "minSize"))
        what = "node group minSize"
    elif args.resource_type == SCALED_OBJECT:
        marks = labels(props)
        floor = number(dig(props, "spec", "minReplicaCount"))
        floor = 0.0 if floor is None else floor  # KEDA's default
        what = "minReplicaCount"
    elif args.resource_type in HPA_TYPES:
        marks = labels(props)
        floor = number(dig(props, "spec", "minReplicas"))
        what = "minReplicas"
    else:
        args.not_applicable("not a node group or autoscaler")
        return
    if flag(marks.get(f"{PREFIX}user-facing")) is not True:
        args.not_applicable("not user-facing")
    if floor is not None and floor < 1:
        report(
            f"{what} is {show(floor)}: the user-facing tier can scale to zero; want at least "
            "1 (the checklist wants 2). Set minInstances."
        )


POLICY = resource_policy("user-facing-floor", check)
