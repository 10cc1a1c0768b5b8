"""Security: no secret is written as a plain value in a workload's environment or a
ConfigMap. Messages name where the secret is, never the secret."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    DEPLOYMENT,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    check_resource,
    container,
    deployment,
    orchestrator,
    policy,
    prod_and,
    same,
)

NAME = "no-plaintext-secrets"
SUBJECT = (DEPLOYMENT, "orchestrator-deployment")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "secret-ok": (DEPLOYMENT, orchestrator, same, []),
    "secret-in-env": (
        DEPLOYMENT,
        orchestrator,
        lambda p: container(p)["env"].append(
            {"name": "HF_TOKEN", "value": "hf_abcdefghijklmnopqrstuvwxyz"}
        ),
        [
            "container vllm sets HF_TOKEN to a plain value; want a reference to a Secret. Use "
            "valueFrom.secretKeyRef."
        ],
    ),
    "secret-by-shape": (
        DEPLOYMENT,
        orchestrator,
        lambda p: container(p)["env"].append(
            {"name": "UPSTREAM", "value": "sk-abcdefghijklmnopqrstuvwxyz012"}
        ),
        [
            "container vllm sets UPSTREAM to a plain value; want a reference to a Secret. Use "
            "valueFrom.secretKeyRef."
        ],
    ),
    "where-the-credentials-are": (
        DEPLOYMENT,
        orchestrator,
        lambda p: container(p)["env"].append(
            {
                "name": "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "value": "http://127.0.0.1:8082/weights-credentials",
            }
        ),
        [],
    ),
    "a-credential-where-an-address-goes": (
        DEPLOYMENT,
        orchestrator,
        lambda p: container(p)["env"].append(
            {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "AKIAABCDEFGHIJKLMNOP"}
        ),
        [
            "container vllm sets AWS_CONTAINER_CREDENTIALS_FULL_URI to a plain value; want a "
            "reference to a Secret. Use valueFrom.secretKeyRef."
        ],
    ),
    "secret-in-config-map": (
        "kubernetes:core/v1:ConfigMap",
        lambda: {"data": {"settings": "token: hf_abcdefghijklmnopqrstuvwxyz"}},
        same,
        [
            "ConfigMap key settings holds what looks like a credential; want it in a Secret. "
            "Move it."
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_and(
        deployment(
            "reporter",
            {"app.kubernetes.io/name": "reporter"},
            env=[{"name": "OPENAI_API_KEY", "value": "sk-live-abcdefghijklmnopqrstuvwx"}],
        )
    )


def test_messages_never_echo_a_secret() -> None:
    properties = orchestrator()
    container(properties)["env"].append({"name": "DB_PASSWORD", "value": "correct-horse-9"})
    messages = check_resource(policy(NAME), DEPLOYMENT, properties)
    assert messages
    assert "correct-horse-9" not in " ".join(messages)
