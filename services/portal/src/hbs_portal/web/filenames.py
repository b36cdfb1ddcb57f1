"""Names of downloaded files, after what they hold (class, subject, semester, student), sent in
Content-Disposition as an ASCII fallback and the UTF-8 original (RFC 6266 / RFC 5987): the name
travels in a header, never in the URL, so a student's name stays out of logs and histories."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal
from urllib.parse import quote

UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
"""Anything else becomes a dash in the ASCII name (quotes, slashes, spaces, control characters)."""
UTF8_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')
"""Characters no file system or header should receive, even in the UTF-8 name."""


def file_name(*parts: str | None, ext: str) -> str:
    """ "Sổ điểm", "10A1", "Toán", "Học kỳ I" → "Sổ điểm 10A1 Toán Học kỳ I.pdf" (empty parts dropped)."""
    words = " ".join(UTF8_UNSAFE.sub(" ", p).strip() for p in parts if p and p.strip())
    return f"{' '.join(words.split()) or 'tep'}.{ext}"


def ascii_name(name: str) -> str:
    """The same name without diacritics, for clients that ignore filename*: "So-diem-10A1-Toan.pdf"."""
    plain = unicodedata.normalize("NFKD", name.replace("Đ", "D").replace("đ", "d"))
    plain = plain.encode("ascii", "ignore").decode()
    stem, dot, ext = plain.rpartition(".")
    stem = UNSAFE.sub("-", stem if dot else plain).strip("-.") or "tep"
    return f"{stem}.{UNSAFE.sub('', ext)}" if dot else stem


def content_disposition(name: str, kind: Literal["inline", "attachment"] = "attachment") -> str:
    return f"{kind}; filename=\"{ascii_name(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
