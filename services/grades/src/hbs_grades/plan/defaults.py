"""Periods per year of the 2018 upper-secondary programme (Chương trình GDPT 2018), per subject.

A class's plan starts from these; a specialised class adds periods to its specialist subject
(e.g. "11 Toán chuyên": Toán above 105), which is set on the plan.
"""

from __future__ import annotations

DEFAULT_PERIODS: dict[str, int] = {
    "NGU_VAN": 105,
    "TOAN": 105,
    "NGOAI_NGU_1": 105,
    "LICH_SU": 52,
    "GDTC": 70,
    "GDQPAN": 35,
    "HDTN_HN": 105,
    "GD_DIA_PHUONG": 35,
    "DIA_LI": 70,
    "GDKT_PL": 70,
    "VAT_LI": 70,
    "HOA_HOC": 70,
    "SINH_HOC": 70,
    "CONG_NGHE": 70,
    "TIN_HOC": 70,
    "AM_NHAC": 70,
    "MI_THUAT": 70,
    "CHUYEN_DE": 35,
}


def default_periods(subject_code: str) -> int:
    return DEFAULT_PERIODS.get(subject_code, 70)
