"""The batch path: worker processes with their own token sessions; a crash resumes, nothing twice."""

from __future__ import annotations

import hashlib
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from hbs_signing.batches.workers import (
    BatchCredentials,
    BatchDocument,
    BatchJournal,
    BatchResult,
    BatchSigner,
)
from hbs_signing.devca import DevelopmentCA
from hbs_signing.token import Token, TokenConfig

pytestmark = pytest.mark.hsm


class Crash(Exception):
    pass


async def test_a_crashed_batch_resumes_and_signs_each_document_once(
    token: Token, token_config: TokenConfig, dev_ca: DevelopmentCA, sheet_pdf: bytes, tmp_path: Path
) -> None:
    certificate = dev_ca.issue(
        await token.ensure_rsa_key("u-batch"),
        common_name="Trần Văn Minh",
        organisation="Trường",
        role="Hiệu trưởng",
    )
    credentials = BatchCredentials(
        token=token_config,
        key_label="u-batch",
        certificate_der=certificate,
        chain_der=(dev_ca.root_der,),
        tsa_key_der=dev_ca.tsa_key_der,
        tsa_certificate_der=dev_ca.tsa_certificate_der,
        validation_certificates=(certificate, dev_ca.root_der, dev_ca.tsa_certificate_der),
        crls=(dev_ca.crl_der(),),
        field_name="Sig1",
        signer_name="Trần Văn Minh",
        reason="Ký lô học bạ",
        location="Hưng Yên",
    )
    items = [BatchDocument(f"doc-{i}", sheet_pdf) for i in range(12)]
    stored: dict[str, list[bytes]] = {}

    def keep(results: list[BatchResult]) -> None:
        for result in results:
            assert result.pdf is not None, result.error
            stored.setdefault(result.key, []).append(result.pdf)

    def store_then_crash(results: list[BatchResult]) -> None:
        if sum(len(v) for v in stored.values()) >= 5:
            raise Crash
        keep(results)

    journal = BatchJournal(tmp_path / "batch.journal")
    with pytest.raises(Crash):
        BatchSigner(credentials, workers=2, chunk_size=1).sign_all(
            items, journal=journal, store=store_then_crash
        )
    journal.close()
    assert 1 <= len(stored) < 12

    # Restart: a new journal object reads what was finished, and only the rest is signed.
    progress: list[int] = []
    resumed = BatchJournal(tmp_path / "batch.journal")
    already = set(resumed.done)
    count = BatchSigner(credentials, workers=2, chunk_size=3).sign_all(
        items,
        journal=resumed,
        store=keep,
        progress=progress.append,
    )
    resumed.close()
    assert count == 12 - len(already)
    assert progress[-1] == count
    assert sorted(stored) == sorted(item.key for item in items)
    assert all(len(versions) == 1 for versions in stored.values()), "a document was signed twice"
    final = BatchJournal(tmp_path / "batch.journal")
    assert len(final.done) == 12
    assert all(final.done[k] == hashlib.sha256(v[0]).hexdigest() for k, v in stored.items())
    final.close()

    signed = stored["doc-11"][0]
    reader = PdfFileReader(BytesIO(signed))
    assert "/DSS" in reader.root
    status = await async_validate_pdf_signature(
        reader.embedded_signatures[0],
        ValidationContext(trust_roots=[asn1_x509.Certificate.load(dev_ca.root_der)]),
    )
    assert status.bottom_line
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.trusted
