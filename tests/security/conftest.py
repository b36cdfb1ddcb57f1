"""The security suite's shared world: built once on the running stack (see world.py)."""

from __future__ import annotations

import pytest

from hbs_shared.devstack.drive import SystemClient
from tests.security.world import World, build_world


@pytest.fixture(scope="session")
def world(system: SystemClient) -> World:
    return build_world(system)
