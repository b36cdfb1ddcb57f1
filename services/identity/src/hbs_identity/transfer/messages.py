"""An import report's messages in Vietnamese: pydantic's checks as the office reads them."""

from __future__ import annotations

from typing import Any

# pydantic's error types (stable across versions) → what is wrong, in Vietnamese.
_BY_TYPE: dict[str, str] = {
    "missing": "thiếu giá trị",
    "string_too_short": "không được để trống",
    "string_pattern_mismatch": "sai định dạng",
    "string_type": "phải là chữ",
    "date_from_datetime_parsing": "không phải ngày hợp lệ (ngày/tháng/năm)",
    "date_parsing": "không phải ngày hợp lệ (ngày/tháng/năm)",
    "date_type": "không phải ngày hợp lệ (ngày/tháng/năm)",
    "bool_parsing": "ghi Có hoặc Không",
    "int_parsing": "phải là số nguyên",
    "literal_error": "không phải giá trị được chấp nhận",
    "enum": "không phải giá trị được chấp nhận",
    "email": "địa chỉ thư điện tử không hợp lệ",
    "value_error": "không hợp lệ",
    "extra_forbidden": "cột không được dùng",
}


def pydantic_message(item: Any) -> str:
    """One pydantic error in Vietnamese; our own validators' messages are Vietnamese already."""
    kind = str(item.get("type", ""))
    context = item.get("ctx") or {}
    if kind == "value_error" and "error" in context:
        return str(context["error"])
    if kind == "string_too_long":
        return f"dài quá {context.get('max_length', '')} ký tự"
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        return "ngoài khoảng cho phép"
    return _BY_TYPE.get(kind, "không hợp lệ")
