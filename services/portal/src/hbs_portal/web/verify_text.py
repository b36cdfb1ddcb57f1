"""The verification report in Vietnamese: signing's reasons (English, for machines) as people read them.

Signing keeps its reasons stable and English (API clients and its own checks match on them);
the page shows each through this table, and an unknown one in a Vietnamese sentence that still
carries the original for support.
"""

from __future__ import annotations

import re
from typing import Any

from hbs_shared.display import school_time_text

_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"not a readable PDF"), "Tệp không đọc được như một tệp PDF."),
    (re.compile(r"the file carries no signature"), "Tệp không có chữ ký số nào."),
    (
        re.compile(r"the embedded validation data cannot be read"),
        "Không đọc được dữ liệu xác thực gắn trong tệp.",
    ),
    (re.compile(r"the file was changed after its last signature"), "Tệp đã bị sửa sau chữ ký cuối cùng."),
    (
        re.compile(r"this file is not a version issued by this service"),
        "Tệp này không phải một phiên bản do hệ thống phát hành (nội dung không khớp).",
    ),
    (
        re.compile(r"the file carries (\d+) signatures; this version must carry (\d+)"),
        r"Tệp có \1 chữ ký; phiên bản này phải có \2 chữ ký.",
    ),
    (
        re.compile(r"signature (\d+) is in field (\S+), expected (\S+)"),
        r"Chữ ký thứ \1 nằm ở ô \2, lẽ ra ở ô \3.",
    ),
    (
        re.compile(r"signature in field (\S+) is not made with the expected certificate"),
        r"Chữ ký ở ô \1 không được ký bằng chứng thư số đã đăng ký.",
    ),
    (
        re.compile(r"a sealed record must end with an archive timestamp"),
        "Học bạ đã niêm phong phải kết thúc bằng dấu thời gian lưu trữ (B-LTA).",
    ),
    (re.compile(r"no trusted signature timestamp"), "Chữ ký không có dấu thời gian tin cậy (yêu cầu B-T)."),
    (re.compile(r"cannot be validated"), "Không kiểm tra được chữ ký này."),
    (re.compile(r"the signed content was changed"), "Nội dung đã ký bị thay đổi (mất toàn vẹn)."),
    (re.compile(r"the signature value does not verify"), "Giá trị chữ ký không khớp."),
    (
        re.compile(r"the certificate does not chain to a trusted root"),
        "Chứng thư số không thuộc tổ chức cấp tin cậy, hoặc đã hết hạn/bị thu hồi khi ký.",
    ),
    (
        re.compile(r"changes after this signature are not allowed"),
        "Tài liệu bị sửa sau chữ ký này (không được phép).",
    ),
    (re.compile(r"modified after signing"), "Tài liệu bị sửa sau khi ký."),
    (re.compile(r"bytes after the signature container"), "Vùng chữ ký chứa dữ liệu lạ."),
]

REVOCATION = {
    "good": "còn hiệu lực",
    "revoked": "đã bị thu hồi",
    "expired": "đã hết hạn",
    "unknown": "chưa rõ",
}


def reason_text(reason: str) -> str:
    """One reason from signing, in Vietnamese."""
    for pattern, text in _REASONS:
        found = pattern.search(reason)
        if found:
            return found.expand(text) if "\\" in text else text
    return f"Lỗi khi kiểm tra ({reason})."


def vietnamese_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the page shows it: reasons in Vietnamese, times in Vietnam's dd/mm/yyyy HH:mm."""
    signatures = [
        {
            **s,
            "signing_time": school_time_text(s.get("signing_time")),
            "revocation_at_signing_time": REVOCATION.get(
                s.get("revocation_at_signing_time") or "unknown", s.get("revocation_at_signing_time")
            ),
            "problems": [reason_text(p) for p in s.get("problems") or []],
        }
        for s in report.get("signatures") or []
    ]
    document = report.get("document")
    if isinstance(document, dict):
        document = {**document, "signed_at": school_time_text(document.get("signed_at"))}
    return {
        **report,
        "signatures": signatures,
        "document": document,
        "problems": [reason_text(p) for p in report.get("problems") or []],
    }
