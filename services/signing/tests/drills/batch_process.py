"""A signing process for test_batch_lifecycle: runs the batch runner on a database until nothing
is pending. Every signature its batch workers make is appended to the file named by
HBS_DRILL_TRACE: the workers (spawned) run this file's top level too, as ``__mp_main__``.

Usage: python batch_process.py DB_URL SOFTHSM_DIR DEVCA_DIR DOCUMENTS_DIR
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from hbs_signing.token import session as token_session

_sign_prepared = token_session.Token._sign_prepared


def _traced(self: Any, *args: Any, **kwargs: Any) -> bytes:
    signed: bytes = _sign_prepared(self, *args, **kwargs)
    with open(os.environ["HBS_DRILL_TRACE"], "a") as trace:  # one short line per O_APPEND write
        trace.write(f"{os.getpid()}\n")
    return signed


token_session.Token._sign_prepared = _traced  # type: ignore[method-assign]


async def main(db_url: str, softhsm_dir: str, devca_dir: str, documents_dir: str) -> None:
    from hbs_shared.db import Database
    from hbs_signing.activations.service import ActivationService
    from hbs_signing.batches.service import BatchRunner
    from hbs_signing.certificates.service import CertificateService
    from hbs_signing.devca import DevelopmentCA
    from hbs_signing.documents.store import DocumentStore
    from hbs_signing.requests.service import SigningRequestService
    from hbs_signing.token import Token, TokenConfig

    folder = Path(softhsm_dir)
    config = TokenConfig("/usr/lib/softhsm/libsofthsm2.so", "hbs-test", "test-pin-1234", "unused", folder)
    token = Token(config)
    await token.open()
    ca = DevelopmentCA.load_or_create(Path(devca_dir), "http://127.0.0.1:8003")
    service = SigningRequestService(
        token,
        CertificateService(token, ca),
        DocumentStore(Path(documents_dir)),
        ca,
        portal_url="https://hocba.example.vn",
        activations=ActivationService(lifetime=timedelta(minutes=5)),
    )
    db = Database(db_url)
    # The restarted drill is the same replica (as a restarted container keeps its host name):
    # it takes its own unexpired claims back at once instead of waiting out the lease.
    runner = BatchRunner(db, service, config, workers=2, replica="drill")
    while await runner.run_once():
        pass
    await db.dispose()
    await token.close()


if __name__ == "__main__":
    os.environ["SOFTHSM2_CONF"] = str(Path(sys.argv[2]).resolve() / "softhsm2.conf")
    asyncio.run(main(*sys.argv[1:5]))
