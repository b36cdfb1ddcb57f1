"""The signing service's one wiring point: the use-case objects built from the settings.

`create_app` calls it with the real token and lets everything else default; unit tests pass in
in-memory fakes (repositories, outbox, activations, token) to check the acceptance rules of a
signing request without a database, a broker or SoftHSM2 (Cosmic Python's `bootstrap()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography import x509

from hbs_shared.school_facts import SchoolFactsStore
from hbs_signing.activations.service import ActivationService
from hbs_signing.certificates.revocation import CrlFetcher
from hbs_signing.certificates.service import CertificateService
from hbs_signing.devca import DevelopmentCA
from hbs_signing.documents.store import DocumentStore
from hbs_signing.requests.service import SigningRequestService
from hbs_signing.settings import SigningSettings
from hbs_signing.token import Token


@dataclass(frozen=True)
class Signing:
    """What the endpoints and bus handlers of one signing app use."""

    token: Token
    ca: DevelopmentCA | None
    store: DocumentStore
    certificates: CertificateService
    activations: ActivationService
    requests: SigningRequestService


def bootstrap(
    settings: SigningSettings,
    *,
    token: Token,
    ca: DevelopmentCA | None = None,
    trust_roots: list[x509.Certificate] | None = None,
    store: DocumentStore | None = None,
    certificates: CertificateService | None = None,
    activations: ActivationService | None = None,
    signing_requests: Any = None,
    documents: Any = None,
    outbox: Any = None,
    school: SchoolFactsStore | None = None,
) -> Signing:
    """`signing_requests`, `documents` and `outbox`: repositories with the real ones' methods
    (the real ones when None); `school`: the school's facts, learnt from identity's events unless given."""
    store = store or DocumentStore(settings.data_dir / "documents")
    certificates = certificates or CertificateService(token, ca)
    activations = activations or ActivationService(lifetime=timedelta(minutes=settings.activation_minutes))
    requests = SigningRequestService(
        token,
        certificates,
        store,
        ca,
        school=school,
        portal_url=settings.public_portal_url,
        activations=activations,
        trust_roots=trust_roots,
        revocation=CrlFetcher(timeout_seconds=settings.crl_timeout_seconds),
        tsa_url=settings.tsa_url,
    )
    if signing_requests is not None:
        requests.requests = signing_requests
    if documents is not None:
        requests.documents = documents
    if outbox is not None:
        requests.outbox = outbox
    return Signing(token, ca, store, certificates, activations, requests)
