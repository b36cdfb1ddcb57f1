"""Backups are proven to restore (issue 13 §1): records sealed through the running stack (the
`sealed` class of tests/conftest.py), a backup taken while it runs (and while someone keeps
signing in), restored into a fresh installation, a fresh stack started on it: every sealed record
still verifies there, and the people, sheets, records and documents are all there. The HSM
(SoftHSM2's token folder) and the CA are not in the backup: the fresh installation uses the same
token, as a real one uses the same HSM, and the same CA root (docs/operations.md, "Backup and
restore")."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hbs_devtools.broker import free_port
from hbs_devtools.demo import DEMO_PASSWORD
from hbs_devtools.drive import SystemClient
from hbs_devtools.stack import SERVICES as STACK_SERVICES
from hbs_devtools.stack import Stack
from hbs_devtools.yearend import PRINCIPAL, Http, pdf_problems
from hbs_shared.backup import SERVICES, Installation, create_backup, restore_backup, write_new_key
from hbs_shared.backup import databases as dbs
from hbs_shared.backup.archive import SUMMARY, summary_counts

from .sealed import SealedClass

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm, pytest.mark.timeout(420)]

CHECKED = (*SUMMARY, "people", "document_files")


def installation_of(stack: Stack) -> Installation:
    urls = {
        service: stack.database_urls.get(
            service, f"sqlite+aiosqlite:///{stack.data_dir / f'{service}.sqlite3'}"
        )
        for service in SERVICES
    }
    return Installation(urls, stack.data_dir / "documents")


def counted(installation: Installation) -> dict[str, int]:
    tables = {service: dbs.counts(url).tables for service, url in installation.databases.items()}
    return summary_counts(tables, len(installation.document_files()))


def sealed_codes(installation: Installation) -> list[str]:
    """The code printed on every sealed year record (signing's database)."""
    url = installation.databases["signing"]
    query = "SELECT id, COALESCE(printed_code, verification_code) FROM documents WHERE sealed"
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(dbs.sqlite_path(url)) as connection:
            rows = connection.execute(query.replace("WHERE sealed", "WHERE sealed = 1")).fetchall()
        return [str(row[1]) for row in rows]

    async def fetch() -> list[Any]:
        connection = await dbs._pg_connect(url)
        try:
            return list(await connection.fetch(query))
        finally:
            await connection.close()

    return [str(row[1]) for row in dbs.run_async(fetch)]


def test_a_backup_taken_while_it_runs_restores_into_a_fresh_stack_where_every_sealed_record_verifies(
    system: SystemClient, sealed: SealedClass, databases: Any, tmp_path: Path
) -> None:
    original = system.stack
    # The `sealed` class's records of the students who stay in it: sealed (step 4), each with its
    # document; one of them revoked if test_revocation ran first (restored as revoked, then).
    listing = sealed.driver.http.json(
        PRINCIPAL, "grades", "GET", f"/records/classes/{sealed.name}", "/records/classes/{name}"
    )
    passwords = dict(sealed.driver.passwords)
    states = {str(r["id"]): r["state"] for r in listing["records"] if r["student_id"] in sealed.kept}
    ours = {str(r["id"]): str(r["document_id"]) for r in listing["records"] if str(r["id"]) in states}
    assert len(ours) == 2
    assert set(states.values()) <= {"approved", "revoked"}
    source = installation_of(original)
    before = counted(source)
    assert before["records"] >= 2
    assert before["documents"] >= 2

    # The backup, while someone keeps signing in (identity writes a refresh token each time).
    key = write_new_key(tmp_path / "backup.key")
    stop, sign_ins, refused = threading.Event(), [0], []

    def keep_signing_in() -> None:
        with httpx.Client(base_url=original.url("identity"), timeout=30) as identity:
            while not stop.wait(0.02):
                answer = identity.post("/auth/token", json={"username": "quantri", "password": DEMO_PASSWORD})
                if answer.status_code != 200:
                    refused.append(f"{answer.status_code} {answer.text[:200]}")
                sign_ins[0] += 1

    busy = threading.Thread(target=keep_signing_in)
    busy.start()
    try:
        time.sleep(0.3)
        during = sign_ins[0]
        created = create_backup(source, key, tmp_path / "backups")
        during = sign_ins[0] - during
    finally:
        stop.set()
        busy.join()
    assert refused == []
    assert during > 0, "nobody wrote while the backup ran"
    for name in CHECKED:
        assert created.manifest.counts[name] == before[name], name

    # A fresh installation: new, empty databases and document store; the same HSM and CA.
    fresh = tmp_path / "fresh"
    target = Installation({service: databases.new(service) for service in SERVICES}, fresh / "documents")
    restored = restore_backup(created.path, key, target)
    for entry in restored.manifest.databases:  # every table, every row, before any service starts
        assert dbs.counts(target.databases[entry.service]).tables == entry.tables, entry.service
    assert counted(target) == created.manifest.counts
    shutil.copytree(original.data_dir / "devca", fresh / "devca")  # the CA, kept apart from the backup

    again = Stack(
        fresh,
        ports={spec.name: free_port() for spec in STACK_SERVICES},
        database_urls=dict(target.databases),
        environment="test",
        extra_env={
            **{f"HBS_{service.upper()}_SEED_DEMO": "false" for service in SERVICES},
            "HBS_SIGNING_SOFTHSM_DIR": str(original.data_dir / "softhsm"),  # the same HSM
            "HBS_SIGNING_VERIFY_REQUESTS_PER_MINUTE": "10000",
        },
    )
    with again:
        http = Http(again, passwords)
        public = httpx.Client(base_url=again.url("signing"), timeout=60)
        try:
            # The records and their documents, as the principal sees them in the restored system.
            listed = http.json(
                PRINCIPAL, "grades", "GET", f"/records/classes/{sealed.name}", "/records/classes/{name}"
            )
            assert {str(r["id"]): r["state"] for r in listed["records"] if str(r["id"]) in ours} == states
            assert {
                str(r["id"]): str(r["document_id"]) for r in listed["records"] if str(r["id"]) in ours
            } == ours
            for record_id, document_id in ours.items():
                info = http.json(PRINCIPAL, "signing", "GET", f"/documents/{document_id}", "/documents/{id}")
                assert (info["signature_count"], info["sealed"]) == (4, True)
                pdf = http.call(
                    PRINCIPAL, "signing", "GET", f"/documents/{document_id}/pdf", "/documents/{id}/pdf"
                ).content
                assert pdf_problems(pdf) == []
                by_file = public.post(
                    "/verify", content=pdf, headers={"content-type": "application/pdf"}
                ).json()
                expected = ("valid", "current") if states[record_id] == "approved" else ("invalid", "revoked")
                assert (by_file["verdict"], by_file["document"]["status"]) == expected, by_file
            # Every sealed record in the installation (the demo's and other tests' too) verifies.
            codes = sealed_codes(target)
            assert len(codes) >= 2
            for code in codes:
                verified = http.json(None, "signing", "GET", f"/verify/{code}", "/verify/{code}")
                if (verified.get("document") or {}).get("status") == "revoked":
                    continue  # annulled by the board in another module (test_revocation): said so, as before
                assert verified["verdict"] == "valid", verified
        finally:
            http.close()
            public.close()
        after = counted(target)
    for name in CHECKED:
        assert after[name] == before[name], name
