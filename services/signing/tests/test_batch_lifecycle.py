"""Issue 12: a `kill -9` of the signing service left its batch workers running (two processes,
110 MiB each, for 76 s), and a resumed run signed again every request the killed one had taken
but not settled. The workers now die with the service, and each small chunk is settled as it
comes back, so little is signed twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hbs_shared.db import Database
from hbs_signing.batches.repository import BatchItemRepository
from hbs_signing.batches.service import UNSETTLED_CHUNKS, BatchRunner
from hbs_signing.devca import DevelopmentCA
from hbs_signing.models import SignedDocument
from hbs_signing.requests.service import SigningRequestService
from hbs_signing.token import TokenConfig

from .test_batches import SCHOOL, batch_activation, homeroom_request

# Not rerun on PostgreSQL (no `db` marker): it tests worker processes dying with the service; the
# batch queue's SQL on PostgreSQL is test_batches' and test_batch_claims'.
pytestmark = [pytest.mark.hsm]
DRILL = Path(__file__).parent / "drills" / "batch_process.py"
RECORDS = 24
WORKERS = 2
IN_FLIGHT_BOUND = (2 * WORKERS + UNSETTLED_CHUNKS) * 2
"""Signed but not settled at most: two chunks of two per worker, and the chunks handed to settling
(one being committed, one waiting for it)."""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has stopped; only its exit status is left


async def _done(db: Database, batch_id: uuid.UUID) -> int:
    async with db.transaction() as session:
        progress = await BatchItemRepository().progress(session, SCHOOL, batch_id)
    return 0 if progress is None else progress.done


async def test_a_killed_signing_process_takes_its_workers_along_and_little_is_signed_twice(
    signing_db: Database,
    signing_service: SigningRequestService,
    token_config: TokenConfig,
    dev_ca: DevelopmentCA,
    tmp_path: Path,
) -> None:
    teacher, batch_id = uuid.uuid4(), uuid.uuid4()
    activation = await batch_activation(signing_service, signing_db, teacher, batch_id)
    queue = BatchRunner(signing_db, signing_service, token_config, workers=WORKERS)
    async with signing_db.transaction() as session:
        for n in range(RECORDS):
            await queue.enqueue(
                session, SCHOOL, homeroom_request(teacher, activation, batch_id, n), datetime.now(UTC)
            )
    assert token_config.softhsm_dir is not None
    trace = tmp_path / "signatures.trace"
    command = [
        sys.executable,
        str(DRILL),
        signing_db.url,
        str(token_config.softhsm_dir),
        str(dev_ca.directory),
        str(tmp_path / "documents"),
    ]
    environment = {**os.environ, "HBS_DRILL_TRACE": str(trace)}

    service = await asyncio.create_subprocess_exec(*command, env=environment)
    workers: list[int] = []
    try:
        for _ in range(1800):  # until a few requests are settled: the batch is mid-way
            if await _done(signing_db, batch_id) >= 4:
                break
            assert service.returncode is None, "the signing process ended before the kill"
            await asyncio.sleep(0.1)
        workers = [pid for pid in _children(service.pid) if _running(pid)]
        assert len(workers) >= 1
        os.kill(service.pid, signal.SIGKILL)
        await service.wait()
        for _ in range(100):  # 5 s
            if not any(_running(pid) for pid in workers):
                break
            await asyncio.sleep(0.05)
        survivors = [pid for pid in workers if _running(pid)]
    finally:
        for pid in workers:  # what the old code left behind: ended here, not left to the next tests
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
    done_at_kill = await _done(signing_db, batch_id)

    # The restarted service signs what is left, then the count of signatures made is compared.
    restarted = await asyncio.create_subprocess_exec(*command, env=environment)
    assert await asyncio.wait_for(restarted.wait(), 300) == 0
    async with signing_db.transaction() as session:
        stored = await session.scalar(select(func.count()).select_from(SignedDocument))
    signatures = len(trace.read_text().splitlines())
    signed_twice = signatures - RECORDS
    print(
        f"\nkill after {done_at_kill}/{RECORDS} settled: {signed_twice} signed twice, survivors {survivors}"
    )
    assert survivors == [], f"batch workers {survivors} outlived the killed signing process by 5 s"
    assert await _done(signing_db, batch_id) == RECORDS
    assert stored == RECORDS, "each record stored once"
    assert 0 <= signed_twice <= IN_FLIGHT_BOUND


def test_a_worker_that_cannot_open_the_token_tries_again_before_failing_its_documents(
    token_config: TokenConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker once failed to start (`no token labelled 'hbs'`) and 53 documents the other
    worker had signed were signed again: the worker retries opening, a bounded number of times."""
    from hbs_signing.batches import workers
    from hbs_signing.token import Token, TokenError

    tries: list[int] = []
    waits: list[float] = []

    def flaky_open(self: Token) -> None:
        tries.append(1)
        if len(tries) < 3:
            raise TokenError("no token labelled 'hbs-test'")

    monkeypatch.setattr(Token, "_open", flaky_open)
    monkeypatch.setattr(workers.time, "sleep", waits.append)
    assert isinstance(workers._open_token(token_config), Token)
    assert (len(tries), len(waits)) == (3, 2)

    tries.clear()
    monkeypatch.setattr(Token, "_open", lambda self: (tries.append(1), _refuse())[1])
    with pytest.raises(TokenError):
        workers._open_token(token_config)
    assert len(tries) == workers.OPEN_TRIES


def _refuse() -> None:
    from hbs_signing.token import TokenError

    raise TokenError("no token labelled 'hbs-test'")


def test_a_token_that_answers_a_general_error_when_found_is_tried_again(
    token_config: TokenConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI saw a worker's start fail with SoftHSM's `GeneralError` from `get_token` (two workers
    and the service reading one token's folder at once): the whole pool broke and the batch run
    with it. Any PKCS#11 error while finding the token is a failed open, retried like the others."""
    import pkcs11.exceptions as p11

    from hbs_signing.batches import workers
    from hbs_signing.token import Token, session

    real_load = session.load_library
    calls: list[int] = []

    class FlakyLibrary:
        def __init__(self, library: object) -> None:
            self._library = library

        def get_token(self, **kwargs: object) -> object:
            calls.append(1)
            if len(calls) == 1:
                raise p11.GeneralError()
            return self._library.get_token(**kwargs)  # type: ignore[attr-defined]

    monkeypatch.setattr(session, "load_library", lambda path: FlakyLibrary(real_load(path)))
    monkeypatch.setattr(workers.time, "sleep", lambda seconds: None)
    token = workers._open_token(token_config)
    try:
        assert isinstance(token, Token)
        assert token._session is not None
        assert len(calls) == 2
    finally:
        token._close()
