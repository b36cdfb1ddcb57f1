"""Which token to use: the PKCS#11 library, the token's label, its PINs, SoftHSM's folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TokenConfig:
    module_path: str
    token_label: str
    pin: str
    so_pin: str
    softhsm_dir: Path | None
