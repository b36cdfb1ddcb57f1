"""What the audit trail records, by service, and the Vietnamese name the portal shows for each.

Grades' actions are an enum (`GradesAction`): a use case passes a member to
`hbs_grades.audit.record`. To add one: a member here and its label in `GRADES_ACTION_LABELS`
(a test checks every member has one). Identity's actions are its older dotted codes
("sign_in.failed"); `IDENTITY_ACTION_LABELS` names them.
"""

from __future__ import annotations

from enum import StrEnum


class GradesAction(StrEnum):
    """Grades' workflow actions (Đ8, Đ9), one audit entry each."""

    scores_changed = "scores_changed"
    """Cells of a sheet changed after it was submitted, or under a correction (details: the cells)."""
    sheet_submitted = "sheet_submitted"
    sheet_signing_requested = "sheet_signing_requested"
    sheet_signed = "sheet_signed"
    sheet_signing_failed = "sheet_signing_failed"
    correction_opened = "correction_opened"
    """A signed sheet or an approved record reopened under the board's minutes."""
    correction_closed = "correction_closed"
    """The corrected sheet signed again."""
    record_signing_requested = "record_signing_requested"
    """Steps 2–4: one entry per record sent for signature (details: the step)."""
    record_signed = "record_signed"
    record_signing_failed = "record_signing_failed"
    record_returned = "record_returned"
    """Given back by the board (vice-principal or principal) with a reason."""
    record_reopened = "record_reopened"
    """Back to draft because a sheet of its class was corrected."""
    record_revoked = "record_revoked"
    """An approved record annulled by the board under minutes: every version verifies as revoked."""
    sample_drawn = "sample_drawn"
    sample_verdict = "sample_verdict"
    review_settings_changed = "review_settings_changed"
    """The school's sample size rule (share, minimum) set by the principal."""
    window_set = "window_set"
    window_extended = "window_extended"
    reminder_sent = "reminder_sent"
    correction_minutes_signed = "correction_minutes_signed"
    personal_data_verified = "personal_data_verified"
    export = "export"


GRADES_ACTION_LABELS: dict[str, str] = {
    GradesAction.scores_changed: "Sửa điểm sau khi nộp",
    GradesAction.sheet_submitted: "Nộp sổ điểm",
    GradesAction.sheet_signing_requested: "Gửi ký sổ điểm",
    GradesAction.sheet_signed: "Đã ký sổ điểm",
    GradesAction.sheet_signing_failed: "Ký sổ điểm không thành công",
    GradesAction.correction_opened: "Mở điều chỉnh theo biên bản",
    GradesAction.correction_closed: "Hoàn tất điều chỉnh (đã ký lại)",
    GradesAction.record_signing_requested: "Gửi ký học bạ",
    GradesAction.record_signed: "Đã ký học bạ",
    GradesAction.record_signing_failed: "Ký học bạ không thành công",
    GradesAction.record_returned: "Trả lại học bạ",
    GradesAction.record_reopened: "Mở lại học bạ để ký lại",
    GradesAction.record_revoked: "Thu hồi học bạ theo biên bản",
    GradesAction.sample_drawn: "Chọn mẫu kiểm tra học bạ",
    GradesAction.sample_verdict: "Kết luận kiểm tra mẫu",
    GradesAction.review_settings_changed: "Đặt cỡ mẫu kiểm tra",
    GradesAction.window_set: "Đặt thời hạn",
    GradesAction.window_extended: "Gia hạn",
    GradesAction.reminder_sent: "Gửi nhắc nhở",
    GradesAction.correction_minutes_signed: "Ký biên bản điều chỉnh",
    GradesAction.personal_data_verified: "Đối chiếu thông tin cá nhân",
    GradesAction.export: "Xuất dữ liệu",
}


class SigningAction(StrEnum):
    """Signing's audited actions: packages leaving and entering the school (issue 13, Đ7.3)."""

    package_exported = "package_exported"
    """A transfer or graduation package sealed (details: reason, records, SHA-256)."""
    package_imported = "package_imported"
    """A package from another school checked and imported; its receipt sealed."""
    package_refused = "package_refused"
    """A package from another school refused (details: each file's reason)."""
    receipt_registered = "receipt_registered"
    """The receiving school's sealed receipt of a package that left, checked and kept."""


SIGNING_ACTION_LABELS: dict[str, str] = {
    SigningAction.package_exported: "Xuất hồ sơ học bạ (chuyển trường / tốt nghiệp)",
    SigningAction.package_imported: "Tiếp nhận hồ sơ học bạ từ trường khác",
    SigningAction.package_refused: "Từ chối hồ sơ học bạ không hợp lệ",
    SigningAction.receipt_registered: "Nhận biên nhận hồ sơ học bạ của trường tiếp nhận",
}

IDENTITY_ACTION_LABELS: dict[str, str] = {
    "sign_in.succeeded": "Đăng nhập",
    "sign_in.failed": "Đăng nhập không thành công",
    "sign_in.locked": "Đăng nhập bị tạm khóa",
    "sign_in.totp_asked": "Hỏi mã xác thực hai lớp",
    "sign_out": "Đăng xuất",
    "refresh.rotated": "Gia hạn phiên đăng nhập",
    "refresh.reused": "Phiên đăng nhập bị dùng lại (đã thu hồi)",
    "password.changed": "Đổi mật khẩu",
    "password.change_failed": "Đổi mật khẩu không thành công",
    "totp.setup_started": "Bắt đầu cài xác thực hai lớp",
    "totp.enabled": "Bật xác thực hai lớp",
    "totp.confirm_failed": "Xác nhận mã hai lớp không thành công",
    "account.disabled": "Khóa tài khoản",
    "account.enabled": "Mở khóa tài khoản",
    "account.password_issued": "Cấp mật khẩu ban đầu",
    "account.totp_reset": "Đặt lại xác thực hai lớp",
    "factor_reset.requested": "Yêu cầu đặt lại",
    "factor_reset.approved": "Phê duyệt đặt lại",
    "factor_reset.rejected": "Từ chối đặt lại",
    "factor_reset.acknowledged": "Chủ tài khoản đã xem thông báo đặt lại",
    "slips.printed": "In phiếu đăng nhập",
    "school.created": "Tạo trường",
    "school.updated": "Sửa thông tin trường",
    "school_year.created": "Tạo năm học",
    "school_year.changed": "Sửa năm học",
    "school_year.made_current": "Chọn năm học hiện tại",
    "school_year.deleted": "Xóa năm học",
    "department.created": "Tạo tổ chuyên môn",
    "department.renamed": "Đổi tên tổ chuyên môn",
    "department.deleted": "Xóa tổ chuyên môn",
    "class.created": "Tạo lớp",
    "class.renamed": "Đổi tên lớp",
    "class.deleted": "Xóa lớp",
    "assignment.created": "Phân công giảng dạy",
    "assignment.ended": "Kết thúc phân công",
    "staff.created": "Thêm cán bộ",
    "staff.updated": "Sửa thông tin cán bộ",
    "student.created": "Thêm học sinh",
    "student.updated": "Sửa thông tin học sinh",
    "student.enrolled": "Xếp lớp học sinh",
    "student.moved": "Chuyển lớp học sinh",
    "student.left": "Học sinh thôi học",
    "student.deleted": "Xóa học sinh",
    "student.change_requested": "GVCN yêu cầu sửa thông tin học sinh",
    "student.change_applied": "Áp dụng yêu cầu sửa thông tin học sinh",
    "student.change_rejected": "Từ chối yêu cầu sửa thông tin học sinh",
    "parent.created": "Thêm phụ huynh",
    "parent.updated": "Sửa thông tin phụ huynh",
    "parent.child_linked": "Liên kết phụ huynh với học sinh",
    "parent.child_unlinked": "Bỏ liên kết phụ huynh với học sinh",
    "import.completed": "Nhập dữ liệu từ tệp",
    "export.downloaded": "Tải dữ liệu xuất",
    "client.registered": "Đăng ký hệ thống bên ngoài",
    "client.revoked": "Thu hồi quyền của hệ thống bên ngoài",
    "client.token_issued": "Cấp mã truy cập cho hệ thống bên ngoài",
    "client.token_refused": "Từ chối cấp mã truy cập cho hệ thống bên ngoài",
    "client.token_used": "Hệ thống bên ngoài truy cập",
    "client.use_refused": "Từ chối truy cập của hệ thống bên ngoài (đã thu hồi)",
}

ACTION_LABELS: dict[str, str] = {**IDENTITY_ACTION_LABELS, **GRADES_ACTION_LABELS, **SIGNING_ACTION_LABELS}

SUBJECT_KIND_LABELS: dict[str, str] = {
    "sheet": "Sổ điểm",
    "record": "Học bạ",
    "class": "Lớp",
    "account": "Tài khoản",
    "login": "Tên đăng nhập",
    "client": "Hệ thống bên ngoài",
    "school": "Trường",
    "school_year": "Năm học",
    "department": "Tổ chuyên môn",
    "assignment": "Phân công",
    "student": "Học sinh",
    "parent": "Phụ huynh",
    "staff": "Cán bộ",
    "import": "Tệp nhập",
    "export": "Tệp xuất",
    "sample": "Mẫu kiểm tra",
    "window": "Thời hạn",
    "reminder": "Nhắc nhở",
    "correction": "Điều chỉnh",
    "package": "Hồ sơ chuyển trường / tốt nghiệp",
}


def action_label(action: str) -> str:
    """The Vietnamese name of an action; an unknown code is shown as it is rather than hidden."""
    return ACTION_LABELS.get(action, action)


FAULT_LABELS: dict[str, str] = {
    "edited": "nội dung mục này đã bị sửa",
    "missing": "có mục trước đó đã bị xóa",
    "out_of_order": "thứ tự bị đảo hoặc có mục bị chèn thêm",
    "broken_link": "mục này không nối với mục trước (mục trước đã bị sửa hoặc xóa)",
    "truncated": "các mục cuối cùng đã bị xóa",
}
"""What each broken link (`hbs_shared.audit.chain.Fault`) means, for the principal and the office."""
