"""Tenant isolation in the database catalogue, read from PostgreSQL itself after the real
migrations: every table holding a dealership's rows has row-level security enabled and
forced, with policies keyed to the transaction's dealership for reading and for every kind
of write the server may do (audit trails: reading and adding only); every key carries
dealership_id, so no row can point at another dealership's; and the server's role
(db.tenant.APP_ROLE) owns nothing, is neither superuser nor BYPASSRLS, cannot create
objects, and holds no privilege that row-level security does not govern.

A new table, policy, key, grant or SECURITY DEFINER function that breaks a rule fails here.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tenant import APP_ROLE

SCHEMA = "public"

# Tables that hold no dealership's rows at all, with why they need no row-level security.
NOT_TENANT_TABLES: dict[str, str] = {
    "alembic_version": "the migration revision; the server's role has no privilege on it",
}
# Shared reference tables (the same rows for every dealership, no dealership_id): none yet.
# Each needs a reason, and the server's role may only read it.
REFERENCE_TABLES: dict[str, str] = {}

# The tenant root: its own `id` is the dealership, and it is never deleted by the server.
ROOT = "dealerships"
ROOT_KEY = "id"
# Unique keys that deliberately span dealerships, with the reason.
GLOBAL_UNIQUE: dict[str, str] = {
    "uq_dealerships_code": "a dealership's code names it across the deployment (tokens, CLI)",
}
# Tables the server may only read and add to: no UPDATE or DELETE policy or privilege.
APPEND_ONLY = {"audit_logs", "security_audit_logs"}

MINE = "(dealership_id = dealerdesk_current_dealership())"
ME = "(id = dealerdesk_current_dealership())"
# The exact expression of every policy (USING for reads, updates and deletes; WITH CHECK
# for inserts and updates). Anything else (an OR true, another setting) fails.
POLICY_EXPRESSIONS: dict[tuple[str, str], set[str]] = {
    # Security events that belong to no dealership (an unknown e-mail at sign-in) are filed
    # under 0, which no dealership can read.
    ("security_audit_logs", "a"): {
        "((dealership_id = dealerdesk_current_dealership()) OR (dealership_id = 0))"
    },
}
# SECURITY DEFINER functions (they run past row-level security) the server may call, and why
# each is safe. A new one must be reviewed and listed.
DEFINER_FUNCTIONS: dict[str, str] = {
    "dealerdesk_find_login": "sign-in must find a user before any dealership is known; "
    "returns only what sign-in needs",
    "dealerdesk_row_owner": "tells 'another dealership's id' from 'no such id' for refused "
    "writes; restricted to the listed tables, returns only the owning dealership's id",
}

COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}


async def _rows(engine: AsyncEngine, sql: str, **params: object) -> list[dict[str, object]]:
    async with engine.connect() as conn:
        result = await conn.execute(text(sql), {"schema": SCHEMA, "role": APP_ROLE, **params})
        return [dict(r._mapping) for r in result.all()]


@pytest.fixture(scope="module")
async def tables(engine: AsyncEngine) -> dict[str, dict[str, object]]:
    """Every ordinary or partitioned table of the schema, with its RLS flags and owner."""
    found = await _rows(
        engine,
        "SELECT c.relname AS name, c.oid AS oid, c.relrowsecurity AS rls, "
        "c.relforcerowsecurity AS forced, pg_get_userbyid(c.relowner) AS owner, "
        "EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid "
        "  AND a.attname = 'dealership_id' AND NOT a.attisdropped AND a.attnotnull) AS keyed "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')",
    )
    return {str(t["name"]): t for t in found}


def _tenant_tables(tables: dict[str, dict[str, object]]) -> list[str]:
    return sorted(set(tables) - set(NOT_TENANT_TABLES) - set(REFERENCE_TABLES))


def test_the_catalogue_has_tables(tables: dict[str, dict[str, object]]) -> None:
    assert len(_tenant_tables(tables)) >= 20
    assert ROOT in tables
    assert set(NOT_TENANT_TABLES) <= set(tables)


def test_every_tenant_table_has_row_level_security_enabled_and_forced(
    tables: dict[str, dict[str, object]],
) -> None:
    bad = [
        f"{name}: enabled={tables[name]['rls']} forced={tables[name]['forced']}"
        for name in _tenant_tables(tables)
        if not (tables[name]["rls"] and tables[name]["forced"])
    ]
    assert not bad, bad


def test_every_tenant_table_is_keyed_by_dealership(tables: dict[str, dict[str, object]]) -> None:
    """A NOT NULL dealership_id on every tenant table but the root (keyed by its id); and
    the reference tables have none and can only be read by the server."""
    assert not [t for t in _tenant_tables(tables) if t != ROOT and not tables[t]["keyed"]]
    assert not [t for t in REFERENCE_TABLES if tables[t]["keyed"]]


async def _policies(engine: AsyncEngine) -> list[dict[str, object]]:
    return await _rows(
        engine,
        "SELECT c.relname AS table, p.polname AS name, p.polcmd::text AS cmd, "
        "p.polpermissive AS permissive, "
        "ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END "
        "      FROM unnest(p.polroles) r) AS roles, "
        "pg_get_expr(p.polqual, p.polrelid) AS using, "
        "pg_get_expr(p.polwithcheck, p.polrelid) AS check "
        "FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema",
    )


SALESPERSON_RULES = {
    ("salesperson_own_deals", table)
    for table in ("deals", "deal_scenarios", "trade_vehicles", "rate_requests", "lender_decisions")
}


def _expected_expression(table: str, cmd: str) -> set[str]:
    if (table, cmd) in POLICY_EXPRESSIONS:
        return POLICY_EXPRESSIONS[(table, cmd)]
    return {ME if table == ROOT else MINE}


async def test_every_policy_is_keyed_to_the_transactions_dealership(
    engine: AsyncEngine, tables: dict[str, dict[str, object]]
) -> None:
    problems = []
    tenant = set(_tenant_tables(tables))
    for p in await _policies(engine):
        table, cmd = str(p["table"]), str(p["cmd"])
        where = f"{table}.{p['name']} ({COMMANDS[cmd]})"
        if table not in tenant:
            problems.append(f"{where}: a policy on a table that is not a tenant table")
            continue
        if not p["permissive"]:
            # A restrictive policy can only narrow what the tenant policies allow; the one
            # kind we have keeps a salesperson to their own deals (migration 0003_auth).
            if (p["name"], table) not in SALESPERSON_RULES:
                problems.append(f"{where}: an unexpected restrictive policy")
            if p["roles"] != [APP_ROLE]:
                problems.append(f"{where}: applies to {p['roles']}, not only {APP_ROLE}")
            continue
        if p["roles"] != [APP_ROLE]:
            problems.append(f"{where}: applies to {p['roles']}, not only {APP_ROLE}")
        expected = _expected_expression(table, cmd)
        if cmd in ("r", "w", "d", "*") and p["using"] not in expected:
            problems.append(f"{where}: USING {p['using']}")
        if cmd in ("a", "w", "*") and p["check"] not in expected:
            problems.append(f"{where}: WITH CHECK {p['check']}")
    assert not problems, "\n".join(problems)


async def _privileges(engine: AsyncEngine, table: str) -> set[str]:
    found = await _rows(
        engine,
        "SELECT p AS privilege FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', "
        "'TRUNCATE', 'REFERENCES', 'TRIGGER']) p "
        "WHERE has_table_privilege(CAST(:role AS text), "
        "format('%I.%I', CAST(:schema AS text), CAST(:table AS text)), p)",
        table=table,
    )
    return {str(r["privilege"]) for r in found}


async def test_reads_and_every_granted_write_have_a_policy(
    engine: AsyncEngine, tables: dict[str, dict[str, object]]
) -> None:
    """A policy for reading (SELECT or ALL) and one for writing; for each kind of write the
    server's role may do, a policy (without one, RLS refuses it: say so by not granting
    it). Append-only tables: reading and inserting, no update or delete at all."""
    by_table: dict[str, set[str]] = {}
    for p in await _policies(engine):
        by_table.setdefault(str(p["table"]), set()).add(COMMANDS[str(p["cmd"])])
    problems = []
    for table in _tenant_tables(tables):
        commands = by_table.get(table, set())
        granted = await _privileges(engine, table)

        def covered(command: str, commands: set[str] = commands) -> bool:
            return command in commands or "ALL" in commands

        if not covered("SELECT"):
            problems.append(f"{table}: no policy for reading")
        if not commands & {"INSERT", "UPDATE", "DELETE", "ALL"}:
            problems.append(f"{table}: no policy for writing")
        for command in {"SELECT", "INSERT", "UPDATE", "DELETE"} & granted:
            if not covered(command):
                problems.append(f"{table}: {command} granted without a policy")
        if table in APPEND_ONLY:
            if not covered("INSERT"):
                problems.append(f"{table}: no INSERT policy")
            if commands & {"UPDATE", "DELETE", "ALL"}:
                problems.append(f"{table}: append-only, yet policies {sorted(commands)}")
            if granted & {"UPDATE", "DELETE"}:
                problems.append(f"{table}: append-only, yet {sorted(granted)} granted")
    assert not problems, "\n".join(problems)


async def test_the_server_role_holds_no_privilege_past_row_level_security(
    engine: AsyncEngine, tables: dict[str, dict[str, object]]
) -> None:
    """TRUNCATE ignores row-level security, REFERENCES and TRIGGER would let the role act
    on rows it cannot see: none of them on any table; nothing at all on the tables that
    are not tenant tables; reading only on reference tables."""
    problems = []
    for table in sorted(tables):
        granted = await _privileges(engine, table)
        if granted & {"TRUNCATE", "REFERENCES", "TRIGGER"}:
            problems.append(f"{table}: {sorted(granted)}")
        if table in NOT_TENANT_TABLES and granted:
            problems.append(f"{table}: not a tenant table, yet {sorted(granted)}")
        if table in REFERENCE_TABLES and granted - {"SELECT"}:
            problems.append(f"{table}: a reference table, yet {sorted(granted)}")
    assert not problems, "\n".join(problems)


async def _column_names(engine: AsyncEngine, table_oid: object, numbers: object) -> list[str]:
    found = await _rows(
        engine,
        "SELECT k.n AS pos, a.attname AS name FROM unnest(CAST(:numbers AS int2[])) "
        "WITH ORDINALITY k(attnum, n) LEFT JOIN pg_attribute a "
        "ON a.attrelid = :oid AND a.attnum = k.attnum ORDER BY k.n",
        oid=table_oid,
        numbers=list(numbers),  # type: ignore[call-overload]
    )
    # Expression columns (attnum 0) have no name.
    return [str(r["name"]) if r["name"] is not None else "<expression>" for r in found]


async def test_every_primary_and_unique_key_includes_dealership_id(
    engine: AsyncEngine, tables: dict[str, dict[str, object]]
) -> None:
    """Primary keys, unique constraints and unique indexes (partial and expression ones
    too): a key without dealership_id would make one dealership's rows collide with, and so
    reveal, another's."""
    indexes = await _rows(
        engine,
        "SELECT c.relname AS table, c.oid AS oid, i.relname AS name, "
        "x.indkey::int2[] AS columns, x.indisprimary AS primary "
        "FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND x.indisunique",
    )
    tenant = set(_tenant_tables(tables))
    problems = []
    seen_primary = set()
    for index in indexes:
        table = str(index["table"])
        if table not in tenant:
            continue
        if index["primary"]:
            seen_primary.add(table)
        columns = await _column_names(engine, index["oid"], index["columns"])
        key = ROOT_KEY if table == ROOT else "dealership_id"
        if key not in columns and index["name"] not in GLOBAL_UNIQUE:
            problems.append(f"{table}.{index['name']} {columns}")
    problems += [f"{t}: no primary key" for t in sorted(tenant - seen_primary)]
    assert not problems, "\n".join(problems)


async def test_every_foreign_key_to_a_tenant_table_includes_dealership_id(
    engine: AsyncEngine, tables: dict[str, dict[str, object]]
) -> None:
    """A reference to another tenant table pairs dealership_id with dealership_id, so the
    database itself refuses a row of A pointing at a row of B; a reference to the root is
    dealership_id itself; and SET NULL never clears dealership_id."""
    fks = await _rows(
        engine,
        "SELECT c.conname AS name, r.relname AS table, c.conrelid AS oid, "
        "f.relname AS target, c.confrelid AS target_oid, c.conkey AS columns, "
        "c.confkey AS target_columns, c.confdeltype::text AS on_delete, "
        "c.confdelsetcols AS set_columns "
        "FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
        "JOIN pg_class f ON f.oid = c.confrelid "
        "JOIN pg_namespace n ON n.oid = r.relnamespace "
        "WHERE n.nspname = :schema AND c.contype = 'f'",
    )
    tenant = set(_tenant_tables(tables))
    problems = []
    for fk in fks:
        where = f"{fk['table']}.{fk['name']} -> {fk['target']}"
        columns = await _column_names(engine, fk["oid"], fk["columns"])
        target = await _column_names(engine, fk["target_oid"], fk["target_columns"])
        if fk["target"] == ROOT:
            if (columns, target) != (["dealership_id"], [ROOT_KEY]):
                problems.append(f"{where}: {columns} -> {target}")
        elif fk["target"] in tenant:
            pairs = list(zip(columns, target, strict=True))
            if ("dealership_id", "dealership_id") not in pairs:
                problems.append(f"{where}: {columns} -> {target} without dealership_id")
        if fk["on_delete"] in ("n", "d"):
            cleared = (
                await _column_names(engine, fk["oid"], fk["set_columns"])
                if fk["set_columns"]
                else columns
            )
            if "dealership_id" in cleared:
                problems.append(f"{where}: ON DELETE SET NULL/DEFAULT clears {cleared}")
    assert not problems, "\n".join(problems)


async def _app_role(engine: AsyncEngine) -> dict[str, object]:
    found = await _rows(engine, "SELECT * FROM pg_roles WHERE rolname = :role")
    assert len(found) == 1, f"no role {APP_ROLE}"
    return found[0]


async def _roles_of_app(engine: AsyncEngine) -> list[str]:
    """The server's role and every role it is a member of, directly or not."""
    found = await _rows(
        engine,
        "WITH RECURSIVE m(oid) AS (SELECT oid FROM pg_roles WHERE rolname = :role "
        "UNION SELECT a.roleid FROM pg_auth_members a JOIN m ON a.member = m.oid) "
        "SELECT r.rolname AS name FROM m JOIN pg_roles r ON r.oid = m.oid",
    )
    return sorted(str(r["name"]) for r in found)


async def test_the_server_role_is_not_superuser_nor_bypassrls(engine: AsyncEngine) -> None:
    role = await _app_role(engine)
    assert role["rolsuper"] is False
    assert role["rolbypassrls"] is False
    assert role["rolcreaterole"] is False
    assert role["rolcreatedb"] is False
    # Nor does it inherit such powers from a role it belongs to.
    roles = await _roles_of_app(engine)
    powerful = await _rows(
        engine,
        "SELECT rolname FROM pg_roles WHERE rolname = ANY(:roles) "
        "AND (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb)",
        roles=roles,
    )
    assert powerful == []


def _owned(kind: str, catalogue: str, owner_column: str, schema_column: str) -> str:
    return (
        f"SELECT '{kind}' AS kind, o.oid::{'regclass' if kind == 'relation' else 'oid'}::text "
        f"AS name FROM {catalogue} o JOIN pg_namespace n ON n.oid = o.{schema_column} "
        f"WHERE n.nspname = :schema AND pg_get_userbyid(o.{owner_column}) = ANY(:roles)"
    )


async def test_the_server_role_owns_nothing(engine: AsyncEngine) -> None:
    """Owning a table would let the role turn its row-level security off (and FORCE only
    binds the owner while it keeps it on)."""
    roles = await _roles_of_app(engine)
    owned = await _rows(
        engine,
        " UNION ALL ".join(
            [
                _owned("relation", "pg_class", "relowner", "relnamespace"),
                _owned("function", "pg_proc", "proowner", "pronamespace"),
                _owned("type", "pg_type", "typowner", "typnamespace"),
            ]
        ),
        roles=roles,
    )
    assert owned == []
    schemas = await _rows(
        engine,
        "SELECT nspname FROM pg_namespace WHERE pg_get_userbyid(nspowner) = ANY(:roles)",
        roles=roles,
    )
    assert schemas == []


async def test_the_server_role_cannot_create_objects(engine: AsyncEngine) -> None:
    found = await _rows(
        engine,
        "SELECT has_schema_privilege(:role, :schema, 'CREATE') AS in_schema, "
        "has_database_privilege(:role, current_database(), 'CREATE') AS in_database",
    )
    assert found == [{"in_schema": False, "in_database": False}]


async def test_security_definer_functions_the_server_can_call_are_reviewed(
    engine: AsyncEngine,
) -> None:
    """Such functions run as their owner, past row-level security."""
    found = await _rows(
        engine,
        "SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = :schema AND p.prosecdef "
        "AND has_function_privilege(:role, p.oid, 'EXECUTE')",
    )
    assert sorted(str(r["name"]) for r in found) == sorted(DEFINER_FUNCTIONS)


async def test_no_function_the_server_can_call_is_reachable_by_everyone(
    engine: AsyncEngine,
) -> None:
    """The definer functions are not callable by PUBLIC (only by the server's role)."""
    found = await _rows(
        engine,
        "SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = :schema AND p.prosecdef AND EXISTS ("
        " SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
        " WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')",
    )
    assert found == []


def test_every_exception_gives_its_reason() -> None:
    for table in (NOT_TENANT_TABLES, REFERENCE_TABLES, GLOBAL_UNIQUE, DEFINER_FUNCTIONS):
        assert all(reason.strip() for reason in table.values())
