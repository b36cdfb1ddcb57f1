"""`python -m hbs_<service>.audit verify [--url URL]`: check a service's chain, exit 1 naming the
first broken link (the service, the entry's number, what is wrong), 0 when it is intact."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hbs_shared.audit.chain import Report
from hbs_shared.audit.store import Layout, verify_stored
from hbs_shared.db import Database


async def verify_url(url: str, layout: Layout) -> Report:
    db = Database(url)
    try:
        async with db.transaction() as session:
            return await verify_stored(session, layout)
    finally:
        await db.dispose()


def describe(service: str, report: Report) -> str:
    if report.broken is None:
        return (
            f"{service}: audit chain intact: {report.checked} entries, "
            f"head {report.last_seq} {report.last_hash[:16]}"
        )
    broken = report.broken
    return (
        f"{service}: audit chain BROKEN at seq {broken.seq} ({broken.fault}): {broken.message}; "
        f"{report.checked} entries before it are intact"
    )


def main(layout: Layout, default_url: Callable[[], str], argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m hbs_{layout.service}.audit")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="check the hash chain of the audit trail")
    check.add_argument("--url", help="the database URL (default: the service's own settings)")
    args = parser.parse_args(argv)
    url = args.url or default_url()
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        print(f"{layout.service}: no database at {url}", file=sys.stderr)  # and do not create one
        return 2
    try:
        report = asyncio.run(verify_url(url, layout))
    except Exception as error:  # an unreachable or unmigrated database is a failure too, named
        print(f"{layout.service}: cannot read the audit trail: {error}", file=sys.stderr)
        return 2
    line = describe(layout.service, report)
    print(line, file=sys.stdout if report.intact else sys.stderr)
    return 0 if report.intact else 1
