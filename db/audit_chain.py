"""The audit trails' hash chains, recomputed independently of the database's trigger.

Each dealership's rows of `audit_logs`, and of `security_audit_logs` (dealership 0 holds the
security events tied to no dealership), form one chain in id order. A row stores

    prev_hash = the previous row's row_hash (32 zero bytes for a chain's first row)
    row_hash  = SHA-256 of the UTF-8 bytes of the row's canonical form:

    "<table>|" + "|".join(field(v) for v in (<columns>, hex(prev_hash)))

    field(NULL) = "-"; field(v) = "<number of characters in v>:<v>"

with the columns, in this order, written as text:
    audit_logs           id, dealership_id, occurred_at, user_id, action, entity_type,
                         entity_id, changes, request_id
    security_audit_logs  id, dealership_id, occurred_at, user_id, event, outcome, client_ip,
                         user_agent, details, request_id
numbers in decimal, occurred_at in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ (always six decimals),
jsonb columns in PostgreSQL's own text form (`changes::text`: keys ordered, one spacing),
client_ip as `inet::text` (with its mask, e.g. 10.0.0.1/32), hex in lower case.

The database computes the same in the BEFORE INSERT trigger of migration 0004_audit_chain,
which also keeps each chain's head (newest id, its row_hash, the row count) in
`audit_chain_heads`. `verify_chains` reads everything in one snapshot, as the owner, and
checks every link, every row's hash and every head.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

GENESIS = bytes(32)

CHAINS: dict[str, tuple[str, ...]] = {
    "audit_logs": (
        "id",
        "dealership_id",
        "occurred_at",
        "user_id",
        "action",
        "entity_type",
        "entity_id",
        "changes",
        "request_id",
    ),
    "security_audit_logs": (
        "id",
        "dealership_id",
        "occurred_at",
        "user_id",
        "event",
        "outcome",
        "client_ip",
        "user_agent",
        "details",
        "request_id",
    ),
}
# Columns read as PostgreSQL's text form rather than as Python values.
_AS_TEXT = frozenset({"changes", "details", "client_ip"})

Value = str | int | datetime | None


def utc_text(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def _as_text(value: Value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc_text(value)
    return str(value)


def _field(value: str | None) -> str:
    return "-" if value is None else f"{len(value)}:{value}"


def canonical(table: str, values: Sequence[Value], prev_hash: bytes) -> str:
    """The canonical form of a row: `values` are its CHAINS[table] columns, in order."""
    parts = [_field(_as_text(v)) for v in values]
    return "|".join([table, *parts, _field(prev_hash.hex())])


def row_hash(table: str, values: Sequence[Value], prev_hash: bytes) -> bytes:
    return hashlib.sha256(canonical(table, values, prev_hash).encode("utf-8")).digest()


@dataclass
class ChainReport:
    """The outcome of one chain: OK when `problem` is None, else the first broken row."""

    table: str
    dealership_id: int
    dealership_code: str | None
    rows: int = 0
    head_hash: bytes | None = None
    broken_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _short(digest: bytes | None) -> str:
    return "NULL" if digest is None else digest.hex()[:16] + "…"


def _select(table: str, dealership_id: int | None) -> str:
    columns = [f"{c}::text AS {c}" if c in _AS_TEXT else c for c in CHAINS[table]]
    where = "" if dealership_id is None else "WHERE dealership_id = :dealership"
    return (
        f"SELECT {', '.join(columns)}, prev_hash, row_hash FROM {table} "  # noqa: S608
        f"{where} ORDER BY dealership_id, id"
    )


def _check_row(
    report: ChainReport,
    row: Row[tuple[object, ...]],
    expected_prev: bytes,
    previous_id: int | None,
) -> None:
    table = report.table
    mapping = row._mapping
    row_id = mapping["id"]
    assert isinstance(row_id, int)
    prev = mapping["prev_hash"]
    stored = mapping["row_hash"]
    values: list[Value] = []
    for name in CHAINS[table]:
        value = mapping[name]
        assert value is None or isinstance(value, str | int | datetime)
        values.append(value)
    if not isinstance(prev, bytes) or not isinstance(stored, bytes):
        report.broken_id = row_id
        report.problem = "the row has no prev_hash or row_hash (written past the trigger)"
        return
    if prev != expected_prev:
        report.broken_id = row_id
        if previous_id is None:
            report.problem = (
                f"prev_hash {_short(prev)} is not the chain start's {_short(expected_prev)}: "
                "rows before it were removed, or this one was rewritten"
            )
        else:
            report.problem = (
                f"prev_hash {_short(prev)} is not the row_hash of the previous row, id "
                f"{previous_id} ({_short(expected_prev)}): a row between them was removed, "
                "or this one was rewritten"
            )
        return
    computed = row_hash(table, values, prev)
    if computed != stored:
        report.broken_id = row_id
        report.problem = (
            f"row_hash {_short(stored)} does not match the row's content "
            f"(computed {_short(computed)}): the row was changed after it was written"
        )
        return


async def _heads(
    conn: AsyncConnection, dealership_id: int | None
) -> dict[tuple[str, int], Row[tuple[object, ...]]]:
    sql = "SELECT chain, dealership_id, last_id, last_hash, row_count FROM audit_chain_heads"
    if dealership_id is not None:
        sql += " WHERE dealership_id = :dealership"
    result = await conn.execute(text(sql), {"dealership": dealership_id})
    return {(r.chain, r.dealership_id): r for r in result.all()}


async def dealership_codes(conn: AsyncConnection) -> dict[int, str]:
    result = await conn.execute(text("SELECT id, code FROM dealerships"))
    return {r.id: r.code for r in result.all()}


async def verify_chains(
    conn: AsyncConnection, *, dealership_id: int | None = None
) -> list[ChainReport]:
    """Check every chain (or one dealership's two) as they stand in one snapshot. `conn`
    must belong to the owner of the tables (a superuser or a role with BYPASSRLS):
    row_security is turned off, so a role that row-level security would filter gets an
    error instead of a partial, falsely clean, result."""
    await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    await conn.execute(text("SET LOCAL row_security = off"))
    codes = await dealership_codes(conn)
    heads = await _heads(conn, dealership_id)
    reports: list[ChainReport] = []
    for table in CHAINS:
        current: ChainReport | None = None
        expected_prev = GENESIS
        last_id: int | None = None
        stream = await conn.stream(
            text(_select(table, dealership_id)).execution_options(yield_per=2000),
            {"dealership": dealership_id},
        )
        async for row in stream:
            owner = row.dealership_id
            if current is None or owner != current.dealership_id:
                if current is not None:
                    _check_head(current, heads.pop((table, current.dealership_id), None), last_id)
                    reports.append(current)
                current = ChainReport(table, owner, codes.get(owner))
                expected_prev = GENESIS
                last_id = None
            current.rows += 1
            if current.ok:
                _check_row(current, row, expected_prev, last_id)
            last_id = row.id
            if current.ok:
                expected_prev = row.row_hash
                current.head_hash = row.row_hash
        if current is not None:
            _check_head(current, heads.pop((table, current.dealership_id), None), last_id)
            reports.append(current)
        # Heads of chains with no rows left: every row was removed.
        for (chain, owner), head in sorted(heads.items(), key=lambda item: item[0][1]):
            if chain != table:
                continue
            report = ChainReport(table, owner, codes.get(owner))
            if head.row_count:
                report.problem = (
                    f"the chain head records {head.row_count} rows up to id {head.last_id}, "
                    "but the table has none: rows were removed"
                )
                report.broken_id = head.last_id
            reports.append(report)
    return reports


def _check_head(
    report: ChainReport, head: Row[tuple[object, ...]] | None, last_id: int | None
) -> None:
    if not report.ok:
        return
    if head is None:
        report.problem = "the chain has no head in audit_chain_heads (written past the trigger)"
        report.broken_id = last_id
        return
    if head.last_hash != report.head_hash or head.row_count != report.rows:
        report.broken_id = last_id
        report.problem = (
            f"the chain ends at id {last_id} after {report.rows} rows with row_hash "
            f"{_short(report.head_hash)}, but its head records id {head.last_id} after "
            f"{head.row_count} rows with {_short(head.last_hash)}: "
            + (
                "rows were removed at the end"
                if head.row_count > report.rows
                else "rows were added past the trigger"
            )
        )
