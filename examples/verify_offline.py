"""Verify a signed HBS document as an outside system would: offline from the PDF alone, then its
status online with an OAuth 2 client-credentials token.

1. Offline (no network): every signature and document timestamp in the file is validated with
   pyHanko against the school's CA certificate as the only trust root, with the certificates and
   CRLs the file itself carries (PAdES B-LT/B-LTA), at the time its trusted timestamp proves;
   the last one must cover the whole file (only validation data may follow it).
2. Online: the SHA-256 of the file is sent to signing's `GET /v1/status/{sha256}` with a token
   from identity's `POST /v1/oauth/token` (the client registered by the school's office, scope
   `verify`): is this exact file an issued version, and is it still the one in force?

    HBS_CLIENT_SECRET=… python examples/verify_offline.py record.pdf --ca school-ca.pem \\
        --identity https://identity.example --signing https://signing.example --client-id hbsc_…

Prints a JSON report; exits 0 when the file is valid offline and current online, 1 when it is not
valid, 2 when it is valid but not (or no longer) the version in force. The secret comes from the
environment, never the command line. Dependencies: pyhanko, httpx (as in the HBS workspace).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

ALLOWED_AFTER_LAST = {"NONE", "LTA_UPDATES"}
"""What may follow the last signature: nothing, or validation data and archive timestamps."""


def load_root(path: Path) -> asn1_x509.Certificate:
    data = path.read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_x509.Certificate.load(data)


def _context(
    root: asn1_x509.Certificate, certs: list[Any], crls: list[Any], moment: datetime | None, revocation: str
) -> ValidationContext:
    return ValidationContext(
        trust_roots=[root],
        other_certs=certs,
        crls=crls,
        allow_fetching=False,  # offline: only what the file carries
        revocation_mode=revocation,
        moment=moment,
    )


def _embedded_validation_data(reader: PdfFileReader) -> tuple[list[Any], list[Any]]:
    if "/DSS" not in reader.root:
        return [], []
    dss = DocumentSecurityStore.read_dss(reader)
    crls = [asn1_crl.CertificateList.load(ref.get_object().read_data(DecodePurpose.CRL)) for ref in dss.crls]
    return list(dss.load_certs()), crls


def _one(signature: Any, root: asn1_x509.Certificate, certs: list[Any], crls: list[Any]) -> dict[str, Any]:
    """One signature or document timestamp, validated at the time its trusted timestamp proves
    (so an expired certificate or an old CRL still proves the status then), revocation required."""
    timestamp = signature.sig_object_type == "/DocTimeStamp"
    report: dict[str, Any] = {
        "field": signature.field_name,
        "kind": "document_timestamp" if timestamp else "signature",
    }
    try:
        if timestamp:
            stamp = validate_pdf_timestamp(
                signature, validation_context=_context(root, certs, [], None, "soft-fail")
            )
            moment = stamp.timestamp if stamp.trusted else None
            status: Any = validate_pdf_timestamp(
                signature, validation_context=_context(root, certs, crls, moment, "require")
            )
            report["time"] = status.timestamp.isoformat()
        else:
            first = validate_pdf_signature(signature, _context(root, certs, [], None, "soft-fail"))
            tst = first.timestamp_validity
            moment = tst.timestamp if tst is not None and tst.valid and tst.trusted else None
            status = validate_pdf_signature(signature, _context(root, certs, crls, moment, "require"))
            report["time"] = moment.isoformat() if moment else None
            report["signer"] = status.signing_cert.subject.native.get("common_name")
            report["title"] = status.signing_cert.subject.native.get("title")
    except Exception as error:  # a file from outside may be anything
        report.update(ok=False, problem=f"{type(error).__name__}: {error}"[:300])
        return report
    level = getattr(status, "modification_level", None)
    coverage = getattr(status, "coverage", None)
    report.update(
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        covers_whole_file=coverage is not None and coverage.name == "ENTIRE_FILE",
        modifications_after=level.name if level is not None else "UNKNOWN",
    )
    report["ok"] = report["intact"] and report["valid"] and report["trusted"] and report["time"] is not None
    return report


def verify_offline(pdf: bytes, root: asn1_x509.Certificate) -> dict[str, Any]:
    """Every signature of the file against the one trust root; nothing is fetched."""
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
        certs, crls = _embedded_validation_data(reader)
    except Exception as error:
        return {"valid": False, "problems": [f"not a readable PDF: {type(error).__name__}"], "signatures": []}
    reports = [_one(s, root, certs, crls) for s in signatures]
    problems = [f"{r['field']}: {r.get('problem', 'not valid')}" for r in reports if not r["ok"]]
    if not reports:
        problems.append("the file carries no signature")
    else:
        last = reports[-1]
        if not last.get("covers_whole_file") and last.get("modifications_after") not in ALLOWED_AFTER_LAST:
            problems.append("the file was changed after its last signature")
    return {
        "valid": not problems,
        "signatures": reports,
        "signature_count": sum(1 for r in reports if r["kind"] == "signature"),
        "document_timestamps": sum(1 for r in reports if r["kind"] == "document_timestamp"),
        "problems": problems,
    }


def client_token(identity_url: str, client_id: str, secret: str, client: httpx.Client) -> str:
    """RFC 6749 §4.4: client credentials, HTTP Basic (client_secret_basic)."""
    answer = client.post(
        identity_url.rstrip("/") + "/v1/oauth/token",
        data={"grant_type": "client_credentials", "scope": "verify"},
        auth=(client_id, secret),
    )
    if answer.status_code != 200:
        raise SystemExit(f"token refused: {answer.status_code} {answer.text[:300]}")
    token: str = answer.json()["access_token"]
    return token


def status_online(signing_url: str, sha256: str, token: str, client: httpx.Client) -> dict[str, Any]:
    answer = client.get(
        signing_url.rstrip("/") + f"/v1/status/{sha256}", headers={"authorization": f"Bearer {token}"}
    )
    if answer.status_code == 404:
        return {"status": "unknown", "detail": "not an issued version (or validation data was added to it)"}
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--ca", type=Path, required=True, help="the school's CA certificate (PEM or DER)")
    parser.add_argument("--identity", help="identity's URL (for the token)")
    parser.add_argument("--signing", help="signing's URL (for the status)")
    parser.add_argument("--client-id", help="the client id the school's office registered")
    parser.add_argument("--offline-only", action="store_true", help="skip the online status")
    args = parser.parse_args(argv)
    pdf = args.pdf.read_bytes()
    report: dict[str, Any] = {"file": args.pdf.name, "sha256": hashlib.sha256(pdf).hexdigest()}
    report["offline"] = verify_offline(pdf, load_root(args.ca))
    code = 0 if report["offline"]["valid"] else 1
    if not args.offline_only:
        secret = os.environ.get("HBS_CLIENT_SECRET")
        if not (args.identity and args.signing and args.client_id and secret):
            parser.error("online: --identity, --signing, --client-id and HBS_CLIENT_SECRET are needed")
        with httpx.Client(timeout=10) as client:
            token = client_token(args.identity, args.client_id, secret, client)
            report["online"] = status_online(args.signing, report["sha256"], token, client)
        if code == 0 and report["online"].get("status") != "current":
            code = 2
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
