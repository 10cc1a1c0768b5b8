"""Fixtures for the component tests."""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime import settings
from pulumi.runtime.sync_await import _ensure_event_loop

from infra.offline.mocks import OfflineMocks


@pytest.fixture
def mocked() -> OfflineMocks:
    """Pulumi's mock runtime with the offline answers, for @pulumi.runtime.test tests."""
    mocks = OfflineMocks()
    settings.set_root_resource(None)  # type: ignore[arg-type]
    _ensure_event_loop()  # type: ignore[no-untyped-call]
    pulumi.runtime.set_mocks(mocks, project="agentfleet", stack="test", preview=False)
    return mocks
