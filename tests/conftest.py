"""Fixtures of the tests that drive the whole running system."""

from __future__ import annotations

import pytest

from hbs_shared.devstack.drive import SystemClient
from hbs_shared.devstack.stack import Stack


@pytest.fixture(scope="session")
def system(stack: Stack) -> SystemClient:
    return SystemClient(stack)
