"""Two dealerships seeded with identical data, for the tenant-isolation proofs.

A and B get the same records, made through the API by each one's admin, in the same order;
only B's distinctive values differ: every name, note and e-mail carries B's marker, and its
VINs, stock numbers, phone numbers, postal codes and deal numbers are its own. After the
seed, every row of every table is read as the database owner, which gives every B id (as
global ids of its GraphQL type) and every B value A has no copy of, to look for in A's
responses.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_required_argument,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from db.models.enums import Role
from db.seed import make_vin
from db.storage.audit import record_security_event
from db.storage.deal_numbers import local_day
from schema.relay import from_global_id, to_global_id
from schema.root import schema
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant

GRAPHQL: GraphQLSchema = schema._schema

A_TAG = "aaamarker"
B_TAG = "bbbmarker"

# The table behind each Node type; the type's global ids carry the table's `id`
# (DealershipSettings: its dealership_id, Dealership: the dealerships row's id).
TABLE_OF_TYPE: dict[str, str] = {
    "Dealership": "dealerships",
    "DealershipSettings": "dealership_settings",
    "User": "users",
    "Customer": "customers",
    "CustomerNote": "customer_notes",
    "Vehicle": "vehicles",
    "FeeTemplate": "fee_templates",
    "Appointment": "appointments",
    "QuickQuote": "quick_quotes",
    "QuickQuoteContact": "quick_quote_contacts",
    "Deal": "deals",
    "DealScenario": "deal_scenarios",
    "TradeVehicle": "trade_vehicles",
    "TaxJurisdiction": "tax_jurisdictions",
    "Lender": "lenders",
    "LenderProgram": "lender_programs",
    "RateRequest": "rate_requests",
    "LenderDecision": "lender_decisions",
    "AuditLog": "audit_logs",
    "SecurityAuditLog": "security_audit_logs",
}
KEY_OF_TABLE = {"dealerships": "id", "dealership_settings": "dealership_id"}

# Times and bare dates say nothing of whose row they are (and B's deal-number counter for
# tomorrow in New York is today in UTC for part of the day, in A's timestamps then).
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}|$)")
MIN_DISTINCT_LENGTH = 6


def node_types() -> list[str]:
    """Every type implementing Node, from the schema."""
    node = GRAPHQL.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    return sorted(t.name for t in GRAPHQL.get_possible_types(node))


def gid(type_name: str, pk: int) -> str:
    return str(to_global_id(type_name, pk))


def missing_gid(type_name: str, n: int = 0) -> str:
    """A well-formed id of `type_name` that no dealership has."""
    return gid(type_name, 9_000_000_000_000 + n)


# ---------------------------------------------------------------------------------------
# Selection sets generated from the schema


def _is_node(type_: GraphQLNamedType) -> bool:
    return isinstance(type_, GraphQLObjectType) and any(i.name == "Node" for i in type_.interfaces)


def selection(
    type_: GraphQLNamedType,
    *,
    only: set[str] | None = None,
    levels: int = 2,
    _entered: int = 0,
    _depth: int = 0,
    _alias: frozenset[str] = frozenset(),
) -> str:
    """Every field of `type_`, down to `levels` records deep: the record, its relations'
    fields, not theirs (wrappers such as connections and payloads do not count). Interfaces
    and unions select every member (only those in `only`, when given). Edges give their
    cursor (their node is in the connection's `nodes`). Members of a union or interface
    name a field `<Member>__<field>` when another member has a field of that name and
    another type (the selections could not be merged otherwise)."""
    if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
        return ""
    if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
        members = [
            m
            for m in sorted(GRAPHQL.get_possible_types(type_), key=lambda t: t.name)
            if only is None or m.name in only
        ]
        shapes: dict[str, set[str]] = {}
        for member in members:
            for fname, fld in member.fields.items():
                shapes.setdefault(fname, set()).add(str(fld.type))
        clashing = frozenset(f for f, kinds in shapes.items() if len(kinds) > 1)
        parts = ["__typename"]
        for member in members:
            inner = selection(
                member, levels=levels, _entered=_entered, _depth=_depth, _alias=clashing
            )
            if inner:
                parts.append(f"... on {member.name} {inner}")
        return "{ " + " ".join(parts) + " }"
    assert isinstance(type_, GraphQLObjectType)
    entered = _entered + 1 if _is_node(type_) else _entered
    if entered > levels or _depth > 6:
        return ""
    parts = ["__typename"]
    for name, fld in type_.fields.items():
        label = f"{type_.name}__{name}: {name}" if name in _alias else name
        if any(is_required_argument(arg) for arg in fld.args.values()):
            continue
        if type_.name.endswith("Edge") and name == "node":
            continue
        named = get_named_type(fld.type)
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            parts.append(label)
            continue
        inner = selection(named, levels=levels, _entered=entered, _depth=_depth + 1)
        if inner:
            parts.append(f"{label} {inner}")
    return "{ " + " ".join(parts) + " }"


def payload_selection(type_: GraphQLNamedType) -> str:
    """A mutation payload: every member, with the changed objects one level deep."""
    return selection(type_)


def ids_selection(union: GraphQLNamedType) -> str:
    """A mutation payload for seeding: the typename, errors, and ids of the success."""
    assert isinstance(union, GraphQLUnionType)
    parts = ["__typename", "... on Error { message code field }"]
    for member in union.types:
        if member.name.endswith("Success"):
            fields = []
            for name, fld in member.fields.items():
                named = get_named_type(fld.type)
                if isinstance(named, GraphQLObjectType) and "id" in named.fields:
                    fields.append(f"{name} {{ id }}")
            parts.append(f"... on {member.name} {{ {' '.join(fields)} }}")
    return "{ " + " ".join(parts) + " }"


def mutation_document(name: str, sel: str) -> str:
    fld = GRAPHQL.mutation_type.fields[name]  # type: ignore[union-attr]
    input_type = fld.args["input"].type
    return f"mutation Probe($input: {input_type}) {{ {name}(input: $input) {sel} }}"


# ---------------------------------------------------------------------------------------
# Looking for B in a response


def strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def _decoded(value: str) -> str | None:
    if len(value) < 8 or len(value) % 4:
        return None
    standard = value.replace("-", "+").replace("_", "/")  # cursors are URL-safe base64
    try:
        return base64.b64decode(standard.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


@dataclass
class TenantRecords:
    tenant: Tenant
    tag: str
    # GraphQL type -> global ids, in creation order (every row of the type's table).
    ids: dict[str, list[str]] = field(default_factory=dict)
    # Named records of the seed (e.g. "customer", "deal") -> global id.
    named: dict[str, str] = field(default_factory=dict)
    # Natural keys of the seed: "vin", "stock_number", "email", "phone", "deal_number"...
    keys: dict[str, str] = field(default_factory=dict)
    # The version column of every versioned row, by global id.
    versions: dict[str, int] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return self.tenant.tokens[Role.ADMIN]

    def first(self, type_name: str) -> str:
        found = self.ids.get(type_name) or []
        assert found, f"the seed made no {type_name}"
        return found[0]

    def pks(self, type_name: str) -> set[int]:
        return {from_global_id(g)[1] for g in self.ids.get(type_name, [])}


@dataclass
class World:
    a: TenantRecords
    b: TenantRecords
    # Values of B's rows that no row of A has (markers, VINs, e-mails, deal numbers...).
    b_values: set[str] = field(default_factory=set)
    # What the read-only role may do in A (updateRolePermissions changes it inside A).
    read_only_actions: list[str] = field(default_factory=list)

    def leaks(self, response: object, allowed: Iterable[str] = ()) -> list[str]:
        """Every trace of B in a response: a B value, or (plainly or inside any base64
        string, such as a cursor) the global id of a B row. B values inside `allowed` (what
        the caller sent) do not count."""
        found: list[str] = []
        sent = [s.lower() for s in allowed]
        b_ids = {t: self.b.pks(t) for t in self.b.ids}
        b_values = [v for v in self.b_values if not any(v.lower() in s for s in sent)]
        text_ = json.dumps(response).lower()
        for value in b_values:
            if value.lower() in text_:
                found.append(f"B value {value!r}")
        for s in strings(response):
            candidates = [s]
            decoded = _decoded(s)
            if decoded is not None:
                candidates.append(decoded)
                low = decoded.lower()
                found += [f"B value {v!r} inside {s!r}" for v in b_values if v.lower() in low]
            for candidate in candidates:
                try:
                    type_name, pk = from_global_id(candidate)
                except ValueError:
                    type_name, pk = self._typed_pk(candidate)
                if (
                    type_name is not None
                    and pk in b_ids.get(type_name, set())
                    and s.lower() not in sent
                ):
                    found.append(f"B's {type_name} {pk} in {s!r}")
        return sorted(set(found))

    @staticmethod
    def _typed_pk(value: str) -> tuple[str | None, int]:
        match = re.fullmatch(r"([A-Za-z]+):(\d+)", value)
        return (match.group(1), int(match.group(2))) if match else (None, 0)


# ---------------------------------------------------------------------------------------
# The seed


async def run_mutation(
    client: GraphQLClient, token: str, name: str, input_: dict[str, object]
) -> dict[str, object]:
    """Run a seeding mutation, which must succeed; its payload (ids of what it changed)."""
    fld = GRAPHQL.mutation_type.fields[name]  # type: ignore[union-attr]
    doc = mutation_document(name, ids_selection(get_named_type(fld.type)))
    data = await client.data(doc, {"input": input_}, token=token)
    payload = data[name]
    assert isinstance(payload, dict)
    assert str(payload["__typename"]).endswith("Success"), (name, input_, payload)
    return payload


def _id(payload: dict[str, object], key: str) -> str:
    inner = payload[key]
    assert isinstance(inner, dict)
    return str(inner["id"])


async def _seed(client: GraphQLClient, factory: Factory, records: TenantRecords, n: int) -> None:
    """The same records for either tenant; `n` (1 for A, 2 for B) picks its own VINs,
    stock numbers, phones and postal codes."""
    t, tenant, tok = records.tag, records.tenant, records.token
    named, keys = records.named, records.keys
    rng = random.Random(7919 * n)
    letter = "AB"[n - 1]

    async def m(name: str, input_: dict[str, object]) -> dict[str, object]:
        return await run_mutation(client, tok, name, input_)

    keys["phone"] = f"+16145550{n}01"
    keys["county"] = f"Franklin{letter}"
    keys["city"] = f"Columbus{letter}"
    keys["lender_code"] = f"CRED{letter}{n}"
    keys["postal_code"] = f"4320{n}"
    keys["email"] = f"cora.{t}@example.com"
    named["salesperson"] = gid("User", tenant.users[Role.SALESPERSON])
    named["manager"] = gid("User", tenant.users[Role.SALES_MANAGER])

    invited = await m(
        "inviteUser",
        {
            "email": f"ivy.{t}@example.com",
            "firstName": "Ivy",
            "lastName": t.title(),
            "role": "SALESPERSON",
            "title": f"Closer {t}",
        },
    )
    named["invited"] = _id(invited, "user")
    keys["user_email"] = f"ivy.{t}@example.com"
    await m("requestPasswordReset", {"userId": named["invited"]})

    customer = await m(
        "createCustomer",
        {
            "firstName": "Cora",
            "lastName": t.title(),
            "email": keys["email"],
            "phone": keys["phone"],
            "addressLine1": f"1 {t} Way",
            "city": "Columbus",
            "state": "OH",
            "postalCode": keys["postal_code"],
            "source": f"walk-in {t}",
        },
    )
    named["customer"] = _id(customer, "customer")
    other = await m(
        "createCustomer",
        {
            "firstName": "Dale",
            "lastName": t.title(),
            "email": f"dale.{t}@example.com",
            "phone": f"614-555-0{n}02",
        },
    )
    named["customer2"] = _id(other, "customer")
    note = await m("addCustomerNote", {"customerId": named["customer"], "body": f"likes {t}"})
    named["note"] = _id(note, "note")

    tax = await m(
        "createTaxJurisdiction",
        {
            "name": f"Franklin {t}",
            "state": "OH",
            "county": keys["county"],
            "city": keys["city"],
            "postalCode": keys["postal_code"],
            "rate": "7.5",
            "tradeInCredit": True,
        },
    )
    named["tax"] = _id(tax, "taxJurisdiction")
    settings = await client.data("{ dealershipSettings { version } }", token=tok)
    version = settings["dealershipSettings"]["version"]  # type: ignore[index]
    await m(
        "updateDealershipSettings",
        {"version": version, "defaultTaxJurisdictionId": named["tax"]},
    )
    await m("updateDealership", {"legalName": f"Motors {t} LLC"})

    fee = await m(
        "createFeeTemplate",
        {
            "name": f"Doc fee {t}",
            "kind": "DOC",
            "dealType": "FINANCE",
            "amount": "199.00",
            "taxable": False,
        },
    )
    named["fee"] = _id(fee, "feeTemplate")

    for i in (1, 2, 3):
        vin = make_vin(rng)
        vehicle = await m(
            "createVehicle",
            {
                "vin": vin,
                "stockNumber": f"{letter}STOCK{i}",
                "condition": "USED",
                "year": 2021,
                "make": "Honda",
                "model": "Civic",
                "trim": f"EX {t}",
                "mileage": 20000,
                "cost": "18000.00",
                "listPrice": "21995.00",
            },
        )
        named[f"vehicle{i}"] = _id(vehicle, "vehicle")
        keys[f"vin{i}"] = vin
        keys[f"stock_number{i}"] = f"{letter}STOCK{i}"

    lender = await m(
        "createLender",
        {
            "name": f"Credit Union {t}",
            "code": keys["lender_code"],
            "contactName": f"Lou {t}",
            "email": f"lou.{t}@example.com",
        },
    )
    named["lender"] = _id(lender, "lender")
    program = await m(
        "createLenderProgram",
        {
            "lenderId": named["lender"],
            "name": f"Prime {t}",
            "dealType": "FINANCE",
            "minCreditScore": 600,
            "maxCreditScore": 850,
            "minTermMonths": 24,
            "maxTermMonths": 84,
            "buyRate": "4.9",
        },
    )
    named["program"] = _id(program, "program")

    deal = await m(
        "createDeal",
        {
            "vehicleId": named["vehicle1"],
            "salespersonId": named["salesperson"],
            "customerId": named["customer"],
            "scenario": {
                "type": "FINANCE",
                "name": f"Finance {t}",
                "downPayment": "2000.00",
                "apr": "6.99",
                "termMonths": 60,
            },
            "notes": f"deal of {t}",
        },
    )
    named["deal"] = _id(deal, "deal")
    scenario = await m(
        "createDealScenario", {"dealId": named["deal"], "type": "CASH", "name": f"Cash {t}"}
    )
    named["scenario2"] = _id(scenario, "scenario")
    for i in (1, 2):
        trade = await m(
            "addTradeVehicle",
            {
                "dealId": named["deal"],
                "year": 2015,
                "make": "Toyota",
                "model": "Corolla",
                "trim": f"LE {t}",
                "mileage": 90000,
                "allowance": "6000.00",
                "payoffAmount": "1500.00",
            },
        )
        named[f"trade{i}"] = _id(trade, "tradeVehicle")
    await m("detachTradeVehicle", {"dealId": named["deal"], "tradeVehicleId": named["trade2"]})

    starts = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=15, minute=0, second=0, microsecond=0
    )
    appointment = await m(
        "scheduleAppointment",
        {
            "customerId": named["customer"],
            "userId": named["salesperson"],
            "type": "TEST_DRIVE",
            "startsAt": starts.isoformat(),
            "durationMinutes": 60,
            "vehicleId": named["vehicle1"],
            "dealId": named["deal"],
            "location": f"Lot {t}",
            "notes": f"bring {t}",
        },
    )
    named["appointment"] = _id(appointment, "appointment")

    quote = await m(
        "createQuickQuote",
        {
            "vehicleId": named["vehicle2"],
            "dealType": "FINANCE",
            "customerId": named["customer2"],
            "downPayment": "1000.00",
            "tradeAllowance": "0.00",
            "tradePayoff": "0.00",
            "apr": "5.9",
            "termMonths": 60,
        },
    )
    named["quote"] = _id(quote, "quickQuote")
    sent = await m(
        "sendQuickQuote",
        {
            "id": named["quote"],
            "version": 1,
            "contacts": [{"name": f"Quinn {t}", "phone": f"614-555-0{n}03"}],
        },
    )
    contacts = sent["addedContacts"]
    assert isinstance(contacts, list)
    named["contact"] = str(contacts[0]["id"])

    found = await client.data(
        "query($id: ID!) { deal(id: $id) { activeScenario { id } dealNumber } }",
        {"id": named["deal"]},
        token=tok,
    )
    deal_row = found["deal"]
    assert isinstance(deal_row, dict)
    named["scenario"] = str(deal_row["activeScenario"]["id"])
    keys["deal_number"] = str(deal_row["dealNumber"])
    request = await m("createRateRequest", {"scenarioId": named["scenario"], "creditScore": 720})
    named["rate_request"] = _id(request, "rateRequest")
    decision = await m(
        "recordLenderDecision",
        {
            "rateRequestId": named["rate_request"],
            "lenderId": named["lender"],
            "decision": "APPROVED",
            "approvedAmount": "18000.00",
            "apr": "6.49",
            "buyRate": "4.9",
            "termMonths": 60,
            "stipulations": [f"proof of income {t}"],
        },
    )
    named["decision"] = _id(decision, "decision")

    async def security_event(session: AsyncSession) -> None:
        await record_security_event(
            session,
            dealership_id=tenant.dealership_id,
            user_id=tenant.users[Role.ADMIN],
            event="test.seeded",
            outcome="success",
            user_agent=f"seeder {t}",
            details={"note": f"seeded {t}"},
        )

    await factory.run(tenant.dealership_id, security_event)


async def table_rows(engine: AsyncEngine, dealership_id: int) -> dict[str, list[dict[str, object]]]:
    """Every row of the dealership in every table, read as the owner (past row-level
    security), as JSON objects."""
    out: dict[str, list[dict[str, object]]] = {}
    async with engine.connect() as conn:
        for table in await tenant_tables(conn):
            key = KEY_OF_TABLE.get(table, "dealership_id")
            result = await conn.execute(
                text(f"SELECT to_jsonb(t) FROM {table} t WHERE {key} = :d"),
                {"d": dealership_id},
            )
            out[table] = [r[0] for r in result.all()]
    return out


async def tenant_tables(conn: AsyncConnection) -> list[str]:
    """Tables of the public schema holding dealership rows (the dealerships table itself
    and every table with a dealership_id column)."""
    result = await conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND ("
            " c.relname = 'dealerships' OR EXISTS (SELECT 1 FROM pg_attribute a "
            "  WHERE a.attrelid = c.oid AND a.attname = 'dealership_id' AND NOT a.attisdropped))"
            " ORDER BY 1"
        )
    )
    return [r[0] for r in result.all()]


async def snapshot(engine: AsyncEngine, dealership_id: int) -> dict[str, str]:
    """A digest of each tenant table's rows of one dealership, read as the owner."""
    async with engine.connect() as conn:
        tables = await tenant_tables(conn)
        parts = []
        for table in tables:
            key = KEY_OF_TABLE.get(table, "dealership_id")
            parts.append(
                f"SELECT '{table}' AS tbl, md5(coalesce(string_agg(to_jsonb(x)::text, '|' "
                f"ORDER BY to_jsonb(x)::text), '')) || ':' || count(*) AS digest "
                f"FROM {table} x WHERE x.{key} = :d"
            )
        result = await conn.execute(text(" UNION ALL ".join(parts)), {"d": dealership_id})
        return {r.tbl: r.digest for r in result.all()}


def _values(value: object) -> Iterator[str]:
    for s in strings(value):
        if len(s) >= MIN_DISTINCT_LENGTH and not _TIMESTAMP.match(s):
            yield s


async def collect(engine: AsyncEngine, records: TenantRecords) -> list[str]:
    """Fill `records.ids` and `versions` from the database; return the row values."""
    rows = await table_rows(engine, records.tenant.dealership_id)
    for type_name, table in TABLE_OF_TYPE.items():
        key = KEY_OF_TABLE.get(table, "id")
        found = sorted(rows[table], key=lambda r: int(str(r[key])))
        records.ids[type_name] = [gid(type_name, int(str(r[key]))) for r in found]
        for r in found:
            if "version" in r:
                records.versions[gid(type_name, int(str(r[key])))] = int(str(r["version"]))
    return [v for table_rows_ in rows.values() for v in _values(table_rows_)]


async def build_world(client: GraphQLClient, engine: AsyncEngine) -> World:
    factory = Factory(engine=engine, client=client)
    a = TenantRecords(await factory.tenant(), A_TAG)
    b = TenantRecords(await factory.tenant(), B_TAG)
    # B's deal numbers are its own: its counters of today (and tomorrow, should the day
    # turn during the seed) start further on.
    today = local_day(datetime.now(UTC), "America/New_York")
    async with engine.begin() as conn:
        for day in (today, today + timedelta(days=1)):
            await conn.execute(
                text(
                    "INSERT INTO deal_number_counters (dealership_id, day, last_value) "
                    "VALUES (:d, :day, 5000)"
                ),
                {"d": b.tenant.dealership_id, "day": day},
            )
    await _seed(client, factory, a, 1)
    await _seed(client, factory, b, 2)
    a_values = set(await collect(engine, a))
    b_values = set(await collect(engine, b))
    distinct = {v for v in b_values if v not in a_values}
    distinct |= {B_TAG, b.tenant.code}
    assert a.keys["deal_number"] != b.keys["deal_number"]
    for type_name in TABLE_OF_TYPE:
        assert len(a.ids[type_name]) == len(b.ids[type_name]), type_name
    actions = await client.data("{ rolePermissions(role: READ_ONLY) { actions } }", token=a.token)
    world = World(
        a=a,
        b=b,
        b_values=distinct,
        read_only_actions=list(actions["rolePermissions"]["actions"]),  # type: ignore[index]
    )
    # The seed itself is a first check: nothing of B's is in A's rows.
    a_rows = await table_rows(engine, a.tenant.dealership_id)
    assert not [v for v in distinct if v.lower() in json.dumps(a_rows).lower()]
    return world
