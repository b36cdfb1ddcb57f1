"""Grades' API as the portal uses it: score sheets, conduct, year records, results, families."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx

from hbs_portal.clients.transport import Caller

Id = str | uuid.UUID


def _seg(text: str) -> str:
    """One path segment: class names carry spaces and Vietnamese letters ("11 Toán chuyên")."""
    return quote(text, safe="")


class GradesClient:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    # Score sheets
    async def sheets(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", "/sheets")
        return result

    async def sheet(self, sheet_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/sheets/{sheet_id}")
        return result

    async def sheet_action(
        self, sheet_id: Id, action: str, version: int, activation_id: str | None = None
    ) -> dict[str, Any]:
        """submit, sign, return…: one step of the sheet's workflow at the version the page showed."""
        body: dict[str, Any] = {"expected_version": version}
        if activation_id is not None:
            body["activation_id"] = activation_id
        result: dict[str, Any] = await self.caller.json("POST", f"/sheets/{sheet_id}/{action}", json=body)
        return result

    async def ready_to_sign(self) -> dict[str, Any]:
        """The caller's own unsigned sheets: `ready` and `not_ready` (with the reason), `signed`."""
        result: dict[str, Any] = await self.caller.json("GET", "/sheets/ready-to-sign")
        return result

    async def sign_sheets(self, chosen: list[tuple[str, int]], activation_id: str) -> dict[str, Any]:
        """Every chosen sheet (id, version shown) under one activation, all or nothing: the batch."""
        body = {
            "sheets": [{"sheet_id": sheet_id, "expected_version": version} for sheet_id, version in chosen],
            "activation_id": activation_id,
        }
        result: dict[str, Any] = await self.caller.json("POST", "/sheets/sign", json=body)
        return result

    async def sheet_batch(self, batch_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/sheets/batches/{batch_id}")
        return result

    async def scores(self, sheet_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/sheets/{sheet_id}/scores")
        return result

    async def save_scores(self, sheet_id: Id, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("PUT", f"/sheets/{sheet_id}/scores", json=body)
        return result

    async def sheet_changes(self, sheet_id: Id) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", f"/sheets/{sheet_id}/changes")
        return result

    async def sheet_xlsx(self, sheet_id: Id) -> httpx.Response:
        return await self.caller.request("GET", f"/sheets/{sheet_id}/xlsx")

    async def upload_sheet_xlsx(self, sheet_id: Id, data: bytes, headers: dict[str, str]) -> None:
        await self.caller.request("PUT", f"/sheets/{sheet_id}/xlsx", content=data, headers=headers)

    # Conduct and attendance of a class
    # Corrections of a signed sheet (Đ9.2): the minutes, their cells, the board member's signature
    async def sheet_corrections(self, sheet_id: Id) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", f"/sheets/{sheet_id}/corrections")
        return result

    async def open_sheet_correction(self, sheet_id: Id, body: dict[str, Any]) -> dict[str, Any]:
        """The sheet reopened under the minutes (its `correction_id` names the new correction)."""
        result: dict[str, Any] = await self.caller.json("POST", f"/sheets/{sheet_id}/corrections", json=body)
        return result

    async def sign_correction_minutes(
        self, sheet_id: Id, correction_id: Id, activation_id: str
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json(
            "POST",
            f"/sheets/{sheet_id}/corrections/{correction_id}/minutes/sign",
            json={"activation_id": activation_id},
        )
        return result

    async def conduct(self, class_name: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", f"/classes/{_seg(class_name)}/conduct")
        return result

    async def conduct_changes(self, class_name: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json(
            "GET", f"/classes/{_seg(class_name)}/conduct/changes"
        )
        return result

    async def save_class_part(self, class_name: str, part: str, body: dict[str, Any]) -> None:
        """Conduct of a term, or the year-end part: `part` is grades' path under the class."""
        await self.caller.request("PUT", f"/classes/{_seg(class_name)}/{part}", json=body)

    # Results and statistics
    async def class_results(self, class_name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/results/classes/{_seg(class_name)}")
        return result

    async def class_results_xlsx(self, class_name: str) -> httpx.Response:
        return await self.caller.request("GET", f"/results/classes/{_seg(class_name)}/xlsx")

    async def subject_results(self, subject: str, period: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json(
            "GET", f"/results/subjects/{_seg(subject)}", params={"period": period}
        )
        return result

    async def class_ratings(self, period: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", "/results/ratings", params={"period": period})
        return result

    async def subject_results_xlsx(self, subject: str, period: str) -> httpx.Response:
        return await self.caller.request(
            "GET", f"/results/subjects/{_seg(subject)}/xlsx", params={"period": period}
        )

    # Year records
    async def homeroom_classes(self) -> list[str]:
        result: list[str] = await self.caller.json("GET", "/records/homeroom-classes")
        return result

    async def class_records(self, class_name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/records/classes/{_seg(class_name)}")
        return result

    async def school_records(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", "/records")
        return result

    async def record(self, record_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/records/{record_id}")
        return result

    async def record_batch(self, batch_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/records/batches/{batch_id}")
        return result

    async def sign_records(self, body: dict[str, Any]) -> None:
        await self.caller.request("POST", "/records/sign", json=body)

    async def record_remarks(self, record_id: Id, remarks: str, version: int) -> None:
        await self.caller.request(
            "PUT", f"/records/{record_id}/remarks", json={"expected_version": version, "remarks": remarks}
        )

    async def return_record(self, record_id: Id, reason: str, version: int) -> None:
        await self.caller.request(
            "POST", f"/records/{record_id}/return", json={"reason": reason, "expected_version": version}
        )

    async def correct_record(self, record_id: Id, body: dict[str, Any]) -> None:
        await self.caller.request("POST", f"/records/{record_id}/corrections", json=body)

    async def revoke_record(self, record_id: Id, body: dict[str, Any]) -> None:
        """Thu hồi: the principal annuls an approved record under the board's minutes (final)."""
        await self.caller.request("POST", f"/records/{record_id}/revocation", json=body)

    async def return_class_records(self, class_name: str, reason: str) -> None:
        await self.caller.request(
            "POST", f"/records/classes/{_seg(class_name)}/return", json={"reason": reason}
        )

    # Time windows (Đ5) and the compliance report (Đ10)
    async def windows(self, school_year: str | None = None) -> dict[str, Any]:
        params = {"school_year": school_year} if school_year else None
        result: dict[str, Any] = await self.caller.json("GET", "/windows", params=params)
        return result

    async def my_deadlines(self, school_year: str | None = None) -> dict[str, Any]:
        """The caller's own deadlines (their subjects, their homeroom class) with extensions."""
        params = {"school_year": school_year} if school_year else None
        result: dict[str, Any] = await self.caller.json("GET", "/windows/mine", params=params)
        return result

    async def set_windows(self, school_year: str, windows: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"school_year": school_year, "windows": windows}
        result: dict[str, Any] = await self.caller.json("PUT", "/windows", json=body)
        return result

    async def window_extensions(self, school_year: str | None = None) -> list[dict[str, Any]]:
        params = {"school_year": school_year} if school_year else None
        result: list[dict[str, Any]] = await self.caller.json("GET", "/windows/extensions", params=params)
        return result

    async def extend_window(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("POST", "/windows/extensions", json=body)
        return result

    async def compliance(self, filters: dict[str, str] | None = None) -> dict[str, Any]:
        """Filters: school_year, term, step, department, teacher_id, group_by (person|department)."""
        result: dict[str, Any] = await self.caller.json("GET", "/compliance", params=filters or None)
        return result

    async def compliance_xlsx(self, filters: dict[str, str] | None = None) -> httpx.Response:
        return await self.caller.request("GET", "/compliance/xlsx", params=filters or None)

    # Audit trail (board and office)
    async def audit(self, params: dict[str, Any]) -> dict[str, Any]:
        """`{entries, total}`, newest first; filters and paging as query parameters."""
        result: dict[str, Any] = await self.caller.json("GET", "/audit", params=params)
        return result

    async def audit_verify(self) -> dict[str, Any]:
        """Whether grades' audit chain is intact, or its first broken link."""
        result: dict[str, Any] = await self.caller.json("GET", "/audit/verify")
        return result

    # Families
    async def family_students(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", "/family/students")
        return result

    async def family_results(self, student_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/family/students/{student_id}/results")
        return result

    # Review samples (Đ4.2) and the homeroom teacher's check of personal data (Đ6.1)
    async def review_overview(self) -> list[dict[str, Any]]:
        """Per class: the review sample's state and the homeroom check (the board)."""
        result: list[dict[str, Any]] = await self.caller.json("GET", "/review/overview")
        return result

    async def review_samples(self, class_name: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json(
            "GET", f"/review/classes/{_seg(class_name)}/samples"
        )
        return result

    async def draw_review_sample(self, class_name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("POST", f"/review/classes/{_seg(class_name)}/samples")
        return result

    async def review_verdict(self, sample_id: Id, record_id: Id, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json(
            "POST", f"/review/samples/{sample_id}/records/{record_id}/verdict", json=body
        )
        return result

    async def redraw_review_sample(self, sample_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/review/samples/{sample_id}/redraw")
        return result

    async def personal_data_checks(self, class_name: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json(
            "GET", f"/review/classes/{_seg(class_name)}/personal-data"
        )
        return result

    async def verify_all_personal_data(self, class_name: str, student_ids: list[str]) -> list[dict[str, Any]]:
        """Đánh dấu tất cả đúng: every field of these students confirmed at once (homeroom teacher)."""
        result: list[dict[str, Any]] = await self.caller.json(
            "POST",
            f"/review/classes/{_seg(class_name)}/personal-data/verify-all",
            json={"student_ids": student_ids, "confirmed": True},
        )
        return result

    async def check_personal_data(self, student_id: Id, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json(
            "PUT", f"/review/students/{student_id}/personal-data", json=body
        )
        return result

    # The board's progress view and reminders (Đ4.1)
    async def progress(self, params: dict[str, str]) -> dict[str, Any]:
        """Counts per group and step; `params` are grades' filters (term, step, group_by, …)."""
        result: dict[str, Any] = await self.caller.json("GET", "/progress", params=params)
        return result

    async def province_progress(self) -> dict[str, Any]:
        """Each school's current year in counts: sheets and year records by state (province roles)."""
        result: dict[str, Any] = await self.caller.json("GET", "/province/progress")
        return result

    async def progress_items(self, params: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", "/progress/items", params=params)
        return result

    async def remind(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("POST", "/reminders", json=body)
        return result

    async def sent_reminders(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", "/reminders")
        return result

    async def my_reminders(self, unread_only: bool = False) -> list[dict[str, Any]]:
        params = {"unread_only": "true"} if unread_only else {}
        result: list[dict[str, Any]] = await self.caller.json("GET", "/reminders/mine", params=params)
        return result

    async def read_reminder(self, reminder_id: Id) -> None:
        await self.caller.request("POST", f"/reminders/{reminder_id}/read")

    # National export (CSDL ngành)
    async def national_exports(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", "/national/exports")
        return result

    async def make_national_export(self, since: str | None) -> dict[str, Any]:
        """None: every student with a sealed record; `last` or an export's id: what changed since."""
        result: dict[str, Any] = await self.caller.json("POST", "/national/exports", json={"since": since})
        return result

    async def national_export_file(self, export_id: Id, form: str) -> httpx.Response:
        return await self.caller.request("GET", f"/national/exports/{export_id}/{form}")
