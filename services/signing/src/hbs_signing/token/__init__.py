"""The PKCS#11 token: the only code in HBS that loads the library or uses a key.

`session.Token` (PKCS#11 access) runs every call on one process-wide thread (`process.py`);
`stamp.py` prepares the visible stamp and caches its font subsets; `softhsm.py` creates the
embedded SoftHSM2 token; `bench.py` holds the bench's baselines only.
"""

from hbs_signing.token.config import TokenConfig
from hbs_signing.token.errors import SignatureCountMismatch, TokenError
from hbs_signing.token.profile import (
    SIGNATURE_PROFILE,
    KeyInfo,
    LongTermData,
    PreparedSigner,
    SignatureOptions,
    SignatureText,
)
from hbs_signing.token.session import Token, signature_count
from hbs_signing.token.softhsm import ensure_softhsm_token
from hbs_signing.token.stamp import STAMP_FONT, nfc, visible_stamp_supported

__all__ = [
    "SIGNATURE_PROFILE",
    "STAMP_FONT",
    "KeyInfo",
    "LongTermData",
    "PreparedSigner",
    "SignatureCountMismatch",
    "SignatureOptions",
    "SignatureText",
    "Token",
    "TokenConfig",
    "TokenError",
    "ensure_softhsm_token",
    "nfc",
    "signature_count",
    "visible_stamp_supported",
]
