"""`python -m hbs_identity.province create-admin --username U --full-name "Họ và tên"`: an account
of the province's own people (Sở GD&ĐT) — how a deployment gets its first province
administrator, who then creates the schools (POST /schools). Prints a one-time password, changed
at first sign-in. `--officer` makes a Chuyên viên (reads progress) instead of an administrator.
Run after `python -m hbs_identity migrate`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from hbs_identity.accounts.passwords import hash_password, use_cost
from hbs_identity.accounts.security import initial_password
from hbs_identity.province.schemas import FirstAdminIn
from hbs_identity.province.service import ProvinceService
from hbs_identity.settings import IdentitySettings
from hbs_identity.unit import Actor, Unit
from hbs_shared.db import Database
from hbs_shared.problems import Problem
from hbs_shared.roles import Role
from hbs_shared.schools import PROVINCE_SCOPE
from hbs_shared.settings import load_settings

COMMAND_LINE = Actor(None, "dòng lệnh (python -m hbs_identity.province)")


async def create_account(url: str, username: str, full_name: str, role: Role) -> str:
    """The account with a fresh one-time password, which is returned (and never stored in clear)."""
    password = initial_password()
    password_hash = await asyncio.to_thread(hash_password, password)
    db = Database(url)
    try:
        async with db.transaction() as session:
            unit = Unit(session, PROVINCE_SCOPE, COMMAND_LINE)
            account = await ProvinceService().create_account(
                unit, username, full_name, [role], password_hash=password_hash, must_change_password=True
            )
            unit.audit("account.password_issued", "account", account.id)
    finally:
        await db.dispose()
    return password


def main(argv: Sequence[str] | None = None, settings: IdentitySettings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hbs_identity.province")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="an account of the province (Sở GD&ĐT)")
    create.add_argument("--username", required=True)
    create.add_argument("--full-name", required=True)
    create.add_argument(
        "--officer", action="store_true", help="a Chuyên viên (reads progress), not an administrator"
    )
    create.add_argument("--url", help="the database URL (default: the service's own settings)")
    args = parser.parse_args(argv)
    settings = settings or load_settings(IdentitySettings)
    use_cost(settings.password_hash_cost)
    role = Role.province_officer if args.officer else Role.province_admin
    try:
        who = FirstAdminIn(username=args.username, full_name=args.full_name)
    except ValidationError as error:
        first = error.errors()[0]
        print(f"refused ({'.'.join(map(str, first['loc']))}): {first['msg']}", file=sys.stderr)
        return 2
    url = args.url or settings.sqlalchemy_url("identity")
    try:
        password = asyncio.run(create_account(url, who.username, who.full_name, role))
    except Problem as problem:
        print(f"refused ({problem.field or 'input'}): {problem.detail}", file=sys.stderr)
        return 1
    print(f"{who.username.lower()}: one-time password {password} (changed at first sign-in)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
