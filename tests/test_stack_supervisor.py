"""The embedded stack's supervisor: a service killed with SIGKILL comes back by itself and serves."""

from __future__ import annotations

import os
import signal

import pytest

from hbs_devtools.drive import SystemClient

pytestmark = [pytest.mark.broker, pytest.mark.hsm, pytest.mark.db]


def test_a_service_killed_with_sigkill_is_restarted_by_the_stack_and_serves(system: SystemClient) -> None:
    stack = system.stack
    old_pid = stack.pid("grades")
    deaths_before = len(stack.deaths)
    token = system.token("gv.van")

    new_pid = stack.kill("grades", signal.SIGKILL)

    assert new_pid != old_pid
    with pytest.raises(ProcessLookupError):
        os.kill(old_pid, 0)  # the old process is gone (reaped), not merely replaced
    death = stack.deaths[deaths_before]
    assert (death.service, death.returncode) == ("grades", -signal.SIGKILL)
    assert "grades restarted" in (stack.data_dir / "logs" / "stack.log").read_text()
    # It serves an authenticated request from its database again (the token is still valid).
    with system.client("grades", token) as grades:
        answer = grades.get("/sheets")
    assert answer.status_code == 200, answer.text
    assert answer.json(), "gv.van's sheets are gone after the restart"
