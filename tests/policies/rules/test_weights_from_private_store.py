"""Security: a production tier streams its weights from S3, not the Hub at every start."""

from __future__ import annotations

import pytest

from infra.offline.mocks import run_program
from tests.helpers import stack_values
from tests.policies.support import (
    StackCase,
    assert_stack_case,
    check_stack,
    policy,
    prod_with,
    tier,
)

NAME = "weights-from-private-store"


def hub(tier_name: str, model: str) -> str:
    return (
        f"tier {tier_name} (prod) pulls {model} from the Hugging Face Hub at every pod start: "
        "the Hub's rate limits meet a scale-out, and the GPU nodes need the internet. Stream "
        "it from S3: fleet.modelStore, or an s3:// model."
    )


CASES: dict[str, StackCase] = {
    "prod-streams-every-tier-from-its-store": (lambda rs: rs, []),
    "prod-tier-opts-out-of-the-store": (
        lambda _: prod_with(tier("lightweight", weights="hub")),
        [(hub("lightweight", "Qwen/Qwen2.5-3B-Instruct"), "lightweight-deployment")],
    ),
    "prod-tier-of-its-own-s3-folder": (
        lambda _: prod_with(tier("mid-tier", model="s3://agents-finetunes/support-bot/v3/")),
        [],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_stack_case(NAME, CASES[case])


def test_without_a_store_every_prod_tier_is_found() -> None:
    registrations = prod_with(lambda fleet: fleet.pop("modelStore"))
    found = check_stack(policy(NAME), registrations) or []
    assert sorted(message.split(" (prod)")[0] for message, _ in found) == [
        "tier lightweight",
        "tier mid-tier",
        "tier orchestrator",
    ]


def test_only_the_watched_environments_are_held_to_it() -> None:
    """staging pulls from the Hub: not applicable by default, found when watched."""
    registrations, _ = run_program(stack_values("staging"), stack="staging")
    assert check_stack(policy(NAME), registrations, {"environments": ["prod"]}) is None
    found = check_stack(policy(NAME), registrations, {"environments": ["staging"]}) or []
    assert found
    assert all("from the Hugging Face Hub" in message for message, _ in found)
