"""Typed clients of the services the portal calls: one per service, one shared transport."""

from hbs_portal.clients.grades import GradesClient
from hbs_portal.clients.identity import IdentityClient
from hbs_portal.clients.signing import SigningClient
from hbs_portal.clients.transport import BackendError, Caller, SessionExpired, Transport

__all__ = [
    "BackendError",
    "Caller",
    "GradesClient",
    "IdentityClient",
    "SessionExpired",
    "SigningClient",
    "Transport",
]
