"""IAM policy documents, built the same way by every component that writes one."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

VERSION = "2012-10-17"
POD_IDENTITY = {"Service": "pods.eks.amazonaws.com"}
# EKS Pod Identity tags the session with the pod's cluster, namespace and account.
POD_IDENTITY_ACTIONS = ("sts:AssumeRole", "sts:TagSession")


def allow(
    actions: str | Sequence[str],
    resource: str | Sequence[str],
    *,
    sid: str | None = None,
    condition: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One Allow statement."""
    statement: dict[str, Any] = {"Sid": sid} if sid else {}
    statement.update(
        Effect="Allow",
        Action=actions if isinstance(actions, str) else list(actions),
        Resource=resource if isinstance(resource, str) else list(resource),
    )
    if condition:
        statement["Condition"] = dict(condition)
    return statement


def document(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": [dict(s) for s in statements]}


def trust(principal: Mapping[str, str], actions: str | Sequence[str] = "sts:AssumeRole") -> str:
    """A role's trust policy: who may assume it."""
    return json.dumps(
        document(
            {
                "Effect": "Allow",
                "Principal": dict(principal),
                "Action": actions if isinstance(actions, str) else list(actions),
            }
        )
    )


def pod_identity_trust() -> str:
    """A role that EKS Pod Identity hands to the pods of one service account."""
    return trust(POD_IDENTITY, POD_IDENTITY_ACTIONS)
