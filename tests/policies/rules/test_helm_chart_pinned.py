"""Supply chain: a Helm release installs one exact chart version."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    HELM_RELEASE,
)
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    keda_release,
    same,
)

NAME = "helm-chart-pinned"
SUBJECT = (HELM_RELEASE, "addons-keda")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "helm-pinned-ok": (HELM_RELEASE, keda_release, same, []),
    "helm-pinned-v-prefix-ok": (
        HELM_RELEASE,
        keda_release,
        lambda p: p.update(version="v25.10.1"),
        [],
    ),
    "helm-no-version": (
        HELM_RELEASE,
        keda_release,
        lambda p: p.pop("version"),
        [
            "chart keda has no version: every run may install a newer one. Pin an exact chart "
            "version."
        ],
    ),
    "helm-range": (
        HELM_RELEASE,
        keda_release,
        lambda p: p.update(version="^2.18"),
        [
            "chart keda version '^2.18' is not one exact version (a range or a tag moves). Pin "
            "an exact chart version such as 1.2.3."
        ],
    ),
    "helm-latest": (
        HELM_RELEASE,
        keda_release,
        lambda p: p.update(version="latest"),
        [
            "chart keda version 'latest' is not one exact version (a range or a tag moves). Pin "
            "an exact chart version such as 1.2.3."
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])
