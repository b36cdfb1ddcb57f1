"""The verification report in Vietnamese: signing's reasons (English, for machines) as people read them.

Signing keeps its reasons stable and English (API clients and its own checks match on them);
the page shows each through this table, and an unknown one in a Vietnamese sentence that still
carries the original for support.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from hbs_portal.i18n import N_, _
from hbs_shared.display import school_time_text

_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"not a readable PDF"), N_("Tệp không đọc được như một tệp PDF.")),
    (re.compile(r"the file carries no signature"), N_("Tệp không có chữ ký số nào.")),
    (
        re.compile(r"the embedded validation data cannot be read"),
        N_("Không đọc được dữ liệu xác thực gắn trong tệp."),
    ),
    (re.compile(r"the file was changed after its last signature"), N_("Tệp đã bị sửa sau chữ ký cuối cùng.")),
    (
        re.compile(r"this file is not a version issued by this service"),
        N_("Tệp này không phải một phiên bản do hệ thống phát hành (nội dung không khớp)."),
    ),
    (
        re.compile(r"the file carries (\d+) signatures; this version must carry (\d+)"),
        N_(r"Tệp có \1 chữ ký; phiên bản này phải có \2 chữ ký."),
    ),
    (
        re.compile(r"signature (\d+) is in field (\S+), expected (\S+)"),
        N_(r"Chữ ký thứ \1 nằm ở ô \2, lẽ ra ở ô \3."),
    ),
    (
        re.compile(r"signature in field (\S+) is not made with the expected certificate"),
        N_(r"Chữ ký ở ô \1 không được ký bằng chứng thư số đã đăng ký."),
    ),
    (
        re.compile(r"a sealed record must end with an archive timestamp"),
        N_("Học bạ đã niêm phong phải kết thúc bằng dấu thời gian lưu trữ (B-LTA)."),
    ),
    (
        re.compile(r"no trusted signature timestamp"),
        N_("Chữ ký không có dấu thời gian tin cậy (yêu cầu B-T)."),
    ),
    (re.compile(r"cannot be validated"), N_("Không kiểm tra được chữ ký này.")),
    (re.compile(r"the signed content was changed"), N_("Nội dung đã ký bị thay đổi (mất toàn vẹn).")),
    (re.compile(r"the signature value does not verify"), N_("Giá trị chữ ký không khớp.")),
    (
        re.compile(r"the certificate does not chain to a trusted root"),
        N_("Chứng thư số không thuộc tổ chức cấp tin cậy, hoặc đã hết hạn/bị thu hồi khi ký."),
    ),
    (
        re.compile(r"changes after this signature are not allowed"),
        N_("Tài liệu bị sửa sau chữ ký này (không được phép)."),
    ),
    (re.compile(r"modified after signing"), N_("Tài liệu bị sửa sau khi ký.")),
    (re.compile(r"bytes after the signature container"), N_("Vùng chữ ký chứa dữ liệu lạ.")),
    (
        re.compile(r"an earlier revision cut from an issued version: it carries (\d+) of its (\d+) signa"),
        N_(
            r"Tệp là phần đầu của một phiên bản đã phát hành, bị cắt sau một chữ ký: có \1 trên \2 "
            r"chữ ký của phiên bản đó. Hãy dùng tệp đầy đủ."
        ),
    ),
    (
        re.compile(r"signatures were added after the issued version: it carries (\d+), the file (\d+)"),
        N_(r"Có chữ ký được thêm vào sau phiên bản đã phát hành: phiên bản có \1 chữ ký, tệp có \2."),
    ),
    (
        re.compile(r"the school's board revoked this record under minutes (.+) of (\d\d/\d\d/\d{4})"),
        N_(r"Học bạ đã bị nhà trường thu hồi theo biên bản số \1 ngày \2: không còn giá trị."),
    ),
]

RELATIONS = {
    "exact": N_("tệp đúng là phiên bản đã phát hành"),
    "archived": N_("phiên bản đã phát hành, có thêm dữ liệu lưu trữ dài hạn (PAdES B-LT/LTA)"),
    "earlier_revision": N_("phần đầu của phiên bản đã phát hành (chưa đủ chữ ký)"),
    "added_to": N_("phiên bản đã phát hành có thêm chữ ký từ bên ngoài"),
}

REVOCATION = {
    "good": N_("còn hiệu lực"),
    "revoked": N_("đã bị thu hồi"),
    "expired": N_("đã hết hạn"),
    "unknown": N_("chưa rõ"),
}


def _school_date(value: object) -> str:
    """A date from signing (ISO) as dd/mm/yyyy."""
    try:
        return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value or "")


def reason_text(reason: str) -> str:
    """One reason from signing, in Vietnamese."""
    for pattern, text in _REASONS:
        found = pattern.search(reason)
        if found:
            return found.expand(_(text)) if "\\" in text else _(text)
    return _("Lỗi khi kiểm tra ({reason}).").format(reason=reason)


def revocation_text(state: str | None) -> str:
    """A certificate's revocation state at signing time, in words."""
    return _(REVOCATION.get(state or "unknown", state or ""))


def vietnamese_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the page shows it: reasons in Vietnamese, times in Vietnam's dd/mm/yyyy HH:mm."""
    signatures = [
        {
            **s,
            "signing_time": school_time_text(s.get("signing_time")),
            "revocation_at_signing_time": revocation_text(s.get("revocation_at_signing_time")),
            "problems": [reason_text(p) for p in s.get("problems") or []],
        }
        for s in report.get("signatures") or []
    ]
    document = report.get("document")
    if isinstance(document, dict):
        relation = document.get("relation") or "exact"
        newer = document.get("superseded_by")
        revoked = document.get("revocation")
        document = {
            **document,
            "signed_at": school_time_text(document.get("signed_at")),
            "relation_text": _(RELATIONS[relation]) if relation in RELATIONS else relation,
            "superseded_by": {**newer, "signed_at": school_time_text(newer.get("signed_at"))}
            if isinstance(newer, dict)
            else None,
            "revocation": {
                **revoked,
                "minutes_date": _school_date(revoked.get("minutes_date")),
                "revoked_at": school_time_text(revoked.get("revoked_at")),
            }
            if isinstance(revoked, dict)
            else None,
        }
    return {
        **report,
        "signatures": signatures,
        "document": document,
        "problems": [reason_text(p) for p in report.get("problems") or []],
    }
