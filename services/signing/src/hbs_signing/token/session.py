"""The PKCS#11 token: the only code in HBS that uses a key. One logged-in session on the token
selected by label; every call runs on the process's token thread (`process.py`)."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pkcs11
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute, KeyType, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import SigningCertificateV2Provider
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.validation.dss import DocumentSecurityStore

from hbs_signing.token.config import TokenConfig
from hbs_signing.token.errors import SignatureCountMismatch, TokenError, plain_error
from hbs_signing.token.process import load_library, on_token_thread, run_on_token_loop
from hbs_signing.token.profile import (
    SIGNATURE_PROFILE,
    KeyInfo,
    LongTermData,
    PreparedSigner,
    SignatureOptions,
    SignatureText,
)
from hbs_signing.token.stamp import nfc, stamp_style

_RSA_BITS = 2048


class Token:
    """One logged-in session on the token selected by label; all calls run on the token thread."""

    def __init__(self, config: TokenConfig) -> None:
        self._config = config
        self._session: pkcs11.Session | None = None

    async def open(self) -> None:
        await on_token_thread(self._open)

    async def close(self) -> None:
        await on_token_thread(self._close)

    async def ensure_rsa_key(self, label: str) -> bytes:
        """SubjectPublicKeyInfo DER of the key pair ``label``, generated in the token if absent."""
        return await on_token_thread(self._ensure_rsa_key, label)

    async def has_key(self, label: str) -> bool:
        return await on_token_thread(lambda: self._private_key(label) is not None)

    async def key_info(self, label: str) -> KeyInfo:
        return await on_token_thread(self._key_info, label)

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
        return await on_token_thread(
            self._sign_pdf,
            pdf,
            key_label,
            signing_cert_der,
            chain_der,
            field_name,
            SignatureText(nfc(signer_name), nfc(reason), nfc(location)),
            long_term or LongTermData(),
            options or SignatureOptions(),
        )

    async def sign_data(
        self, data: bytes, *, key_label: str, signing_cert_der: bytes, chain_der: list[bytes]
    ) -> bytes:
        """A CMS SignedData (DER ContentInfo) that encapsulates ``data``, signed with the token key
        (the school seal's status list): anyone checks it offline with ``openssl cms -verify``."""
        return await on_token_thread(self._sign_data, data, key_label, signing_cert_der, chain_der)

    def _sign_data(
        self, data: bytes, key_label: str, signing_cert_der: bytes, chain_der: list[bytes]
    ) -> bytes:
        prepared = self._prepare_signer(key_label, signing_cert_der, chain_der, LongTermData())
        try:
            signed = run_on_token_loop(
                prepared.signer.async_sign_general_data(data, SIGNATURE_PROFILE.md_algorithm, detached=False)
            )
        except p11.PKCS11Error as error:
            raise plain_error(error, f"the token could not sign with key {key_label!r}") from error
        return bytes(signed.dump())

    async def certificate_request(self, key_label: str, subject: asn1_x509.Name) -> bytes:
        """A PKCS#10 CSR (DER) for the token key ``key_label``, signed inside the token."""
        return await on_token_thread(self._certificate_request, key_label, subject)

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

        return await on_token_thread(read)

    def _open(self) -> None:
        if self._session is not None:
            return
        config = self._config
        library = load_library(config.module_path)
        try:
            token = library.get_token(token_label=config.token_label)
        except p11.NoSuchToken:
            raise TokenError(f"no token labelled {config.token_label!r} in {config.module_path}") from None
        except p11.MultipleTokensReturned:
            raise TokenError(f"more than one token is labelled {config.token_label!r}") from None
        except p11.PKCS11Error as error:
            # SoftHSM answers GeneralError now and then while others read the token's folder.
            raise plain_error(error, f"cannot find token {config.token_label!r}") from error
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
            raise plain_error(error, f"cannot log in to token {config.token_label!r}") from error
        # Preparing the stamp font takes about half a second; pay it now, not on a signature.
        stamp_style()

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
                raise plain_error(error, f"cannot generate key {label!r} in the token") from error
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
        text: SignatureText,
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
        signer = _LeanPKCS11Signer(session, key_label=key_label, signing_cert=certificate, ca_chain=chain)
        return PreparedSigner(key_label, signer, long_term, dss_certificates, dss_crls)

    def _sign_prepared(
        self,
        pdf: bytes,
        prepared: PreparedSigner,
        field_name: str,
        text: SignatureText,
        options: SignatureOptions,
        expected_signatures: int | None = None,
    ) -> bytes:
        """``expected_signatures``: refuse a PDF that carries another number of signatures,
        counted on the reader the signature needs anyway (a second parse cost ~20 % of signing's
        own process in step 4)."""
        key_label, signer, long_term = prepared.key_label, prepared.signer, prepared.long_term
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm=SIGNATURE_PROFILE.md_algorithm,
            subfilter=SIGNATURE_PROFILE.subfilter,
            name=text.signer_name,
            reason=text.reason,
            location=text.location,
        )
        stamp = stamp_style()
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
            if expected_signatures is not None:
                found = signature_count(writer.prev)
                if found != expected_signatures:
                    raise SignatureCountMismatch(
                        f"the stored document carries {found} signatures, "
                        f"its record says {expected_signatures}"
                    )
            if prepared.dss_certificates or prepared.dss_crls:
                DocumentSecurityStore.supply_dss_in_writer(
                    writer, None, certs=prepared.dss_certificates, crls=prepared.dss_crls
                )
            signed = run_on_token_loop(
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
                stamped = run_on_token_loop(
                    signers.PdfTimeStamper(long_term.timestamper).async_timestamp_pdf(
                        IncrementalPdfFileWriter(signed),
                        md_algorithm=SIGNATURE_PROFILE.md_algorithm,
                        bytes_reserved=SIGNATURE_PROFILE.bytes_reserved // 2,
                    )
                )
                signed = stamped
        except (TokenError, SignatureCountMismatch):
            raise
        except p11.PKCS11Error as error:
            raise plain_error(error, f"the token could not sign with key {key_label!r}") from error
        except Exception as error:
            raise TokenError(f"cannot sign the PDF: {error}") from error
        return bytes(signed.getvalue())


def signature_count(reader: PdfFileReader) -> int:
    """Approval signatures (/Sig) in the file, document timestamps not counted; from the fields
    alone, without parsing each CMS as pyHanko's ``embedded_signatures`` does."""
    return sum(
        1
        for _name, value, _ref in fields.enumerate_sig_fields(reader, filled_status=True)
        if _signature_type(reader, value) == "/Sig"
    )


_TOKENS = re.compile(rb"<<|>>|\(|/Type\s*(/[A-Za-z]+)|/Contents\s*<(?!<)")


def _signature_type(reader: PdfFileReader, value: Any) -> str:
    """A signature dictionary's /Type read from its raw bytes at the top level, the /Contents hex
    string skipped with a byte search: resolving the object parses that string token by token,
    ~8 ms a signature, 42 of a sealed record's 44 ms in the worker. Anything unusual (a literal
    string, an object stream, no /Type found) resolves the object instead."""
    reference = getattr(value, "reference", None)
    marker = reader.xrefs[reference] if reference is not None else None
    stream = reader.stream
    if isinstance(marker, int) and isinstance(stream, BytesIO):
        body = bytes(stream.getbuffer()[marker : marker + 65536])  # a signature dict is < 40 KB
        stop = body.find(b"endobj")
        body = body[:stop] if stop >= 0 else b""
        depth, position = 0, 0
        while (match := _TOKENS.search(body, position)) is not None:
            token, position = match.group(0), match.end()
            if token == b"<<":
                depth += 1
            elif token == b">>":
                depth -= 1
            elif token == b"(":
                break  # a literal string may hold anything: read the object properly
            elif token.startswith(b"/Contents"):
                closing = body.find(b">", position)
                if closing < 0:
                    break
                position = closing + 1
            elif depth == 1:
                return match.group(1).decode("ascii")
    return str(value.get_object().get("/Type", "/Sig"))


class _LeanPKCS11Signer(PKCS11Signer):
    """pyHanko's PKCS11Signer, minus a deep copy of each attribute set when it is tagged into the
    SignerInfo (asn1crypto's retag copies every parsed node; ~15 % of a signature's CPU): the
    sets go in re-read from their own DER, whose bytes asn1crypto then reuses as they are."""

    def _signed_attr_providers(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for provider in super()._signed_attr_providers(*args, **kwargs):
            if type(provider) is SigningCertificateV2Provider:
                yield _ReusedSigningCertificate(provider.signing_cert)
            else:
                yield provider

    def signer_info(self, digest_algorithm: str, signed_attrs: Any, signature: Any) -> Any:
        return super().signer_info(digest_algorithm, _as_loaded(signed_attrs), signature)

    @property
    def cert_registry(self) -> Any:
        # pyHanko puts the registry's certificates in the CMS and then the signer's own again (a
        # set of new objects does not deduplicate): a flipped byte in one copy went unnoticed.
        leaf = self.signing_cert.dump()
        return [cert for cert in super().cert_registry if cert.dump() != leaf]

    async def unsigned_attrs(self, *args: Any, **kwargs: Any) -> Any:
        attributes = await super().unsigned_attrs(*args, **kwargs)
        return None if attributes is None else _as_loaded(attributes)


def _as_loaded(attributes: Any) -> Any:
    from asn1crypto import cms

    return cms.CMSAttributes.load(attributes.dump())


class _ReusedSigningCertificate(SigningCertificateV2Provider):
    """The signing-certificate-v2 attribute names the signer's certificate: the same bytes on
    every signature of one signer. pyHanko rebuilds it each time, and asn1crypto re-encodes a
    built value on every dump (several per signature); a copy read from its DER is encoded once."""

    async def build_attr_value(self, dry_run: bool = False) -> Any:
        from asn1crypto import tsp

        return tsp.SigningCertificateV2.load(_signing_certificate_der(self.signing_cert.dump()))


@functools.lru_cache(maxsize=64)
def _signing_certificate_der(certificate_der: bytes) -> bytes:
    built = as_signing_certificate_v2(asn1_x509.Certificate.load(certificate_der))
    return bytes(built.dump())
