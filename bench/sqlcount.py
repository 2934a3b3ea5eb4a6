"""SQL statements per request, from pg_stat_statements: reset the counters, send N requests
one after another, read the counters of the benchmark's database.

Only top-level statements count as the server's statements (what it sends); statements run
inside functions (e.g. the row-level-security helper) are reported apart as `nested`.
Each statement is classified: BEGIN, COMMIT, ROLLBACK, SAVEPOINT, tenant binding (the
`set_config('role', ...), set_config('app.dealership_id', ...)` that opens every dealerdesk
transaction), SELECT, INSERT, UPDATE, DELETE, other.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import asyncpg

SendOne = Callable[[], Awaitable[None]]

_READ = """
SELECT s.toplevel, s.calls, s.rows, s.total_exec_time, s.query
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = current_database() AND s.query NOT ILIKE '%pg_stat_statements%'
ORDER BY s.calls DESC
"""


def classify(query: str) -> str:
    q = query.lstrip().lower()
    if "set_config(" in q and ("role" in q or q.startswith("select set_config")):
        return "tenant"
    first = re.split(r"[\s;(]", q, maxsplit=1)[0]
    if first in ("begin", "start"):
        return "begin"
    if first in ("commit", "end"):
        return "commit"
    if first == "rollback":
        return "savepoint" if " to " in q else "rollback"
    if first in ("savepoint", "release"):
        return "savepoint"
    if first in ("select", "insert", "update", "delete"):
        return first
    if first == "with":
        for verb in ("insert", "update", "delete"):
            if re.search(rf"\)\s*{verb}\b", q):
                return verb
        return "select"
    return "other"


async def available(url: str) -> str | None:
    """None when pg_stat_statements can be used on this database, else why not."""
    conn = await asyncpg.connect(url)
    try:
        preload = await conn.fetchval("SHOW shared_preload_libraries")
        if "pg_stat_statements" not in str(preload):
            return "pg_stat_statements is not in shared_preload_libraries"
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.fetchval("SELECT pg_stat_statements_reset()")
    except asyncpg.PostgresError as exc:
        return f"pg_stat_statements unusable: {exc}"
    finally:
        await conn.close()
    return None


async def measure(url: str, send: SendOne, n: int, *, warm: int = 5) -> dict[str, object]:
    for _ in range(warm):
        await send()
    conn = await asyncpg.connect(url)
    try:
        await conn.fetchval("SELECT pg_stat_statements_reset()")
        for _ in range(n):
            await send()
        rows = await conn.fetch(_READ)
    finally:
        await conn.close()
    kinds: dict[str, float] = {}
    # pg_stat_statements keeps one entry per role: the same text may come twice (e.g. a
    # ROLLBACK as the connecting user and one as the application role).
    by_text: dict[str, list[int]] = {}
    total = nested = 0
    exec_ms = 0.0
    for row in rows:
        calls = int(row["calls"])
        if not row["toplevel"]:
            nested += calls
            continue
        total += calls
        exec_ms += float(row["total_exec_time"])
        text = re.sub(r"\s+", " ", str(row["query"]))
        kind = classify(text)
        kinds[kind] = kinds.get(kind, 0) + calls / n
        seen = by_text.setdefault(text, [0, 0])
        seen[0] += calls
        seen[1] += int(row["rows"])
    statements = [
        {
            "kind": classify(text),
            "calls_per_request": round(calls / n, 3),
            "rows_per_call": round(rows_ / max(1, calls), 1),
            "query": text[:300],
        }
        for text, (calls, rows_) in sorted(by_text.items(), key=lambda kv: -kv[1][0])
    ]
    return {
        "requests": n,
        "per_request": round(total / n, 3),
        "by_kind": {k: round(v, 3) for k, v in sorted(kinds.items())},
        "nested_per_request": round(nested / n, 3),
        "db_exec_ms_per_request": round(exec_ms / n, 3),
        "statements": statements,
    }
