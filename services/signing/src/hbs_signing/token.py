"""The PKCS#11 token: the only code in HBS that loads the library or uses a key.

python-pkcs11 initialises the library without OS locking, so every call, including the ones
pyHanko makes while signing, runs on one process-wide thread.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import subprocess
import threading
import unicodedata
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pkcs11
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute, KeyType, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.font import FontEngine, FontEngineFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.stamp import TextStampStyle

_T = TypeVar("_T")
_P = ParamSpec("_P")

SOFTHSM_UTIL = "softhsm2-util"
STAMP_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
_RSA_BITS = 2048
_PIN_LENGTH = range(4, 256)  # SoftHSM's accepted PIN lengths
_LABEL_BYTES = 32  # a PKCS#11 token label is a 32-byte field


@dataclass(frozen=True)
class TokenConfig:
    module_path: str
    token_label: str
    pin: str
    so_pin: str
    softhsm_dir: Path | None


@dataclass(frozen=True)
class LongTermData:
    """What makes a signature B-T / B-LT / B-LTA (DESIGN.md Signing; architecture.md).

    ``certificates`` and ``crls`` (DER) go into the document's DSS *in the same incremental
    update as the signature*, so the signature covers its own validation data and the last
    signature still covers the whole file (poppler's pdfsig: "Total document signed").
    """

    timestamper: TimeStamper | None = None
    certificates: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()
    archive_timestamp: bool = False
    """Add a document timestamp after the signature (B-LTA)."""


@dataclass(frozen=True)
class SignatureOptions:
    """Per-signature choices: where the visible stamp goes and whether the document is closed."""

    stamp_box: tuple[int, int, int, int] | None = None
    stamp_page: int = -1
    lock_document: bool = False
    """After this signature no change at all is allowed (the field's /Lock with /P 1)."""


@dataclass(frozen=True)
class KeyInfo:
    """What the token reports about a private key: proof that it cannot leave the token."""

    label: str
    key_type: str
    bits: int
    sensitive: bool
    always_sensitive: bool
    extractable: bool
    never_extractable: bool
    local: bool  # generated inside the token, not imported
    persistent: bool  # a token object, kept after the session ends
    private_value_readable: bool


@dataclass(frozen=True)
class _SignatureProfile:
    """Everything about how a signature is made; B-LT/B-LTA extend this one place."""

    subfilter: fields.SigSeedSubFilter = fields.SigSeedSubFilter.PADES
    md_algorithm: str = "sha256"
    # Reserving the space up front skips pyHanko's size-estimating dry run (about half the time).
    # Enough for the signer's chain and a timestamp token with the TSA's chain (B-T and up).
    bytes_reserved: int = 16384
    # Lower right of the last page, under the signer's caption on the placeholder sheet.
    stamp_box: tuple[int, int, int, int] = (326, 86, 539, 170)
    stamp_font_size: int = 9
    stamp_text: str = "Ký bởi: %(signer)s\nLý do: %(reason)s\nNơi ký: %(location)s\nThời gian: %(ts)s"
    stamp_timestamp_format: str = "%d/%m/%Y %H:%M:%S %Z"


SIGNATURE_PROFILE = _SignatureProfile()


class TokenError(Exception):
    """A token operation failed; the message says what went wrong in plain words."""


def ensure_softhsm_token(config: TokenConfig) -> None:
    """Point SoftHSM at ``config.softhsm_dir`` and create the labelled token there once."""
    if config.softhsm_dir is None:
        return
    _check_label(config.token_label)
    for name, pin in (("PIN", config.pin), ("SO PIN", config.so_pin)):
        if len(pin) not in _PIN_LENGTH:
            raise TokenError(f"the token {name} must be 4 to 255 characters long")
    directory = config.softhsm_dir.resolve()
    tokens = directory / "tokens"
    conf = directory / "softhsm2.conf"
    if config.module_path in _loaded_conf and _loaded_conf[config.module_path] != str(conf):
        raise TokenError(
            f"the PKCS#11 library is already loaded with {_loaded_conf[config.module_path]}; "
            "a process can use only one SoftHSM token folder"
        )
    tokens.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = (
        f"directories.tokendir = {tokens}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
    )
    if not conf.exists() or conf.read_text() != text:
        conf.write_text(text)
    # SoftHSM reads this when the library initialises, so it must be set before Token.open().
    os.environ["SOFTHSM2_CONF"] = str(conf)
    if config.token_label in _softhsm_token_labels(conf):
        return
    _run_softhsm_util(
        conf,
        "--init-token",
        "--free",
        "--label",
        config.token_label,
        "--pin",
        config.pin,
        "--so-pin",
        config.so_pin,
    )


class Token:
    """One logged-in session on the token selected by label; all calls run on the token thread."""

    def __init__(self, config: TokenConfig) -> None:
        self._config = config
        self._session: pkcs11.Session | None = None

    async def open(self) -> None:
        await _on_token_thread(self._open)

    async def close(self) -> None:
        await _on_token_thread(self._close)

    async def ensure_rsa_key(self, label: str) -> bytes:
        """SubjectPublicKeyInfo DER of the key pair ``label``, generated in the token if absent."""
        return await _on_token_thread(self._ensure_rsa_key, label)

    async def has_key(self, label: str) -> bool:
        return await _on_token_thread(lambda: self._private_key(label) is not None)

    async def key_info(self, label: str) -> KeyInfo:
        return await _on_token_thread(self._key_info, label)

    async def sign_pdf(
        self,
        pdf: bytes,
        *,
        key_label: str,
        signing_cert_der: bytes,
        chain_der: list[bytes],
        field_name: str,
        signer_name: str,
        reason: str,
        location: str,
        long_term: LongTermData | None = None,
        options: SignatureOptions | None = None,
    ) -> bytes:
        """Add one incremental PAdES signature made with the token key.

        B-B without ``long_term``; B-T with a timestamper; B-LT with its certificates and CRLs
        embedded; B-LTA with ``archive_timestamp``.
        """
        return await _on_token_thread(
            self._sign_pdf,
            pdf,
            key_label,
            signing_cert_der,
            chain_der,
            field_name,
            _SignatureText(_nfc(signer_name), _nfc(reason), _nfc(location)),
            long_term or LongTermData(),
            options or SignatureOptions(),
        )

    async def sign_pdf_library_defaults(
        self,
        pdf: bytes,
        *,
        key_label: str,
        signing_cert_der: bytes,
        chain_der: list[bytes],
        field_name: str,
        timestamper: TimeStamper,
        validation_context: Any,
    ) -> bytes:
        """BENCH BASELINE ONLY: pyHanko's library as documented, default settings, B-LT its way.

        (Size-estimating dry run, validation of the signer while signing, the DSS in a second
        incremental update.) Kept here because this module is the only one that uses the token.
        """
        return await _on_token_thread(
            self._sign_library_defaults,
            pdf,
            key_label,
            signing_cert_der,
            chain_der,
            field_name,
            timestamper,
            validation_context,
        )

    def _sign_library_defaults(
        self,
        pdf: bytes,
        key_label: str,
        signing_cert_der: bytes,
        chain_der: list[bytes],
        field_name: str,
        timestamper: TimeStamper,
        validation_context: Any,
    ) -> bytes:
        signer = PKCS11Signer(
            self._require_session(),
            key_label=key_label,
            signing_cert=asn1_x509.Certificate.load(signing_cert_der),
            ca_chain=[asn1_x509.Certificate.load(der) for der in chain_der],
        )
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name,
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True,
            validation_context=validation_context,
        )
        out = _run_on_token_loop(
            signers.PdfSigner(metadata, signer, timestamper=timestamper).async_sign_pdf(
                IncrementalPdfFileWriter(BytesIO(pdf))
            )
        )
        return bytes(out.getvalue())

    async def certificate_request(self, key_label: str, subject: asn1_x509.Name) -> bytes:
        """A PKCS#10 CSR (DER) for the token key ``key_label``, signed inside the token."""
        return await _on_token_thread(self._certificate_request, key_label, subject)

    def _certificate_request(self, key_label: str, subject: asn1_x509.Name) -> bytes:
        from asn1crypto import algos
        from asn1crypto import csr as asn1_csr
        from asn1crypto import keys as asn1_keys

        private = self._private_key(key_label)
        if private is None:
            raise TokenError(f"no private key labelled {key_label!r} in the token")
        info = asn1_csr.CertificationRequestInfo(
            {
                "version": "v1",
                "subject": subject,
                "subject_pk_info": asn1_keys.PublicKeyInfo.load(self._public_key_der(key_label, private)),
                "attributes": [],
            }
        )
        key: Any = private
        signature = key.sign(info.dump(), mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS)
        request = asn1_csr.CertificationRequest(
            {
                "certification_request_info": info,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
                "signature": signature,
            }
        )
        return bytes(request.dump())

    async def public_key(self, key_label: str) -> bytes | None:
        """SubjectPublicKeyInfo DER of an existing key, or None (never creates one)."""

        def read() -> bytes | None:
            private = self._private_key(key_label)
            return None if private is None else self._public_key_der(key_label, private)

        return await _on_token_thread(read)

    async def raw_sign_benchmark(self, key_label: str, seconds: float) -> float:
        """RSA PKCS#1 v1.5 SHA-256 signatures per second with one token key (for the bench)."""
        return await _on_token_thread(self._raw_sign_rate, key_label, seconds)

    def _raw_sign_rate(self, key_label: str, seconds: float) -> float:
        import time

        private = self._private_key(key_label)
        if private is None:
            raise TokenError(f"no private key labelled {key_label!r} in the token")
        count = 0
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            key: Any = private
            key.sign(b"hbs bench %d" % count, mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS)
            count += 1
        return count / elapsed

    def _open(self) -> None:
        if self._session is not None:
            return
        config = self._config
        library = _load_library(config.module_path)
        try:
            token = library.get_token(token_label=config.token_label)
        except p11.NoSuchToken:
            raise TokenError(f"no token labelled {config.token_label!r} in {config.module_path}") from None
        except p11.MultipleTokensReturned:
            raise TokenError(f"more than one token is labelled {config.token_label!r}") from None
        try:
            self._session = token.open(rw=True, user_pin=config.pin)
        except p11.UserAlreadyLoggedIn:
            # Login is per process: another Token here already logged in, so this session is too
            # (the session of the refused login stays open until the process ends).
            self._session = token.open(rw=True)
        except p11.PinIncorrect:
            raise TokenError(f"wrong PIN for token {config.token_label!r}") from None
        except p11.PinLocked:
            raise TokenError(f"the PIN of token {config.token_label!r} is locked") from None
        except p11.PKCS11Error as error:
            raise _plain(error, f"cannot log in to token {config.token_label!r}") from error
        # Preparing the stamp font takes about half a second; pay it now, not on a signature.
        _stamp_style()

    def _close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            # Closing the last session also logs out.
            session.close()

    def _require_session(self) -> pkcs11.Session:
        if self._session is None:
            raise TokenError("the token is not open")
        return self._session

    def _private_key(self, label: str) -> pkcs11.Object | None:
        found = list(
            self._require_session().get_objects(
                {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: label}
            )
        )
        if len(found) > 1:
            raise TokenError(f"the token holds {len(found)} private keys labelled {label!r}")
        return found[0] if found else None

    def _ensure_rsa_key(self, label: str) -> bytes:
        if not label:
            raise TokenError("a key label must not be empty")
        private = self._private_key(label)
        if private is None:
            try:
                _, private = self._require_session().generate_keypair(
                    KeyType.RSA,
                    _RSA_BITS,
                    # One random CKA_ID ties the pair together for other PKCS#11 tools.
                    id=os.urandom(16),
                    label=label,
                    store=True,
                    capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                    public_template={Attribute.ENCRYPT: False, Attribute.WRAP: False},
                    private_template={
                        Attribute.PRIVATE: True,
                        Attribute.SENSITIVE: True,
                        Attribute.EXTRACTABLE: False,
                        Attribute.SIGN: True,
                        Attribute.DECRYPT: False,
                        Attribute.UNWRAP: False,
                        Attribute.DERIVE: False,
                    },
                )
            except p11.PKCS11Error as error:
                raise _plain(error, f"cannot generate key {label!r} in the token") from error
        return self._public_key_der(label, private)

    def _public_key_der(self, label: str, private: pkcs11.Object) -> bytes:
        if private[Attribute.KEY_TYPE] != KeyType.RSA:
            raise TokenError(f"key {label!r} is not an RSA key")
        numbers = rsa.RSAPublicNumbers(
            e=int.from_bytes(private[Attribute.PUBLIC_EXPONENT], "big"),
            n=int.from_bytes(private[Attribute.MODULUS], "big"),
        )
        return numbers.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def _key_info(self, label: str) -> KeyInfo:
        private = self._private_key(label)
        if private is None:
            raise TokenError(f"no private key labelled {label!r} in the token")
        try:
            private[Attribute.PRIVATE_EXPONENT]
            readable = True
        except (p11.AttributeSensitive, p11.AttributeTypeInvalid):
            readable = False
        key_type = private[Attribute.KEY_TYPE]
        return KeyInfo(
            label=label,
            key_type=KeyType(key_type).name,
            bits=len(private[Attribute.MODULUS]) * 8 if key_type == KeyType.RSA else 0,
            sensitive=bool(private[Attribute.SENSITIVE]),
            always_sensitive=bool(private[Attribute.ALWAYS_SENSITIVE]),
            extractable=bool(private[Attribute.EXTRACTABLE]),
            never_extractable=bool(private[Attribute.NEVER_EXTRACTABLE]),
            local=bool(private[Attribute.LOCAL]),
            persistent=bool(private[Attribute.TOKEN]),
            private_value_readable=readable,
        )

    def _sign_pdf(
        self,
        pdf: bytes,
        key_label: str,
        signing_cert_der: bytes,
        chain_der: list[bytes],
        field_name: str,
        text: _SignatureText,
        long_term: LongTermData,
        options: SignatureOptions,
    ) -> bytes:
        prepared = self._prepare_signer(key_label, signing_cert_der, chain_der, long_term)
        return self._sign_prepared(pdf, prepared, field_name, text, options)

    def _prepare_signer(
        self, key_label: str, signing_cert_der: bytes, chain_der: list[bytes], long_term: LongTermData
    ) -> PreparedSigner:
        """Find the key, check the certificate is for it and parse the validation data, once.

        A batch worker prepares once and signs thousands of documents with the result.
        """
        session = self._require_session()
        private = self._private_key(key_label)
        if private is None:
            raise TokenError(f"no private key labelled {key_label!r} in the token")
        try:
            certificate = asn1_x509.Certificate.load(signing_cert_der)
            chain = [asn1_x509.Certificate.load(der) for der in chain_der]
            certified_key = serialization.load_der_public_key(certificate.public_key.dump())
            dss_certificates = tuple(asn1_x509.Certificate.load(der) for der in long_term.certificates)
            dss_crls = tuple(asn1_crl.CertificateList.load(der) for der in long_term.crls)
        except ValueError as error:
            raise TokenError("a certificate or CRL given for signing is not valid DER") from error
        token_key = serialization.load_der_public_key(self._public_key_der(key_label, private))
        # A certificate for another key would yield a signature that can never validate.
        if certified_key != token_key:
            raise TokenError(f"the signing certificate does not belong to key {key_label!r}")
        signer = PKCS11Signer(session, key_label=key_label, signing_cert=certificate, ca_chain=chain)
        return PreparedSigner(key_label, signer, long_term, dss_certificates, dss_crls)

    def _sign_prepared(
        self,
        pdf: bytes,
        prepared: PreparedSigner,
        field_name: str,
        text: _SignatureText,
        options: SignatureOptions,
    ) -> bytes:
        key_label, signer, long_term = prepared.key_label, prepared.signer, prepared.long_term
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm=SIGNATURE_PROFILE.md_algorithm,
            subfilter=SIGNATURE_PROFILE.subfilter,
            name=text.signer_name,
            reason=text.reason,
            location=text.location,
        )
        stamp = _stamp_style()
        box = options.stamp_box or SIGNATURE_PROFILE.stamp_box
        pdf_signer = signers.PdfSigner(
            metadata,
            signer,
            timestamper=long_term.timestamper,
            stamp_style=stamp,
            new_field_spec=fields.SigFieldSpec(
                sig_field_name=field_name,
                on_page=options.stamp_page,
                box=box if stamp is not None else None,
                field_mdp_spec=(
                    fields.FieldMDPSpec(action=fields.FieldMDPAction.ALL) if options.lock_document else None
                ),
                doc_mdp_update_value=fields.MDPPerm.NO_CHANGES if options.lock_document else None,
            ),
        )
        try:
            writer = IncrementalPdfFileWriter(BytesIO(pdf))
            if prepared.dss_certificates or prepared.dss_crls:
                DocumentSecurityStore.supply_dss_in_writer(
                    writer, None, certs=prepared.dss_certificates, crls=prepared.dss_crls
                )
            signed = _run_on_token_loop(
                pdf_signer.async_sign_pdf(
                    writer,
                    bytes_reserved=SIGNATURE_PROFILE.bytes_reserved,
                    appearance_text_params={
                        "signer": text.signer_name,
                        "reason": text.reason,
                        "location": text.location,
                    },
                )
            )
            if long_term.archive_timestamp:
                if long_term.timestamper is None:
                    raise TokenError("an archive timestamp (B-LTA) needs a timestamp authority")
                stamped = _run_on_token_loop(
                    signers.PdfTimeStamper(long_term.timestamper).async_timestamp_pdf(
                        IncrementalPdfFileWriter(signed),
                        md_algorithm=SIGNATURE_PROFILE.md_algorithm,
                        bytes_reserved=SIGNATURE_PROFILE.bytes_reserved // 2,
                    )
                )
                signed = stamped
        except TokenError:
            raise
        except p11.PKCS11Error as error:
            raise _plain(error, f"the token could not sign with key {key_label!r}") from error
        except Exception as error:
            raise TokenError(f"cannot sign the PDF: {error}") from error
        return bytes(signed.getvalue())


@dataclass(frozen=True)
class PreparedSigner:
    """A checked key + certificate and parsed validation data, reusable for many signatures."""

    key_label: str
    signer: PKCS11Signer
    long_term: LongTermData
    dss_certificates: tuple[asn1_x509.Certificate, ...]
    dss_crls: tuple[asn1_crl.CertificateList, ...]


@dataclass(frozen=True)
class _SignatureText:
    signer_name: str
    reason: str
    location: str


def visible_stamp_supported() -> bool:
    """Whether pyHanko's opentype extra is installed; without it signatures are invisible."""
    try:
        import pyhanko.pdf_utils.font.opentype  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _stamp_style() -> TextStampStyle | None:
    if not visible_stamp_supported():
        return None
    if not Path(STAMP_FONT).is_file():
        raise TokenError(f"the stamp font {STAMP_FONT} is missing (Debian fonts-dejavu-core)")
    font = _ScaledFontFactory(_stamp_font_program(STAMP_FONT), SIGNATURE_PROFILE.stamp_font_size)
    return TextStampStyle(
        stamp_text=SIGNATURE_PROFILE.stamp_text,
        timestamp_format=SIGNATURE_PROFILE.stamp_timestamp_format,
        border_width=1,
        text_box_style=TextBoxStyle(
            font=font,
            font_size=SIGNATURE_PROFILE.stamp_font_size,
            leading=round(SIGNATURE_PROFILE.stamp_font_size * 1.3),
            box_layout_rule=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MIN,
                y_align=layout.AxisAlignment.ALIGN_MID,
                margins=layout.Margins(left=4, right=4, top=4, bottom=4),
            ),
        ),
    )


class _ScaledFontFactory(FontEngineFactory):
    """pyHanko's GlyphAccumulatorFactory, but from font bytes prepared once per process."""

    def __init__(self, program: bytes, font_size: int) -> None:
        self._program = program
        self._font_size = font_size

    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: Any = None) -> FontEngine:
        engine: FontEngine = _accumulator_class()(
            writer, BytesIO(self._program), self._font_size, obj_stream=obj_stream
        )
        return engine


# The stamp's font file, compressed, by the set of glyphs it holds: a signer's stamps differ only
# in the time, so after the first signature every stamp reuses a prepared subset (~25 ms saved).
_subset_files: dict[frozenset[int], bytes] = {}
_SUBSET_CACHE_SIZE = 64
# Always in the subset, so the changing time on the stamp does not change the glyph set.
_TIME_CHARACTERS = "0123456789/:. +-UTCICT"


def _reused_subset_accumulator_class() -> type[FontEngine]:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.font.opentype import CIDFontType2, GlyphAccumulator

    class PreparedFontFile(CIDFontType2):
        """A CIDFontType2 whose font file is a subset prepared by an earlier signature."""

        compressed_program: bytes = b""

        def set_font_file(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
            stream = generic.StreamObject(
                {generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode")},
                encoded_data=self.compressed_program,
            )
            reference: generic.IndirectObject = writer.add_object(stream)
            self._font_descriptor[generic.pdf_name("/FontFile2")] = reference
            return reference

    class ReusedSubsetAccumulator(GlyphAccumulator):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.shape(_TIME_CHARACTERS, with_actual_text=False)

        def _extract_subset(self, options: Any = None) -> None:
            key = frozenset(self._glyphs)
            program = _subset_files.get(key)
            if program is None:
                super()._extract_subset(options)
                out = BytesIO()
                self.tt.save(out)
                program = zlib.compress(out.getvalue())
                if len(_subset_files) >= _SUBSET_CACHE_SIZE:
                    _subset_files.clear()
                _subset_files[key] = program
            original = self.cidfont_obj
            prepared = PreparedFontFile(self.tt, original.name.split("+", 1)[1], self.subset_prefix)
            # The metrics pyHanko read from the whole font before subsetting, as it would embed.
            prepared._font_descriptor = original._font_descriptor
            prepared.compressed_program = program
            self.cidfont_obj = prepared

    return ReusedSubsetAccumulator


@functools.cache
def _accumulator_class() -> Any:
    return _reused_subset_accumulator_class()


def _stamp_font_program(path: str) -> bytes:
    """The TTF cut to Latin + Vietnamese, without layout tables, at 1000 units per em.

    pyHanko writes glyph widths in font units, but PDF widths are per 1000 em: DejaVu's 2048
    units per em would space the stamp's letters twice too wide. pyHanko subsets the font again
    for every signature; DejaVu's kerning tables alone would make that cost about 70 ms, and
    NFC Vietnamese needs no shaping because every letter has a precomposed glyph.
    """
    from fontTools import subset  # type: ignore[import-untyped]
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
    from fontTools.ttLib.scaleUpem import scale_upem  # type: ignore[import-untyped]

    font = TTFont(path)
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "MATH", "FFTM"]
    options.hinting = False
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_STAMP_CHARACTERS)
    subsetter.subset(font)
    scale_upem(font, 1000)
    out = BytesIO()
    font.save(out)
    return out.getvalue()


_STAMP_CHARACTERS = [
    *range(0x20, 0x7F),  # ASCII
    *range(0xA0, 0x100),  # Latin-1: Â Ê Ô, the acute/grave/tilde vowels
    *(ord(c) for c in "ĂăĐđĨĩŨũƠơƯư"),
    *range(0x1EA0, 0x1EFA),  # Latin Extended Additional: the rest of Vietnamese
    *range(0x2010, 0x2027),  # dashes, quotes, ellipsis
    0x20AB,  # ₫
]


# The token thread: one worker for the whole process, since the library itself is process-wide.
_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_thread_state = threading.local()
_loaded_conf: dict[str, str | None] = {}


async def _on_token_thread(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hbs-token")
        executor = _executor
    loop = asyncio.get_running_loop()
    call = functools.partial(_plain_errors, functools.partial(function, *args, **kwargs))
    return await loop.run_in_executor(executor, call)


def _plain_errors(call: Callable[[], _T]) -> _T:
    # Callers handle TokenError only; a raw PKCS#11 error (device gone, session lost) is one too.
    try:
        return call()
    except p11.PKCS11Error as error:
        raise _plain(error, "the token operation failed") from error


class _InlineExecutor(ThreadPoolExecutor):
    """Runs submitted work at once on the calling thread, so pyHanko's executor calls stay here."""

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


def _run_on_token_loop(coroutine: Any) -> Any:
    # pyHanko's PKCS11Signer signs via run_in_executor(None, ...): with the stock default
    # executor (as sync sign_pdf's asyncio.run would give) the key would be used off this thread.
    loop: asyncio.AbstractEventLoop | None = getattr(_thread_state, "loop", None)
    if loop is None:
        loop = asyncio.new_event_loop()
        loop.set_default_executor(_InlineExecutor(max_workers=1))
        _thread_state.loop = loop
    return loop.run_until_complete(coroutine)


def _load_library(module_path: str) -> Any:
    try:
        library = pkcs11.lib(module_path)
    except p11.PKCS11Error as error:
        raise _plain(error, f"cannot load the PKCS#11 library {module_path}") from error
    _loaded_conf.setdefault(module_path, os.environ.get("SOFTHSM2_CONF"))
    return library


def _plain(error: p11.PKCS11Error, what: str) -> TokenError:
    # python-pkcs11's exceptions often carry no text; the class name is the useful part.
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", type(error).__name__).lower()
    detail = f"{words}: {error}" if str(error) else words
    return TokenError(f"{what} ({detail})")


def _nfc(text: str) -> str:
    # Precomposed letters only: the stamp font keeps no mark-positioning tables.
    return unicodedata.normalize("NFC", text)


def _check_label(label: str) -> None:
    if not label or len(label.encode()) > _LABEL_BYTES:
        raise TokenError(f"a token label must be 1 to {_LABEL_BYTES} bytes long")


def _softhsm_token_labels(conf: Path) -> set[str]:
    listing = _run_softhsm_util(conf, "--show-slots")
    return {m.group(1).strip() for m in re.finditer(r"^\s*Label:\s*(.*)$", listing, re.M)}


def _run_softhsm_util(conf: Path, *arguments: str) -> str:
    environment = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    try:
        done = subprocess.run(  # noqa: S603 - fixed program, arguments are not shell-parsed
            [SOFTHSM_UTIL, *arguments],
            env=environment,
            stdin=subprocess.DEVNULL,  # never wait for a PIN prompt
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        raise TokenError(f"{SOFTHSM_UTIL} is not installed (Debian package softhsm2)") from None
    except subprocess.TimeoutExpired:
        raise TokenError(f"{SOFTHSM_UTIL} {arguments[0]} did not finish in 60 s") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip()
        raise TokenError(f"{SOFTHSM_UTIL} {arguments[0]} failed: {message}")
    return done.stdout
