"""The grades service: score sheets, the class plan and roster, the Thông tư 22 results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.audit import endpoints as audit_endpoints
from hbs_grades.compliance import endpoints as compliance_endpoints
from hbs_grades.conduct import endpoints as class_endpoints
from hbs_grades.family import endpoints as family_endpoints
from hbs_grades.national import endpoints as national_endpoints
from hbs_grades.progress import endpoints as progress_endpoints
from hbs_grades.province import endpoints as province_endpoints
from hbs_grades.records import endpoints as record_endpoints
from hbs_grades.reminders import endpoints as reminder_endpoints
from hbs_grades.reminders.runner import ReminderRunner
from hbs_grades.reports import endpoints as report_endpoints
from hbs_grades.review import endpoints as review_endpoints
from hbs_grades.settings import GradesSettings
from hbs_grades.sheets import batch_endpoints as sheet_batch_endpoints
from hbs_grades.sheets import endpoints as sheet_endpoints
from hbs_grades.windows import endpoints as window_endpoints
from hbs_grades.wiring import Grades
from hbs_shared.authz import AuthzClient
from hbs_shared.events.contracts import (
    SIGNING_DOCUMENTS_TOPIC,
    SigningCompleted,
    SigningCompletedV2,
    SigningFailed,
    SigningFailedV2,
)
from hbs_shared.events.envelope import EventEnvelope, EventRegistry, EventRejected
from hbs_shared.events.identity import (
    IDENTITY_ASSIGNMENTS_TOPIC,
    IDENTITY_STRUCTURE_TOPIC,
    IDENTITY_STUDENTS_TOPIC,
    STRUCTURE_EVENTS,
    AssignmentChanged,
    ClassRenamed,
    SchoolChanged,
    StudentDeleted,
    StudentEnrolled,
    StudentLeft,
    StudentUpdated,
)
from hbs_shared.logging import get_logger
from hbs_shared.messaging.consumer import EventConsumer
from hbs_shared.service import ServiceRuntime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)


def add_consumers(runtime: ServiceRuntime, grades: Grades) -> None:
    roster = grades.roster
    demo = grades.settings.seeds_demo

    async def demo_fill(session: AsyncSession, school_id: str, school_year: str, class_name: str) -> None:
        # The demo's schools only: their sheets come with scores, so they can be signed at once.
        if demo:
            await grades.sheet_demo.fill_demo(session, school_id, school_year, class_name)

    async def enrolled(session: AsyncSession, env: EventEnvelope, event: Any) -> None:
        await roster.on_student_enrolled(session, env.school_id, event)
        await demo_fill(session, env.school_id, event.school_year, event.class_name)

    async def updated(session: AsyncSession, env: EventEnvelope, event: Any) -> None:
        await roster.on_student_updated(session, env.school_id, event)

    async def left(session: AsyncSession, env: EventEnvelope, event: Any) -> None:
        await roster.on_student_left(session, env.school_id, event)

    async def deleted(session: AsyncSession, env: EventEnvelope, event: Any) -> None:
        await roster.on_student_deleted(session, env.school_id, event)

    async def school_changed(session: AsyncSession, env: EventEnvelope, event: Any) -> None:
        if event.school_id != env.school_id:
            # Applied to the envelope's school or not at all: never to another school's facts.
            raise EventRejected("the school's facts name another school than the envelope")
        if not await grades.school.apply(session, event, env.occurred_at):
            return
        if demo and event.current_year is not None:
            # Each demo school's four class-subjects, HK1 (before identity publishes the assignments).
            created = await grades.sheet_demo.seed_demo(session, env.school_id, event.current_year.name)
            log.info("demo score sheets seeded", school_id=env.school_id, created=created)

    async def renamed(session: AsyncSession, env: EventEnvelope, event: Any) -> None:
        if event.school_id != env.school_id:
            raise EventRejected("the renamed class names another school than the envelope")
        await roster.on_class_renamed(session, env.school_id, event)

    async def assignment(session: AsyncSession, env: EventEnvelope, event: Any) -> None:
        await roster.on_assignment_changed(session, env.school_id, event)
        await grades.reminders.remember_contact(session, env.school_id, event)
        await demo_fill(session, env.school_id, event.school_year, event.class_name)

    runtime.add_consumer(
        EventConsumer(
            "grades.signing-results",
            SIGNING_DOCUMENTS_TOPIC,
            runtime.db,
            EventRegistry(SigningCompleted, SigningCompletedV2, SigningFailed, SigningFailedV2),
            {SigningCompleted: grades.replies.completed, SigningFailed: grades.replies.failed},
        )
    )
    runtime.add_consumer(
        EventConsumer(
            "grades.identity-students",
            IDENTITY_STUDENTS_TOPIC,
            runtime.db,
            EventRegistry(StudentEnrolled, StudentUpdated, StudentLeft, StudentDeleted),
            {StudentEnrolled: enrolled, StudentUpdated: updated, StudentLeft: left, StudentDeleted: deleted},
        )
    )
    runtime.add_consumer(
        EventConsumer(
            "grades.identity-assignments",
            IDENTITY_ASSIGNMENTS_TOPIC,
            runtime.db,
            EventRegistry(AssignmentChanged, ClassRenamed),
            {AssignmentChanged: assignment, ClassRenamed: renamed},
        )
    )
    runtime.add_consumer(
        EventConsumer(
            "grades.identity-structure",
            IDENTITY_STRUCTURE_TOPIC,
            runtime.db,
            EventRegistry(*STRUCTURE_EVENTS),
            {SchoolChanged: school_changed},
        )
    )


def create_app(settings: GradesSettings) -> FastAPI:
    runtime = ServiceRuntime("grades", settings, migrations=MIGRATIONS)
    grades = Grades.build(settings)
    add_consumers(runtime, grades)

    authz = AuthzClient(settings.identity_url)

    reminders = ReminderRunner(grades.reminders, runtime.db, settings.reminder_check_seconds, grades.writing)

    async def start_reminders(_rt: ServiceRuntime) -> None:
        reminders.start()

    async def close_authz(_rt: ServiceRuntime) -> None:
        await reminders.stop()
        await authz.aclose()

    app = create_service_app(
        runtime,
        title="HBS grades",
        routers=[
            sheet_batch_endpoints.router,  # its literal paths before /sheets/{sheet_id}
            sheet_endpoints.router,
            class_endpoints.router,
            report_endpoints.router,
            family_endpoints.router,
            record_endpoints.router,
            progress_endpoints.router,
            province_endpoints.router,
            reminder_endpoints.router,
            window_endpoints.router,
            compliance_endpoints.router,
            review_endpoints.router,
            audit_endpoints.router,
            national_endpoints.router,
        ],
        on_startup=[start_reminders],
        on_shutdown=[close_authz],
    )
    app.state.reminder_runner = reminders
    app.state.grades = grades
    # Parents and students are authorised by identity (tests replace it with an in-process one).
    app.state.authz = authz
    return app
