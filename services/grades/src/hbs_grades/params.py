"""Path and query parameters several grades routers share, bounded once."""

from __future__ import annotations

from fastapi import Path

ClassName = Path(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")
"""A class's name as identity keeps it ("10A1", "11 Toán chuyên"): no control characters."""
