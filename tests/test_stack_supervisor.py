"""The embedded stack's supervisor (a service killed with SIGKILL comes back by itself and serves)
and a restart of its in-memory broker, which the services survive without losing events."""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from hbs_devtools.drive import SystemClient
from hbs_devtools.stack import Stack

from .factories import SchoolClass, SchoolFactory, wait_until

# Not rerun on PostgreSQL (no `db` marker): it tests process supervision, not the database.
pytestmark = [pytest.mark.broker, pytest.mark.hsm]


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


def outbox_pending(stack: Stack, service: str) -> float:
    metrics = httpx.get(stack.url(service) + "/metrics", timeout=10).text
    line = next(line for line in metrics.splitlines() if line.startswith("hbs_outbox_pending{"))
    return float(line.rsplit(" ", 1)[1])


def test_events_sent_before_a_broker_restart_and_after_it_reach_their_consumer(
    system: SystemClient, school: SchoolFactory
) -> None:
    """Grades is down while identity sends a new class's events; the in-memory broker restarts
    (losing them) before grades is back: identity sends them again, and grades' consumers, which
    rejoin by themselves, get both those and the events of a class made after the restart."""
    stack = system.stack
    stack.stop_service("grades")
    try:
        name = f"10R{school.tag}"
        made = school._post(
            "/classes", {"name": name, "grade_level": 10, "school_year": school.current_year()}
        )
        student = school.student(str(made["id"]), f"Lê Thị {school.tag} An")
        teacher = school.staff(["subject_teacher"])
        school._post(
            "/assignments",
            {
                "kind": "subject_teacher",
                "teacher_id": teacher.id,
                "class_id": made["id"],
                "subject_code": "TOAN",
            },
        )
        wait_until("identity's outbox sent", lambda: outbox_pending(stack, "identity") == 0, timeout=30)

        stack.restart_broker()
    finally:
        stack.resume_service("grades")
    school.wait_for_grades(
        SchoolClass(str(made["id"]), name, school.current_year(), [student], {"TOAN": teacher}, None)
    )
    school.school_class(students=1)  # made after the restart: waits until grades has it


def test_a_broker_killed_with_sigkill_is_restarted_empty_and_events_flow_again(
    system: SystemClient, school: SchoolFactory
) -> None:
    stack = system.stack
    old_pid = stack.pid("broker")
    old_cluster = stack.broker.cluster_id

    assert stack.kill("broker", signal.SIGKILL) != old_pid

    assert stack.broker.cluster_id != old_cluster  # an empty broker, as after a crash
    assert stack.deaths[-1].service == "broker"
    school.school_class(students=1)  # identity → broker → grades, end to end
