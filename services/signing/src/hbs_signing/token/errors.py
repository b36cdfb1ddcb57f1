"""The one error token code raises, in plain words."""

from __future__ import annotations

import re

from pkcs11 import exceptions as p11


class TokenError(Exception):
    """A token operation failed; the message says what went wrong in plain words."""


class SignatureCountMismatch(Exception):
    """The PDF to sign carries another number of signatures than its record says (DESIGN.md
    trap): refused before the key is used."""


def plain_error(error: p11.PKCS11Error, what: str) -> TokenError:
    # python-pkcs11's exceptions often carry no text; the class name is the useful part.
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", type(error).__name__).lower()
    detail = f"{words}: {error}" if str(error) else words
    return TokenError(f"{what} ({detail})")
