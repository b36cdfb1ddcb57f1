"""The engine rate's function (`make bench-yearend` calls it): step 4 on records through the bare
batch signer gives sealed, valid records and counts three operations per record."""

from __future__ import annotations

import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from hbs_signing.batches.engine import SIGNATURES_PER_RECORD, sign_year_end
from hbs_signing.samples import year_record_content

pytestmark = [pytest.mark.hsm]


def test_sign_year_end_seals_each_record_and_counts_its_three_operations(tmp_path: Path) -> None:
    records = [year_record_content(name=f"Học sinh số {n}") for n in range(3)]
    signed: dict[str, bytes] = {}

    stats = sign_year_end(records, workers=1, folder=tmp_path / "engine", keep=signed)

    assert (stats.records, stats.failed, stats.workers) == (3, 0, 1)
    assert stats.signatures == SIGNATURES_PER_RECORD * 3 == 9
    assert stats.seconds > 0
    assert stats.signatures_per_s == pytest.approx(9 / stats.seconds)
    assert set(signed) == {str(r.record_id) for r in records}
    pdf = signed[str(records[0].record_id)]
    reader = PdfFileReader(BytesIO(pdf))
    kinds = [(s.field_name, s.sig_object_type) for s in reader.embedded_signatures]
    assert kinds[:4] == [
        ("Sig1_GVCN", "/Sig"),
        ("Sig2_PHT", "/Sig"),
        ("Sig3_HT", "/Sig"),
        ("Sig4_DauTruong", "/Sig"),
    ]
    assert kinds[4][1] == "/DocTimeStamp"
    path = tmp_path / "sealed.pdf"
    path.write_bytes(pdf)
    report = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert report.count("Signature is Valid") == 4, report
