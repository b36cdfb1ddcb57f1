"""The embedded default: SoftHSM2's folder and the labelled token created in it once."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from hbs_signing.token.config import TokenConfig
from hbs_signing.token.errors import TokenError
from hbs_signing.token.process import LOADED_CONF

SOFTHSM_UTIL = "softhsm2-util"
_PIN_LENGTH = range(4, 256)  # SoftHSM's accepted PIN lengths
_LABEL_BYTES = 32  # a PKCS#11 token label is a 32-byte field


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
    if config.module_path in LOADED_CONF and LOADED_CONF[config.module_path] != str(conf):
        raise TokenError(
            f"the PKCS#11 library is already loaded with {LOADED_CONF[config.module_path]}; "
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
