"""The PKCS#11 token through SoftHSM2: keys stay inside, PDFs get valid PAdES signatures."""

from __future__ import annotations

import re
import subprocess
import threading
import unicodedata
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from hbs_shared.display import SCHOOL_TIME
from hbs_signing.devca import DevelopmentCA
from hbs_signing.token import (
    Token,
    TokenConfig,
    TokenError,
    ensure_softhsm_token,
    visible_stamp_supported,
)

pytestmark = pytest.mark.hsm


async def _validate(pdf: bytes, root_der: bytes) -> tuple[Any, PdfSignatureStatus]:
    reader = PdfFileReader(BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    embedded = reader.embedded_signatures[0]
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(root_der)])
    status = await async_validate_pdf_signature(embedded, signer_validation_context=context)
    return embedded, status


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


async def test_key_is_generated_inside_the_token_and_cannot_leave_it(token: Token) -> None:
    public_key_der = await token.ensure_rsa_key("u-nonextractable")

    info = await token.key_info("u-nonextractable")
    assert info.key_type == "RSA"
    assert info.bits == 2048
    assert info.local, "the key must be generated in the token, not imported"
    assert info.sensitive
    assert info.always_sensitive
    assert not info.extractable
    assert info.never_extractable
    assert not info.private_value_readable
    public_key = serialization.load_der_public_key(public_key_der)
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == 2048


async def test_ensure_rsa_key_is_idempotent(token: Token) -> None:
    assert not await token.has_key("u-idempotent")

    first = await token.ensure_rsa_key("u-idempotent")
    second = await token.ensure_rsa_key("u-idempotent")

    assert await token.has_key("u-idempotent")
    assert first == second
    assert await token.ensure_rsa_key("u-idempotent-other") != first


async def test_keys_are_stored_in_the_token(token: Token, token_config: TokenConfig) -> None:
    assert token_config.softhsm_dir is not None
    before = set(token_config.softhsm_dir.glob("tokens/*/*.object"))

    public_key = await token.ensure_rsa_key("u-persistent")

    assert (await token.key_info("u-persistent")).persistent
    # SoftHSM's file store writes one file per token object: the private and the public key.
    assert len(set(token_config.softhsm_dir.glob("tokens/*/*.object")) - before) == 2
    # A second Token in the same process shares the login (PKCS#11 login is per process).
    other = Token(token_config)
    await other.open()
    try:
        assert await other.ensure_rsa_key("u-persistent") == public_key
    finally:
        await other.close()
    assert await token.has_key("u-persistent")


async def test_signed_pdf_is_intact_valid_and_trusted(signed_sample: Any, dev_ca: DevelopmentCA) -> None:
    embedded, status = await _validate(signed_sample.signed, dev_ca.root_der)

    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.bottom_line
    assert status.coverage is not None
    assert status.coverage.name == "ENTIRE_FILE"
    assert embedded.field_name == signed_sample.field_name
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert status.signing_cert.dump() == signed_sample.certificate_der
    # Incremental: the original bytes are untouched, the signature is appended.
    assert signed_sample.signed.startswith(signed_sample.original)


async def test_the_signers_certificate_is_carried_once_in_the_cms(signed_sample: Any) -> None:
    """Twice, a flipped byte in the first copy went unnoticed by pyHanko's own check (issue 13)."""
    embedded = PdfFileReader(BytesIO(signed_sample.signed)).embedded_signatures[0]
    carried = [choice.chosen.dump() for choice in embedded.signed_data["certificates"]]

    assert carried.count(signed_sample.certificate_der) == 1
    assert len(carried) == len(set(carried))


async def test_signature_is_not_trusted_under_another_root(signed_sample: Any, tmp_path: Path) -> None:
    stranger = DevelopmentCA.load_or_create(tmp_path / "other-ca")

    _, status = await _validate(signed_sample.signed, stranger.root_der)

    assert status.intact
    assert status.valid
    assert not status.trusted
    assert not status.bottom_line


async def test_flipping_a_signed_byte_breaks_integrity(signed_sample: Any, dev_ca: DevelopmentCA) -> None:
    tampered = bytearray(signed_sample.signed)
    position = tampered.index(b"/Producer (") + len(b"/Producer (")
    reader = PdfFileReader(BytesIO(signed_sample.signed))
    byte_range = list(reader.embedded_signatures[0].sig_object["/ByteRange"])
    assert byte_range[0] <= position < byte_range[0] + byte_range[1]
    tampered[position] ^= 0x01

    _, status = await _validate(bytes(tampered), dev_ca.root_der)

    assert not status.intact
    assert not status.bottom_line


def test_pdfsig_lists_one_valid_signature(signed_sample: Any, tmp_path: Path) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_sample.signed)

    report = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout

    assert len(re.findall(r"^Signature #\d+:", report, re.M)) == 1
    assert f"Signature Field Name: {signed_sample.field_name}" in report
    assert "Signature is Valid" in report
    assert "Total document signed" in report
    assert _nfc(signed_sample.signer_name) in _nfc(report)


@pytest.mark.skipif(not visible_stamp_supported(), reason="pyHanko's opentype extra is missing")
def test_visible_stamp_shows_vietnamese_text(signed_sample: Any, tmp_path: Path) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_sample.signed)
    reader = PdfFileReader(BytesIO(signed_sample.signed))
    field = reader.embedded_signatures[0].sig_field
    rect = [float(v) for v in field["/Rect"]]
    assert rect[2] > rect[0], "the signature must have a visible widget"
    assert rect[3] > rect[1]

    text = _nfc(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    )

    assert f"Ký bởi: {_nfc(signed_sample.signer_name)}" in text
    assert f"Lý do: {_nfc(signed_sample.reason)}" in text
    assert f"Nơi ký: {_nfc(signed_sample.location)}" in text
    font = field["/AP"]["/N"]["/Resources"]["/Font"]["/F1"]
    widths = [w for w in font["/DescendantFonts"][0]["/W"] if isinstance(w, list)]
    # Widths are per 1000 em; a font left at 2048 units per em would show values near 2000.
    assert widths
    assert max(max(group) for group in widths) <= 1100


@pytest.mark.skipif(visible_stamp_supported(), reason="the visible stamp is available")
def test_without_the_opentype_extra_the_signature_is_invisible(signed_sample: Any) -> None:
    reader = PdfFileReader(BytesIO(signed_sample.signed))
    field = reader.embedded_signatures[0].sig_field

    assert [float(v) for v in field["/Rect"]] == [0, 0, 0, 0]


async def test_all_token_work_runs_on_the_token_thread(
    token: Token, dev_ca: DevelopmentCA, sheet_pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[str] = set()
    pull_key: Any = PKCS11Signer._pull_signing_key_handle

    class RecordingKey:
        def __init__(self, key: Any) -> None:
            self._key = key

        def sign(self, data: bytes, **kwargs: Any) -> bytes:
            threads.add(threading.current_thread().name)
            return bytes(self._key.sign(data, **kwargs))

    def recording_pull(signer: PKCS11Signer) -> RecordingKey:
        threads.add(threading.current_thread().name)
        return RecordingKey(pull_key(signer))

    monkeypatch.setattr(PKCS11Signer, "_pull_signing_key_handle", recording_pull)
    certificate = dev_ca.issue(
        await token.ensure_rsa_key("u-thread"),
        common_name="Trần Văn Bình",
        organisation="Trường THPT",
        role="Giáo viên bộ môn",
    )

    await token.sign_pdf(
        sheet_pdf,
        key_label="u-thread",
        signing_cert_der=certificate,
        chain_der=[dev_ca.root_der],
        field_name="Sig1",
        signer_name="Trần Văn Bình",
        reason="Thử",
        location="Hà Nội",
    )

    assert len(threads) == 1
    assert next(iter(threads)).startswith("hbs-token")


async def test_certificate_of_another_key_is_refused(
    token: Token, dev_ca: DevelopmentCA, sheet_pdf: bytes
) -> None:
    foreign = dev_ca.issue(
        await token.ensure_rsa_key("u-foreign"),
        common_name="Người khác",
        organisation="Trường THPT",
        role="Giáo viên bộ môn",
    )
    await token.ensure_rsa_key("u-owner")

    with pytest.raises(TokenError, match="does not belong to key 'u-owner'"):
        await token.sign_pdf(
            sheet_pdf,
            key_label="u-owner",
            signing_cert_der=foreign,
            chain_der=[],
            field_name="Sig1",
            signer_name="X",
            reason="Y",
            location="Z",
        )


async def test_unknown_key_is_a_plain_error(token: Token, dev_ca: DevelopmentCA, sheet_pdf: bytes) -> None:
    with pytest.raises(TokenError, match="no private key labelled 'u-missing'"):
        await token.sign_pdf(
            sheet_pdf,
            key_label="u-missing",
            signing_cert_der=dev_ca.root_der,
            chain_der=[],
            field_name="Sig1",
            signer_name="X",
            reason="Y",
            location="Z",
        )


async def test_unknown_token_label_is_a_plain_error(token: Token, token_config: TokenConfig) -> None:
    missing = Token(
        TokenConfig(
            module_path=token_config.module_path,
            token_label="no-such-token",
            pin=token_config.pin,
            so_pin=token_config.so_pin,
            softhsm_dir=None,
        )
    )

    with pytest.raises(TokenError, match="no token labelled 'no-such-token'"):
        await missing.open()


async def test_closed_token_refuses_work(token_config: TokenConfig, token: Token) -> None:
    closed = Token(token_config)

    with pytest.raises(TokenError, match="not open"):
        await closed.has_key("anything")


def test_ensure_softhsm_token_is_idempotent(token_config: TokenConfig) -> None:
    ensure_softhsm_token(token_config)
    ensure_softhsm_token(token_config)

    assert token_config.softhsm_dir is not None
    conf = token_config.softhsm_dir / "softhsm2.conf"
    slots = subprocess.run(
        ["softhsm2-util", "--show-slots"],
        capture_output=True,
        text=True,
        check=True,
        env={"SOFTHSM2_CONF": str(conf), "PATH": "/usr/bin:/bin"},
    ).stdout
    labels = re.findall(r"^\s*Label:\s*(\S.*?)\s*$", slots, re.M)
    assert labels.count(token_config.token_label) == 1
    assert "objectstore.backend = file" in conf.read_text()


async def test_a_second_token_folder_in_one_process_is_refused(
    token: Token, token_config: TokenConfig, tmp_path: Path
) -> None:
    other = TokenConfig(
        module_path=token_config.module_path,
        token_label="hbs-other",
        pin="1234",
        so_pin="5678",
        softhsm_dir=tmp_path / "hsm",
    )

    with pytest.raises(TokenError, match="already loaded"):
        ensure_softhsm_token(other)


def test_a_token_needs_an_so_pin(tmp_path: Path) -> None:
    config = TokenConfig(
        module_path="/usr/lib/softhsm/libsofthsm2.so",
        token_label="hbs",
        pin="1234",
        so_pin="",
        softhsm_dir=tmp_path / "hsm",
    )

    with pytest.raises(TokenError, match="SO PIN must be 4 to 255 characters"):
        ensure_softhsm_token(config)


@pytest.mark.skipif(not visible_stamp_supported(), reason="pyHanko's opentype extra is missing")
async def test_a_reused_stamp_font_subset_still_shows_every_letter(
    token: Token, signed_sample: Any, dev_ca: DevelopmentCA, tmp_path: Path
) -> None:
    # The second signature with the same glyph set reuses the first one's font file; a new
    # name with other letters needs (and gets) a new subset.
    texts = []
    for index, signer in enumerate([signed_sample.signer_name, signed_sample.signer_name, "Đỗ Thị Ỹ Ẵng"]):
        signed = await token.sign_pdf(
            signed_sample.original,
            key_label=signed_sample.key_label,
            signing_cert_der=signed_sample.certificate_der,
            chain_der=[dev_ca.root_der],
            field_name=signed_sample.field_name,
            signer_name=signer,
            reason=signed_sample.reason,
            location=signed_sample.location,
        )
        path = tmp_path / f"signed-{index}.pdf"
        path.write_bytes(signed)
        run = subprocess.run
        texts.append(
            _nfc(run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout)
        )
        report = run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
        assert "Signature is Valid" in report
        fonts = run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
        assert "DejaVuSans-Identity-H" in fonts

    assert f"Ký bởi: {_nfc(signed_sample.signer_name)}" in texts[1]
    # Issue 15: Vietnam's time, dd/mm/yyyy HH:mm, whatever the server's zone (it said "21:11 UTC").
    shown = re.search(r"Thời gian: (\d\d/\d\d/\d{4} \d\d:\d\d)\s", texts[1])
    assert shown is not None
    assert "UTC" not in texts[1]
    stamped = datetime.strptime(shown.group(1), "%d/%m/%Y %H:%M").replace(tzinfo=SCHOOL_TIME)
    assert abs((datetime.now(UTC) - stamped).total_seconds()) < 180
    assert "Ký bởi: Đỗ Thị Ỹ Ẵng" in texts[2]


def test_the_signature_count_reads_the_fields_whatever_form_their_value_takes(
    signed_sample: Any,
) -> None:
    """A signature field's /V is an indirect object in a signed file (step 3 of the year-end bench
    failed on it); the count matches pyHanko's own, document timestamps left out."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields

    from hbs_signing.token import signature_count
    from hbs_signing.token.session import _signature_type

    for pdf, expected in ((signed_sample.original, 0), (signed_sample.signed, 1)):
        reader = PdfFileReader(BytesIO(pdf))
        own = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
        assert signature_count(reader) == len(own) == expected
        for _name, value, _ref in fields.enumerate_sig_fields(reader, filled_status=True):
            # read from the raw bytes (the /Contents skipped), as the resolved object says
            assert _signature_type(reader, value) == value.get_object()["/Type"]
