"""Bench baselines only (`make bench-signing`): pyHanko's library as documented, and raw RSA
signatures per second with one token key. Never used to sign a document in the service."""

from __future__ import annotations

import time
from io import BytesIO
from typing import Any

import pkcs11
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.timestamps.api import TimeStamper

from hbs_signing.token.errors import TokenError
from hbs_signing.token.process import on_token_thread, run_on_token_loop
from hbs_signing.token.session import Token


async def sign_pdf_library_defaults(
    token: Token,
    pdf: bytes,
    *,
    key_label: str,
    signing_cert_der: bytes,
    chain_der: list[bytes],
    field_name: str,
    timestamper: TimeStamper,
    validation_context: Any,
) -> bytes:
    """pyHanko's library as documented, default settings, B-LT its way (size-estimating dry run,
    validation of the signer while signing, the DSS in a second incremental update)."""

    def sign() -> bytes:
        signer = PKCS11Signer(
            token._require_session(),
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
        out = run_on_token_loop(
            signers.PdfSigner(metadata, signer, timestamper=timestamper).async_sign_pdf(
                IncrementalPdfFileWriter(BytesIO(pdf))
            )
        )
        return bytes(out.getvalue())

    return await on_token_thread(sign)


async def raw_sign_rate(token: Token, key_label: str, seconds: float) -> float:
    """RSA PKCS#1 v1.5 SHA-256 signatures per second with one token key."""

    def measure() -> float:
        private = token._private_key(key_label)
        if private is None:
            raise TokenError(f"no private key labelled {key_label!r} in the token")
        count = 0
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            key: Any = private
            key.sign(b"hbs bench %d" % count, mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS)
            count += 1
        return count / elapsed

    return await on_token_thread(measure)
