"""0002 upgrades sheets made by 0001 (the walking skeleton's) and runs both ways."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import Connection, text

from hbs_grades.app import MIGRATIONS
from hbs_shared.db import Database
from hbs_shared.migrations import alembic_config

pytestmark = pytest.mark.db


async def migrate(db: Database, target: str, *, down: bool = False) -> None:
    from alembic import command

    config = alembic_config(MIGRATIONS, db.engine.url.render_as_string(hide_password=False))

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, target)

    async with db.engine.begin() as connection:
        await connection.run_sync(run)


async def test_0002_gives_old_sheets_a_subject_code_and_hk1(databases: Any) -> None:
    db = Database(databases.new("grades"))
    try:
        await migrate(db, "0001")
        sheet_id = uuid.uuid4()
        async with db.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO score_sheets (id, school_id, school_year, class_name, subject, term,"
                    " teacher_id, teacher_name, state, version)"
                    " VALUES (:id, 's', '2026-2027', '10A1', 'Toán', 'HK I', :t, 'GV', 'open', 1)"
                ),
                {
                    "id": sheet_id.hex if db.is_sqlite else sheet_id,
                    "t": uuid.uuid4().hex if db.is_sqlite else uuid.uuid4(),
                },
            )
        await migrate(db, "head")
        async with db.engine.begin() as connection:
            row = (
                await connection.execute(
                    text("SELECT subject_code, assessment, regular_count, term FROM score_sheets")
                )
            ).one()
        assert tuple(row) == ("TOAN", "scored", 3, "HK1")
        await migrate(db, "0001", down=True)
        await migrate(db, "head")
    finally:
        await db.dispose()


async def test_0013_takes_entered_reexamination_results_as_the_students_choice(databases: Any) -> None:
    """Issue 11 §8: a result computed before the choice existed stays the same after 0013."""
    db = Database(databases.new("grades"))
    try:
        await migrate(db, "0007")
        entered, untouched = uuid.uuid4(), uuid.uuid4()
        async with db.engine.begin() as connection:
            for student, reexam in ((entered, '{"TOAN": "5", "GDTC": "Đ"}'), (untouched, "{}")):
                await connection.execute(
                    text(
                        "INSERT INTO year_extras (school_id, school_year, student_id, summer_training,"
                        " reexam) VALUES ('s', '2026-2027', :id, NULL, :reexam)"
                    ),
                    {"id": student.hex if db.is_sqlite else student, "reexam": reexam},
                )
        await migrate(db, "head")
        async with db.engine.begin() as connection:
            rows = (await connection.execute(text("SELECT student_id, reexam_choice FROM year_extras"))).all()
        choices = {uuid.UUID(str(student)): choice for student, choice in rows}
        chosen = choices[entered]
        assert (chosen if isinstance(chosen, list) else json.loads(chosen)) == ["GDTC", "TOAN"]
        assert choices[untouched] is None
        await migrate(db, "0007", down=True)
        await migrate(db, "head")
    finally:
        await db.dispose()
