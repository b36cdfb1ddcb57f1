"""The fault tests' own stack: they kill its services and restart its broker, so no other test
module may share it (the suite's session `stack` stays untouched)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hbs_devtools.broker import free_port
from hbs_devtools.stack import Stack
from tests.factories import FactorySystem, SchoolFactory

NAMES = ("identity", "grades", "signing", "portal")


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory, databases: Any) -> Iterator[Stack]:
    running = Stack(
        tmp_path_factory.mktemp("fault-stack"),
        ports={name: free_port() for name in NAMES},
        database_urls={name: databases.new(name) for name in NAMES},
        environment="test",
        extra_env={
            "HBS_IDENTITY_DEMO_SIZE": "small",
            # A request a killed signing was signing is taken again when its lease runs out: 60 s by
            # default, which the slice waited in about one run of two (step 1 took 62 s, not 6 s).
            "HBS_SIGNING_REQUEST_LEASE_SECONDS": "15",
        },
        supervise=True,
    )
    try:
        running.start(timeout=180)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def fault_system(fault_stack: Stack) -> FactorySystem:
    return FactorySystem(fault_stack)


@pytest.fixture(scope="module")
def fault_school(fault_system: FactorySystem) -> SchoolFactory:
    return SchoolFactory(fault_system)
