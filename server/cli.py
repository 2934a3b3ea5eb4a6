"""The `dealerdesk` command line: serve, migrate, seed, token, export-schema, audit verify."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TextIO

from server.config import DATA_DIR, ConfigError, Settings, load_settings

DEMO_HINT = """
Demo users (password for all: {password}):
{accounts}

Sign in from GraphiQL (http://{host}:{port}/graphql) with the login mutation, e.g.
  mutation {{ login(input: {{email: "manager@demo.example", password: "{password}"}})
    {{ ... on LoginSuccess {{ accessToken }} }} }}
or make a development token:   dealerdesk token manager@demo.example
then open the Headers tab and paste:
  {{"Authorization": "Bearer <token>"}}
"""


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The DATABASE_URL to use; without one, an embedded PostgreSQL for the duration."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    from db.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres(DATA_DIR / "postgres")
    print(
        f"DATABASE_URL is not set: starting an embedded PostgreSQL in {embedded.data_dir}",
        file=sys.stderr,
    )
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


def _migrate(url: str) -> None:
    from db.migrate import upgrade

    upgrade(url)


async def _seed(settings: Settings, url: str, *, quiet: bool = False) -> list[tuple[str, str]]:
    from db.engine import PoolConfig, create_engine, dispose
    from db.seed import DEMO_PASSWORD, seed_demo
    from server.passwords import hash_password

    engine = create_engine(PoolConfig(url=url, max_size=2, min_size=0))
    try:
        accounts = await seed_demo(engine, password_hash=hash_password(DEMO_PASSWORD))
    finally:
        await dispose(engine)
    return [(email, role.value) for email, role in accounts]


def _print_accounts(accounts: list[tuple[str, str]], host: str, port: int) -> None:
    from db.seed import DEMO_PASSWORD

    lines = "\n".join(f"  {email:<28} {role}" for email, role in accounts)
    print(DEMO_HINT.format(password=DEMO_PASSWORD, accounts=lines, host=host, port=port))


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(0)


def default_workers() -> int:
    """One worker per CPU this process may run on: a worker is one Python process, which
    uses one core (on 2 cores, 2 workers serve a one-deal query about 40% faster than 1)."""
    return max(1, len(os.sched_getaffinity(0)))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from server.observe import worker_metrics

    with database(settings) as url:
        embedded = settings.database_url is None
        if args.migrate or embedded:
            _migrate(url)
        if args.seed_demo or embedded:
            accounts = asyncio.run(_seed(settings, url))
            _print_accounts(accounts, args.host, args.port)
        # Workers are separate processes: they read the database from the environment.
        os.environ["DATABASE_URL"] = url
        workers = args.workers or default_workers()
        # uvicorn re-raises the signal that stopped it once it has shut down gracefully;
        # turning it into an exception lets the embedded database stop cleanly too.
        signal.signal(signal.SIGTERM, _raise_exit)
        signal.signal(signal.SIGINT, _raise_exit)
        with worker_metrics(workers):
            uvicorn.run(
                "server.main:create",
                factory=True,
                host=args.host,
                port=args.port,
                workers=workers,
                loop="uvloop",
                http="httptools",
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=30,
            )
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    with database(settings) as url:
        _migrate(url)
    print("database is at the latest migration")
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    if not args.demo:
        print("nothing to seed: pass --demo", file=sys.stderr)
        return 2
    with database(settings) as url:
        _migrate(url)
        accounts = asyncio.run(_seed(settings, url))
    _print_accounts(accounts, "127.0.0.1", 8000)
    return 0


async def _token(
    settings: Settings, url: str, email: str, dealership: str | None, ttl: timedelta
) -> str:
    from sqlalchemy import text

    from db.engine import PoolConfig, create_engine, dispose
    from db.models.enums import Role
    from server.app import signer_for

    engine = create_engine(PoolConfig(url=url, max_size=1, min_size=0))
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT l.user_id, l.dealership_id, l.role, l.is_active, d.code "
                        "FROM dealerdesk_find_login(:email) l "
                        "JOIN dealerships d ON d.id = l.dealership_id"
                    ),
                    {"email": email},
                )
            ).all()
    finally:
        await dispose(engine)
    if dealership is not None:
        rows = [r for r in rows if r.code == dealership]
    if not rows:
        raise SystemExit(
            f"no user with e-mail {email}" + (f" at {dealership}" if dealership else "")
        )
    if len(rows) > 1:
        codes = ", ".join(r.code for r in rows)
        raise SystemExit(f"{email} exists at several dealerships ({codes}); pass --dealership")
    row = rows[0]
    if not row.is_active:
        raise SystemExit(f"{email} is deactivated")
    return signer_for(settings).issue(
        user_id=row.user_id, dealership_id=row.dealership_id, role=Role(row.role), ttl=ttl
    )


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    ttl = timedelta(seconds=args.ttl or settings.dev_token_ttl_seconds)
    with database(settings) as url:
        token = asyncio.run(_token(settings, url, args.email, args.dealership, ttl))
    print(token)
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from schema.root import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0


async def audit_verify(url: str, *, dealership: str | None, out: TextIO) -> int:
    """Check the audit trails' hash chains (all, or one dealership's) as the database owner
    and print one line per chain: 0 when every chain verifies, 1 when one is broken, 2 when
    the dealership is unknown."""
    from sqlalchemy import text

    from db.audit_chain import verify_chains
    from db.engine import PoolConfig, create_engine, dispose

    engine = create_engine(PoolConfig(url=url, max_size=1, min_size=0))
    try:
        async with engine.connect() as conn:
            dealership_id: int | None = None
            if dealership is not None:
                dealership_id = await conn.scalar(
                    text("SELECT id FROM dealerships WHERE code = :code"), {"code": dealership}
                )
                await conn.rollback()
                if dealership_id is None:
                    print(f"no dealership with code {dealership}", file=sys.stderr)
                    return 2
            reports = await verify_chains(conn, dealership_id=dealership_id)
            await conn.rollback()
    finally:
        await dispose(engine)
    broken = [r for r in reports if not r.ok]
    for report in reports:
        owner = f"dealership {report.dealership_id} ({report.dealership_code or 'none'})"
        if report.ok:
            head = report.head_hash.hex() if report.head_hash else "-"
            print(
                f"OK      {report.table:<20} {owner:<40} {report.rows:>8} rows  head {head}",
                file=out,
            )
        else:
            print(
                f"BROKEN  {report.table:<20} {owner:<40} first broken row: id "
                f"{report.broken_id}: {report.problem}",
                file=out,
            )
    total = sum(r.rows for r in reports)
    if broken:
        print(f"audit verify: {len(broken)} of {len(reports)} chains BROKEN", file=out)
        return 1
    print(f"audit verify: OK, {len(reports)} chains, {total} rows", file=out)
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    with database(settings) as url:
        return asyncio.run(audit_verify(url, dealership=args.dealership, out=sys.stdout))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dealerdesk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: one per CPU)"
    )
    serve.add_argument("--migrate", action="store_true", help="migrate the database first")
    serve.add_argument(
        "--seed-demo", action="store_true", help="load the demo data set if it is not there yet"
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="upgrade the database to the latest migration")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", help="the demo dealerships (idempotent)")
    seed.set_defaults(func=cmd_seed)

    token = sub.add_parser("token", help="print a development access token for a user")
    token.add_argument("email")
    token.add_argument("--dealership", help="dealership code, when the e-mail is ambiguous")
    token.add_argument("--ttl", type=int, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)

    export = sub.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(func=cmd_export_schema)

    audit = sub.add_parser("audit", help="the audit trails")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify",
        help="check the audit trails' hash chains; names the first broken row of each chain",
    )
    verify.add_argument("--dealership", help="only this dealership's chains (its code)")
    verify.set_defaults(func=cmd_audit_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"dealerdesk: {exc}", file=sys.stderr)
        return 2
    from server.logs import configure_logging

    configure_logging(settings.log_level)
    result: int = args.func(args, settings)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
