"""Tenant isolation, proven over the whole API: every Query and Mutation field, generated
from the schema itself, called as dealership A with ids (and natural keys) of dealership B,
which holds the same records as A (see tests/isolation_world.py).

- Reads: the answer for B's id is exactly the answer for an id that does not exist (same
  data, same errors), and nothing of B's (a B value, or the global id of a B row, even
  inside a cursor) appears anywhere in any response A gets.
- Writes: a mutation that references B's records (in any of its id fields, each in turn)
  answers MultiTenantViolationError, names the field, and changes nothing: B's rows and
  A's rows (but for the security audit entry of the attempt) are the same before and after,
  read as the database owner. Mutations that reference no existing record cannot violate
  tenancy; they are listed below with the reason, run with B's natural keys (e-mail, VIN,
  lender code...) and must succeed inside A alone.

Every field is parametrised from the schema, and every id field must be in the mapping
tables below: a new field or id input fails here until it is classified.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_named_type,
    get_nullable_type,
    is_non_null_type,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed import make_vin
from schema.relay import from_global_id
from tests.conftest import GraphQLClient
from tests.isolation_world import (
    GRAPHQL,
    TABLE_OF_TYPE,
    TenantRecords,
    World,
    build_world,
    gid,
    missing_gid,
    mutation_document,
    node_types,
    payload_selection,
    selection,
    snapshot,
)

ANY = "*"  # an id of any Node type

# Id arguments and id input fields, by name -> the type whose ids they take. `id` is the
# exception: a query's `id` is an id of the type it returns, a mutation's `id` is an id of
# the mutation's entity (MUTATION_ENTITY).
ID_FIELD_ENTITY: dict[str, str] = {
    "customerId": "Customer",
    "vehicleId": "Vehicle",
    "dealId": "Deal",
    "userId": "User",
    "salespersonId": "User",
    "salesManagerId": "User",
    "financeManagerId": "User",
    "createdById": "User",
    "scenarioId": "DealScenario",
    "tradeVehicleId": "TradeVehicle",
    "lenderId": "Lender",
    "rateRequestId": "RateRequest",
    "decisionId": "LenderDecision",
    "contactId": "QuickQuoteContact",
    "defaultTaxJurisdictionId": "TaxJurisdiction",
    "entityId": ANY,  # auditLogs(filter: {entityId}): the id of any record
    "ids": ANY,  # nodes(ids:)
}
# node(id:) takes any type; other queries' `id` is their return type.
QUERY_ID_ENTITY: dict[tuple[str, str], str] = {("node", "id"): ANY}

MUTATION_ENTITY: dict[str, str] = {
    "updateCustomer": "Customer",
    "updateCustomerSensitiveData": "Customer",
    "archiveCustomer": "Customer",
    "restoreCustomer": "Customer",
    "deleteCustomer": "Customer",
    "deleteCustomerNote": "CustomerNote",
    "updateUserProfile": "User",
    "changeUserRole": "User",
    "updateUserPreferences": "User",
    "deactivateUser": "User",
    "reactivateUser": "User",
    "updateFeeTemplate": "FeeTemplate",
    "deactivateFeeTemplate": "FeeTemplate",
    "reactivateFeeTemplate": "FeeTemplate",
    "deleteFeeTemplate": "FeeTemplate",
    "updateVehicle": "Vehicle",
    "changeVehicleStatus": "Vehicle",
    "deleteVehicle": "Vehicle",
    "submitDealForApproval": "Deal",
    "approveDeal": "Deal",
    "contractDeal": "Deal",
    "deliverDeal": "Deal",
    "markDealLost": "Deal",
    "cancelDeal": "Deal",
    "unwindDeal": "Deal",
    "reopenDeal": "Deal",
    "changeDealVehicle": "Deal",
    "updateDeal": "Deal",
    "assignDealCustomer": "Deal",
    "changeDealSalesperson": "Deal",
    "updateDealScenario": "DealScenario",
    "deleteDealScenario": "DealScenario",
    "duplicateDealScenario": "DealScenario",
    "updateTradeVehicle": "TradeVehicle",
    "removeTradeVehicle": "TradeVehicle",
    "rescheduleAppointment": "Appointment",
    "updateAppointment": "Appointment",
    "confirmAppointment": "Appointment",
    "completeAppointment": "Appointment",
    "markAppointmentNoShow": "Appointment",
    "cancelAppointment": "Appointment",
    "updateQuickQuote": "QuickQuote",
    "sendQuickQuote": "QuickQuote",
    "deleteQuickQuote": "QuickQuote",
    "convertQuickQuote": "QuickQuote",
    "updateTaxJurisdiction": "TaxJurisdiction",
    "deactivateTaxJurisdiction": "TaxJurisdiction",
    "updateLender": "Lender",
    "deactivateLender": "Lender",
    "updateLenderProgram": "LenderProgram",
    "deleteLenderProgram": "LenderProgram",
}

# Mutations that reference no existing record: they cannot name another dealership's row,
# so there is nothing to refuse. Each runs as A with B's natural keys where it takes any,
# must succeed, and must change nothing of B's.
NO_REFERENCE: dict[str, str] = {
    "createCustomer": "creates a customer from names and contact details",
    "inviteUser": "creates a user from an e-mail and names; e-mails are unique per dealership",
    "updateRolePermissions": "replaces the caller's own dealership's set of actions for a role",
    "updateDealership": "changes the caller's own dealership",
    "createFeeTemplate": "creates a fee template from its values",
    "createVehicle": "creates a vehicle; VIN and stock number are unique per dealership",
    "createTaxJurisdiction": "creates a jurisdiction from an address and a rate",
    "createLender": "creates a lender from its name and contact details",
}
# Mutations authorised by a secret rather than the caller: the secret names its dealership.
CREDENTIAL: dict[str, str] = {
    "resetPassword": "the reset token is the authority; a token of B's shape that B never "
    "issued must be refused exactly like a token of a dealership that does not exist",
    "refreshToken": "the refresh token is the authority; one of B's shape is refused like "
    "one of no dealership",
    "logout": "the refresh token is the authority; one of B's shape is refused like one of "
    "no dealership",
    "login": "the e-mail and password are the authority; B's e-mail with a wrong password "
    "is refused exactly like an e-mail nobody has",
}

# String arguments (and String fields of argument inputs) of queries that look records up by
# value: each runs with B's value and with a value nobody has. The value names a key of
# TenantRecords.keys, or is a literal.
NATURAL_KEYS: dict[tuple[str, str], list[str]] = {
    ("userByEmail", "email"): ["key:user_email"],
    ("vehicleByVin", "vin"): ["key:vin1"],
    ("vehicleByStockNumber", "stockNumber"): ["key:stock_number1"],
    ("dealByNumber", "dealNumber"): ["key:deal_number"],
    ("findDuplicateCustomers", "email"): ["key:email"],
    ("findDuplicateCustomers", "phone"): ["key:phone"],
    ("customers", "filter.search"): ["tag", "key:email", "key:phone"],
    ("customers", "filter.email"): ["key:email"],
    ("customers", "filter.phone"): ["key:phone"],
    ("users", "filter.search"): ["tag", "key:user_email"],
    ("vehicles", "filter.search"): ["key:vin1", "key:stock_number1", "tag"],
    ("deals", "filter.search"): ["key:deal_number", "tag"],
    ("taxJurisdictions", "filter.search"): ["tag", "key:county", "key:city"],
    ("lookupTaxJurisdiction", "county"): ["key:county"],
    ("lookupTaxJurisdiction", "city"): ["key:city"],
    ("lookupTaxJurisdiction", "postalCode"): ["key:postal_code"],
    ("lenders", "filter.search"): ["tag", "key:lender_code"],
}
# The value nobody has, for each kind of natural key.
NOBODY: dict[str, str] = {
    "user_email": "nobody.zzzmarker@example.com",
    "email": "nobody.zzzmarker@example.com",
    "vin1": make_vin(random.Random(424242)),
    "stock_number1": "ZSTOCK9",
    "deal_number": "1999-0101-0001",
    "phone": "+16145550999",
    "county": "Nowhere",
    "city": "Nowhere",
    "postal_code": "43299",
    "lender_code": "ZZZ99",
    "tag": "zzzmarker",
}
# String arguments that are no key of a record (names of shared things such as a state or
# an action), with the value used when one is needed.
PLAIN_STRINGS: dict[tuple[str, str], str | None] = {
    ("vehicles", "filter.make"): None,
    ("vehicles", "filter.model"): None,
    ("appointments", "filter.timeZone"): None,
    ("taxJurisdictions", "filter.state"): None,
    ("lookupTaxJurisdiction", "state"): "OH",
    ("auditLogs", "filter.entityType"): None,
    ("auditLogs", "filter.action"): None,
    ("securityAuditLogs", "filter.event"): None,
    ("securityAuditLogs", "filter.outcome"): None,
}
# Connection cursors: opaque positions in the caller's own list (a sort key and an id),
# not references to a record; a position outside the list is just a position.
CURSOR_ARGS = {"after", "before"}
# Other required arguments of queries.
QUERY_ARGS: dict[tuple[str, str], object] = {
    ("rolePermissions", "role"): "SALESPERSON",
    ("matchingLenderPrograms", "dealType"): "FINANCE",
    ("matchingLenderPrograms", "creditScore"): 720,
    ("matchingLenderPrograms", "termMonths"): 60,
    ("upcomingAppointments", "first"): 10,
    ("feeTemplates", "includeInactive"): True,
}

# Which of a tenant's seeded records an id field gets (by entity, then per mutation field).
RECORD_OF_ENTITY: dict[str, str] = {
    "Customer": "customer",
    "CustomerNote": "note",
    "Vehicle": "vehicle3",
    "Deal": "deal",
    "User": "invited",
    "DealScenario": "scenario",
    "TradeVehicle": "trade1",
    "Appointment": "appointment",
    "QuickQuote": "quote",
    "QuickQuoteContact": "contact",
    "TaxJurisdiction": "tax",
    "FeeTemplate": "fee",
    "Lender": "lender",
    "LenderProgram": "program",
    "RateRequest": "rate_request",
    "LenderDecision": "decision",
}
RECORD_OF_FIELD: dict[tuple[str, str], str] = {
    ("createDeal", "salespersonId"): "salesperson",
    ("convertQuickQuote", "salespersonId"): "salesperson",
    ("changeDealSalesperson", "salespersonId"): "salesperson",
    ("scheduleAppointment", "userId"): "salesperson",
    ("scheduleAppointment", "vehicleId"): "vehicle1",
    ("updateAppointment", "userId"): "salesperson",
    ("updateAppointment", "vehicleId"): "vehicle1",
    ("updateDeal", "salesManagerId"): "manager",
    ("updateDeal", "financeManagerId"): "manager",
    ("attachTradeVehicle", "tradeVehicleId"): "trade2",
    ("setActiveScenario", "scenarioId"): "scenario2",
    ("assignDealCustomer", "customerId"): "customer2",
    ("updateQuickQuote", "customerId"): "customer2",
    ("updateQuickQuote", "vehicleId"): "vehicle2",
    ("convertQuickQuote", "customerId"): "customer2",
}

_LATER = (datetime.now(UTC) + timedelta(days=9)).replace(hour=16, minute=0, second=0, microsecond=0)
# Values of required (and a few chosen optional) non-id input fields: valid, so that a
# refusal can only come from the id under test.
FIELD_VALUES: dict[str, object] = {
    "firstName": "Eve",
    "lastName": "Probe",
    "email": "eve.probe@example.com",
    "body": "probe note",
    "name": "Probe",
    "reason": "probe",
    "year": 2020,
    "make": "Ford",
    "model": "Focus",
    "mileage": 50000,
    "allowance": "5000.00",
    "payoffAmount": "0.00",
    "vin": make_vin(random.Random(5151)),
    "cost": "9000.00",
    "listPrice": "11000.00",
    "amount": "100.00",
    "taxable": False,
    "state": "OH",
    "rate": "6.0",
    "tradeInCredit": True,
    "startsAt": _LATER.isoformat(),
    "creditScore": 720,
    "minCreditScore": 600,
    "maxCreditScore": 850,
    "minTermMonths": 24,
    "maxTermMonths": 84,
    "buyRate": "4.5",
    "stipulations": [],
    "preferences": {"probe": True},
    "contacts": [{"name": "Probe", "phone": "614-555-0999"}],
    "downPayment": "0.00",
    "tradeAllowance": "0.00",
    "tradePayoff": "0.00",
    "newPassword": "a-long-enough-password",
}
ENUM_VALUES: dict[str, str] = {
    "DealType": "FINANCE",
    "VehicleCondition": "USED",
    "VehicleStatus": "ON_HOLD",
    "FeeKind": "OTHER",
    "Role": "SALES_MANAGER",
    "AppointmentType": "FOLLOW_UP",
    "LenderDecisionType": "DECLINED",
    "DeliveryStatus": "DELIVERED",
}
# Optional fields some mutations need to be a real change.
EXTRA_FIELDS: dict[str, dict[str, object]] = {
    "updateCustomer": {"firstName": "Eve"},
    "updateCustomerSensitiveData": {"ssnLast4": "1234"},
    "updateUserProfile": {"title": "Probe"},
    "updateFeeTemplate": {"name": "Probe"},
    "updateVehicle": {"mileage": 20001},
    "updateDeal": {"notes": "probe"},
    "updateDealScenario": {"name": "Probe"},
    "updateTradeVehicle": {"mileage": 90001},
    "rescheduleAppointment": {"durationMinutes": 30},
    "scheduleAppointment": {"durationMinutes": 30},
    "updateAppointment": {"notes": "probe"},
    "updateQuickQuote": {"downPayment": "1500.00"},
    "updateTaxJurisdiction": {"name": "Probe"},
    "updateLender": {"name": "Probe"},
    "updateLenderProgram": {"name": "Probe"},
    "createLenderProgram": {"buyRate": "4.5"},
}


class Unmapped(AssertionError):
    pass


def _short(value: object, limit: int = 600) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------
# The plan: slots of every field, from the schema


@dataclass(frozen=True)
class Slot:
    """An argument (or a field inside an argument's input) that takes a record's id or
    natural key: `path` from the field's arguments, e.g. ("filter", "customerId")."""

    path: tuple[str, ...]
    kind: str  # "id" | "key"
    entity: str = ""  # id slots: a Node type, or ANY
    keys: tuple[str, ...] = ()  # key slots: NATURAL_KEYS entries
    is_list: bool = False


def _id_entity_of_query(field_name: str, arg: str, return_type: GraphQLNamedType) -> str:
    if (field_name, arg) in QUERY_ID_ENTITY:
        return QUERY_ID_ENTITY[(field_name, arg)]
    if arg == "id":
        if isinstance(return_type, GraphQLObjectType) and return_type.name in TABLE_OF_TYPE:
            return return_type.name
        raise Unmapped(f"query {field_name}: add `id` to QUERY_ID_ENTITY")
    if arg in ID_FIELD_ENTITY:
        return ID_FIELD_ENTITY[arg]
    raise Unmapped(f"query {field_name}: id argument {arg!r} is not in ID_FIELD_ENTITY")


def query_slots(field_name: str) -> list[Slot]:
    fld = GRAPHQL.query_type.fields[field_name]  # type: ignore[union-attr]
    returns = get_named_type(fld.type)
    slots: list[Slot] = []

    def visit(path: tuple[str, ...], type_: GraphQLInputType) -> None:
        named = get_named_type(type_)
        leaf = path[-1]
        dotted = ".".join(path)
        if isinstance(named, GraphQLInputObjectType):
            for name, inner in named.fields.items():
                visit((*path, name), inner.type)
        elif named.name == "ID":
            slots.append(
                Slot(
                    path,
                    "id",
                    entity=_id_entity_of_query(field_name, leaf, returns),
                    is_list=isinstance(get_nullable_type(type_), GraphQLList),
                )
            )
        elif named.name == "String":
            if dotted in CURSOR_ARGS:
                return
            if (field_name, dotted) in NATURAL_KEYS:
                slots.append(Slot(path, "key", keys=tuple(NATURAL_KEYS[(field_name, dotted)])))
            elif (field_name, dotted) not in PLAIN_STRINGS:
                raise Unmapped(
                    f"query {field_name}: String argument {dotted!r} is in neither "
                    "NATURAL_KEYS nor PLAIN_STRINGS"
                )

    for name, arg in fld.args.items():
        visit((name,), arg.type)
    return slots


def mutation_slots(name: str) -> list[Slot]:
    """The id fields of a mutation's input (nested inputs included), path from `input`."""
    fld = GRAPHQL.mutation_type.fields[name]  # type: ignore[union-attr]
    slots: list[Slot] = []

    def visit(path: tuple[str, ...], type_: GraphQLInputObjectType) -> None:
        for fname, inner in type_.fields.items():
            named = get_named_type(inner.type)
            if isinstance(named, GraphQLInputObjectType):
                visit((*path, fname), named)
            elif named.name == "ID":
                if fname == "id" and not path:
                    if name not in MUTATION_ENTITY:
                        raise Unmapped(f"mutation {name}: add its entity to MUTATION_ENTITY")
                    entity = MUTATION_ENTITY[name]
                elif fname in ID_FIELD_ENTITY:
                    entity = ID_FIELD_ENTITY[fname]
                else:
                    raise Unmapped(f"mutation {name}: id field {fname!r} not in ID_FIELD_ENTITY")
                slots.append(Slot((*path, fname), "id", entity=entity))

    input_type = get_named_type(fld.args["input"].type)
    assert isinstance(input_type, GraphQLInputObjectType)
    visit((), input_type)
    if not slots and name not in NO_REFERENCE and name not in CREDENTIAL:
        raise Unmapped(f"mutation {name} takes no id: list it in NO_REFERENCE or CREDENTIAL")
    if slots and (name in NO_REFERENCE or name in CREDENTIAL):
        raise Unmapped(f"mutation {name} takes ids but is listed as taking none")
    return slots


QUERY_FIELDS = sorted(GRAPHQL.query_type.fields)  # type: ignore[union-attr]
MUTATION_FIELDS = sorted(GRAPHQL.mutation_type.fields)  # type: ignore[union-attr]
REFERENCING = [m for m in MUTATION_FIELDS if m not in NO_REFERENCE and m not in CREDENTIAL]

# Cases run, by operation: filled by the tests, reported at the end.
RAN: Counter[str] = Counter()


# ---------------------------------------------------------------------------------------
# Reads


def _set(target: dict[str, object], path: tuple[str, ...], value: object) -> None:
    for step in path[:-1]:
        inner = target.setdefault(step, {})
        assert isinstance(inner, dict)
        target = inner
    target[path[-1]] = value


def _default_for(type_: GraphQLInputType, key: tuple[str, str]) -> object:
    if key in QUERY_ARGS:
        return QUERY_ARGS[key]
    named = get_named_type(type_)
    if isinstance(named, GraphQLEnumType):
        return ENUM_VALUES.get(named.name, next(iter(named.values)))
    if named.name == "Int":
        return 10
    if named.name == "Boolean":
        return False
    raise Unmapped(f"no value for required argument {key}")


def _key_value(records: TenantRecords, key: str) -> str:
    return records.tag if key == "tag" else records.keys[key.removeprefix("key:")]


def _nobody(key: str) -> str:
    return NOBODY[key.removeprefix("key:")]


# A plain call of node/nodes passes one of A's customers: select that type only (the other
# Node types have their own cases), which keeps the document small.
PLAIN_ONLY = {"Customer"}


def plain_variables(field_name: str, world: World) -> dict[str, object]:
    """Values for the required arguments, from A's own records."""
    fld = GRAPHQL.query_type.fields[field_name]  # type: ignore[union-attr]
    returns = get_named_type(fld.type)
    out: dict[str, object] = {}
    for name, arg in fld.args.items():
        if not is_non_null_type(arg.type) or arg.default_value is not Undefined:
            continue
        named = get_named_type(arg.type)
        if named.name == "ID":
            entity = _id_entity_of_query(field_name, name, returns)
            own = world.a.first("Customer" if entity == ANY else entity)
            if entity in RECORD_OF_ENTITY and RECORD_OF_ENTITY[entity] in world.a.named:
                own = world.a.named[RECORD_OF_ENTITY[entity]]
            is_list = isinstance(get_nullable_type(arg.type), GraphQLList)
            out[name] = [own] if is_list else own
        elif named.name == "String":
            if (field_name, name) in NATURAL_KEYS:
                out[name] = _key_value(world.a, NATURAL_KEYS[(field_name, name)][0])
            else:
                out[name] = PLAIN_STRINGS[(field_name, name)]
        else:
            out[name] = _default_for(arg.type, (field_name, name))
    return out


def query_document(field_name: str, variables: dict[str, object], only: set[str] | None) -> str:
    fld = GRAPHQL.query_type.fields[field_name]  # type: ignore[union-attr]
    declared = ", ".join(f"${n}: {fld.args[n].type}" for n in variables)
    passed = ", ".join(f"{n}: ${n}" for n in variables)
    head = f"query Probe({declared})" if declared else "query Probe"
    call = f"{field_name}({passed})" if passed else field_name
    return f"{head} {{ {call} {selection(get_named_type(fld.type), only=only)} }}"


@dataclass
class ReadCase:
    label: str
    b_variables: dict[str, object]
    missing_variables: dict[str, object]
    probes: tuple[tuple[str, str], ...]  # (B's value, the missing value) used in the case
    only: set[str] | None = None


def read_cases(field_name: str, world: World) -> Iterator[ReadCase]:
    plain = plain_variables(field_name, world)
    for slot in query_slots(field_name):
        if slot.kind == "key":
            for key in slot.keys:
                b, nobody = _key_value(world.b, key), _nobody(key)
                with_b, with_nobody = copy.deepcopy(plain), copy.deepcopy(plain)
                _set(with_b, slot.path, b)
                _set(with_nobody, slot.path, nobody)
                yield ReadCase(f"{'.'.join(slot.path)}={key}", with_b, with_nobody, ((b, nobody),))
            continue
        types = node_types() if slot.entity == ANY else [slot.entity]
        for type_name in types:
            b_ids = world.b.ids[type_name]
            # Every one of B's rows by id; the first of its kind in filters and lists.
            chosen = list(enumerate(b_ids)) if slot.path == ("id",) else [(0, b_ids[0])]
            for n, b_id in chosen:
                nobody = missing_gid(type_name, n)
                with_b, with_nobody = copy.deepcopy(plain), copy.deepcopy(plain)
                if slot.is_list:
                    own = world.a.first(type_name)
                    _set(with_b, slot.path, [own, b_id])
                    _set(with_nobody, slot.path, [own, nobody])
                else:
                    _set(with_b, slot.path, b_id)
                    _set(with_nobody, slot.path, nobody)
                if slot.path == ("filter", "entityId"):
                    _set(with_b, ("filter", "entityType"), type_name)
                    _set(with_nobody, ("filter", "entityType"), type_name)
                only = {type_name} if slot.entity == ANY else None
                yield ReadCase(
                    f"{'.'.join(slot.path)}={type_name}#{n}",
                    with_b,
                    with_nobody,
                    ((b_id, nobody),),
                    only,
                )


def normalised(response: dict[str, object], probes: tuple[tuple[str, str], ...]) -> str:
    """The response with the probed value (B's or the missing one, also as "<Type> <pk>"
    in a message) replaced by a placeholder, and request ids dropped."""
    text = json.dumps(response, sort_keys=True)
    text = re.sub(r'"requestId": "[^"]*"', '"requestId": "-"', text)
    for b, nobody in probes:
        for value in (b, nobody):
            text = text.replace(value, "<PROBE>")
            try:
                type_name, pk = from_global_id(value)
            except ValueError:
                continue
            text = re.sub(rf"\b{type_name} {pk}\b", "<PROBE>", text)
    return text


@pytest.fixture(scope="module")
async def world(client: GraphQLClient, engine: AsyncEngine) -> World:
    return await build_world(client, engine)


def test_every_field_is_classified() -> None:
    """Fails when a new field, id argument, id input field or String key is not mapped."""
    problems = []
    for name in QUERY_FIELDS:
        try:
            query_slots(name)
        except Unmapped as exc:
            problems.append(str(exc))
    for name in MUTATION_FIELDS:
        try:
            mutation_slots(name)
        except Unmapped as exc:
            problems.append(str(exc))
    # Arguments below the root would be probes the matrix does not make: none may exist.
    for type_name, type_ in GRAPHQL.type_map.items():
        if type_name.startswith("__") or type_ in (GRAPHQL.query_type, GRAPHQL.mutation_type):
            continue
        if isinstance(type_, GraphQLObjectType):
            problems += [
                f"{type_name}.{f} takes arguments: extend the matrix to probe them"
                for f, fld in type_.fields.items()
                if fld.args
            ]
    if GRAPHQL.subscription_type is not None:
        problems.append("subscriptions exist: extend the matrix to them")
    stale = (set(MUTATION_ENTITY) | set(NO_REFERENCE) | set(CREDENTIAL)) - set(MUTATION_FIELDS)
    problems += [f"{m} is mapped but not in the schema" for m in sorted(stale)]
    assert not problems, "\n".join(problems)
    assert set(TABLE_OF_TYPE) == set(node_types())


async def _read(
    client: GraphQLClient, world: World, doc: str, variables: dict[str, object]
) -> dict[str, object]:
    return await client.execute(doc, variables, token=world.a.token)


@pytest.mark.parametrize("field_name", QUERY_FIELDS)
async def test_query_answers_b_ids_like_missing_ids(
    field_name: str, client: GraphQLClient, world: World
) -> None:
    failures: list[str] = []
    # The plain call, with A's own records: it works, and shows nothing of B's.
    variables = plain_variables(field_name, world)
    response = await _read(
        client, world, query_document(field_name, variables, PLAIN_ONLY), variables
    )
    assert "errors" not in response, response
    if leaks := world.leaks(response):
        failures.append(f"plain call leaks {leaks}")
    RAN[f"query {field_name}"] += 1
    for case in read_cases(field_name, world):
        doc = query_document(field_name, case.b_variables, case.only)
        with_b = await _read(client, world, doc, case.b_variables)
        with_nobody = await _read(client, world, doc, case.missing_variables)
        RAN[f"query {field_name}"] += 1
        for answer in (with_b, with_nobody):
            if leaks := world.leaks(answer):
                failures.append(f"{case.label}: B leaks {leaks}: {_short(answer)}")
        if normalised(with_b, case.probes) != normalised(with_nobody, case.probes):
            failures.append(
                f"{case.label}: B's answer {_short(with_b)} != missing's {_short(with_nobody)}"
            )
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------
# Writes


def _record_name(mutation: str, slot: Slot) -> str:
    leaf = slot.path[-1]
    if (mutation, leaf) in RECORD_OF_FIELD:
        return RECORD_OF_FIELD[(mutation, leaf)]
    return RECORD_OF_ENTITY[slot.entity]


def _value(type_: GraphQLInputType, name: str) -> object:
    named = get_named_type(type_)
    if name in FIELD_VALUES:
        return FIELD_VALUES[name]
    if isinstance(named, GraphQLEnumType):
        return ENUM_VALUES.get(named.name, next(iter(named.values)))
    if isinstance(named, GraphQLScalarType):
        defaults: dict[str, object] = {
            "Int": 1,
            "Boolean": False,
            "String": "probe",
            "Money": "1.00",
            "Decimal": "1.0",
            "JSON": {},
        }
        if named.name in defaults:
            return defaults[named.name]
    raise Unmapped(f"no value for input field {name!r} of type {type_}")


def build_input(
    mutation: str,
    owner_of: Callable[[Slot], TenantRecords],
    world: World,
    extra: dict[str, object] | None = None,
) -> dict[str, object]:
    """A valid input: every id field (required or not) from the tenant `owner_of` picks
    for it, required fields from FIELD_VALUES, and the mutation's EXTRA_FIELDS."""
    fld = GRAPHQL.mutation_type.fields[mutation]  # type: ignore[union-attr]
    input_type = get_named_type(fld.args["input"].type)
    assert isinstance(input_type, GraphQLInputObjectType)
    slots = {s.path: s for s in mutation_slots(mutation)}

    def fill(type_: GraphQLInputObjectType, path: tuple[str, ...]) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, inner in type_.fields.items():
            here = (*path, name)
            named = get_named_type(inner.type)
            required = is_non_null_type(inner.type) and inner.default_value is Undefined
            if here in slots:
                slot = slots[here]
                out[name] = owner_of(slot).named[_record_name(mutation, slot)]
            elif name == "version":
                continue  # below, once the record is known
            elif name in FIELD_VALUES and required:
                out[name] = FIELD_VALUES[name]
            elif isinstance(named, GraphQLInputObjectType):
                if required:
                    out[name] = fill(named, here)
            elif required:
                out[name] = _value(inner.type, name)
        return out

    result = fill(input_type, ())
    result.update(extra if extra is not None else EXTRA_FIELDS.get(mutation, {}))
    version = input_type.fields.get("version")
    if version is not None and is_non_null_type(version.type):
        # The version of the record the mutation changes: the one its `id` (or `dealId`)
        # names; for the dealership's settings, the caller's own.
        versioned = result.get("id") or result.get("dealId")
        if mutation == "updateDealershipSettings":
            versioned = gid("DealershipSettings", world.a.tenant.dealership_id)
        result["version"] = _version_of(world, str(versioned))
    return result


def _version_of(world: World, global_id: str) -> int:
    for records in (world.a, world.b):
        if global_id in records.versions:
            return records.versions[global_id]
    raise Unmapped(f"no version known for {global_id}")


def _typename(response: dict[str, object], mutation: str) -> tuple[str, dict[str, object]]:
    data = response.get("data")
    assert isinstance(data, dict), response
    payload = data[mutation]
    assert isinstance(payload, dict), response
    return str(payload["__typename"]), payload


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


def _count(digest: str) -> int:
    return int(digest.rsplit(":", 1)[1])


async def _mutate(
    client: GraphQLClient, world: World, mutation: str, input_: dict[str, object]
) -> dict[str, object]:
    fld = GRAPHQL.mutation_type.fields[mutation]  # type: ignore[union-attr]
    doc = mutation_document(mutation, payload_selection(get_named_type(fld.type)))
    return await client.execute(doc, {"input": input_}, token=world.a.token)


@pytest.mark.parametrize("mutation", REFERENCING)
async def test_mutation_refuses_b_ids_and_changes_nothing(
    mutation: str, client: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    slots = mutation_slots(mutation)
    a_id, b_id = world.a.tenant.dealership_id, world.b.tenant.dealership_id
    cases: list[tuple[str, Callable[[Slot], TenantRecords], Slot | None]] = [
        ("every id of B", lambda slot: world.b, None)
    ]
    if len(slots) > 1:
        for target in slots:
            cases.append(
                (
                    f"only {'.'.join(target.path)} of B",
                    lambda slot, target=target: world.b if slot == target else world.a,
                    target,
                )
            )
    failures: list[str] = []
    for label, owner_of, target in cases:
        input_ = build_input(mutation, owner_of, world)
        a_before, b_before = await snapshot(engine, a_id), await snapshot(engine, b_id)
        response = await _mutate(client, world, mutation, input_)
        a_after, b_after = await snapshot(engine, a_id), await snapshot(engine, b_id)
        RAN[f"mutation {mutation}"] += 1
        typename, payload = _typename(response, mutation)
        expected_fields = (
            [["input", *target.path]] if target else [["input", *s.path] for s in slots]
        )
        if typename != "MultiTenantViolationError" or payload.get("field") not in expected_fields:
            failures.append(f"{label}: {input_} answered {_short(response)}")
        if changed := _changed(b_before, b_after):
            failures.append(f"{label}: B's {changed} changed")
        a_changed = _changed(a_before, a_after)
        # One security row, and the head of A's security chain that it moved.
        if a_changed != ["audit_chain_heads", "security_audit_logs"] or _count(
            a_after["security_audit_logs"]
        ) != 1 + _count(a_before["security_audit_logs"]):
            failures.append(f"{label}: A's tables changed: {a_changed} (expected one security row)")
        if leaks := world.leaks(response):
            failures.append(f"{label}: leaks {leaks}")
    assert not failures, "\n".join(failures)


async def test_after_the_attempts_a_still_sees_nothing_of_b(
    client: GraphQLClient, world: World
) -> None:
    """The refused writes left no trace of B in what A can read (its audit trail and
    security log included)."""
    for field_name in QUERY_FIELDS:
        variables = plain_variables(field_name, world)
        doc = query_document(field_name, variables, PLAIN_ONLY)
        response = await _read(client, world, doc, variables)
        assert "errors" not in response, response
        assert not world.leaks(response), (field_name, world.leaks(response))


def _strings_of(value: object) -> list[str]:
    return [s for s in json.dumps(value).split('"') if s.strip(" ,:{}[]")]


def _no_reference_input(mutation: str, world: World) -> dict[str, object]:
    b = world.b
    own = build_input(mutation, lambda slot: world.a, world, extra={})
    b_keys: dict[str, dict[str, object]] = {
        "createCustomer": {"email": b.keys["email"], "phone": b.keys["phone"]},
        "inviteUser": {"email": b.keys["user_email"], "role": "SALESPERSON"},
        "createVehicle": {"vin": b.keys["vin1"], "stockNumber": b.keys["stock_number1"]},
        "createLender": {"code": b.keys["lender_code"]},
        "createTaxJurisdiction": {"postalCode": b.keys["postal_code"]},
        "createFeeTemplate": {},
        "updateDealership": {"name": "Dealership probe"},
        "updateRolePermissions": {"role": "READ_ONLY", "actions": world.read_only_actions[1:]},
    }
    return {**own, **b_keys[mutation]}


@pytest.mark.parametrize("mutation", sorted(NO_REFERENCE))
async def test_mutation_without_references_only_touches_a(
    mutation: str, client: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    a_id, b_id = world.a.tenant.dealership_id, world.b.tenant.dealership_id
    input_ = _no_reference_input(mutation, world)
    b_before, a_before = await snapshot(engine, b_id), await snapshot(engine, a_id)
    response = await _mutate(client, world, mutation, input_)
    b_after, a_after = await snapshot(engine, b_id), await snapshot(engine, a_id)
    RAN[f"mutation {mutation}"] += 1
    typename, payload = _typename(response, mutation)
    assert typename.endswith("Success"), (input_, response)
    assert not _changed(b_before, b_after)
    assert _changed(a_before, a_after)
    # B's natural keys were A's input: they may come back; nothing else of B's may.
    assert not world.leaks(response, allowed=_strings_of(input_))
    assert "possibleDuplicates" not in payload or payload["possibleDuplicates"] == []


async def test_a_reset_token_of_b_shape_is_refused_like_a_token_of_no_one(
    client: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    b_id = world.b.tenant.dealership_id
    fld = GRAPHQL.mutation_type.fields["resetPassword"]  # type: ignore[union-attr]
    doc = mutation_document("resetPassword", payload_selection(get_named_type(fld.type)))
    answers = []
    for dealership in (b_id, 9_000_000_000):
        token = f"{dealership}.{'x' * 43}"
        before = await snapshot(engine, b_id)
        for caller in (world.a.token, None):
            response = await client.execute(
                doc,
                {"input": {"token": token, "newPassword": "a-long-enough-password"}},
                token=caller,
            )
            answers.append(normalised(response, ((token, token),)))
            assert not world.leaks(response)
        assert not _changed(before, await snapshot(engine, b_id))
        RAN["mutation resetPassword"] += 2
    assert len(set(answers)) == 1, answers
    assert "INVALID_TOKEN" in answers[0]


@pytest.mark.parametrize("mutation", ["refreshToken", "logout"])
async def test_a_refresh_token_of_b_shape_is_refused_like_a_token_of_no_one(
    client: GraphQLClient, engine: AsyncEngine, world: World, mutation: str
) -> None:
    b_id = world.b.tenant.dealership_id
    fld = GRAPHQL.mutation_type.fields[mutation]  # type: ignore[union-attr]
    doc = mutation_document(mutation, payload_selection(get_named_type(fld.type)))
    answers = []
    for dealership in (b_id, 9_000_000_000):
        token = f"{dealership}.{'x' * 43}"
        before = await snapshot(engine, b_id)
        for caller in (world.a.token, None):
            response = await client.execute(doc, {"input": {"refreshToken": token}}, token=caller)
            answers.append(normalised(response, ((token, token),)))
            assert not world.leaks(response)
        assert not _changed(before, await snapshot(engine, b_id))
        RAN[f"mutation {mutation}"] += 2
    assert len(set(answers)) == 1, answers


async def test_login_with_b_email_is_refused_like_an_unknown_email(
    client: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    b_id = world.b.tenant.dealership_id
    fld = GRAPHQL.mutation_type.fields["login"]  # type: ignore[union-attr]
    doc = mutation_document("login", payload_selection(get_named_type(fld.type)))
    answers = []
    for email in (world.b.keys["user_email"], "nobody.at.all@example.com"):
        before = await snapshot(engine, b_id)
        response = await client.execute(
            doc, {"input": {"email": email, "password": "not-the-password-1"}}
        )
        answers.append(normalised(response, ((email, email),)))
        assert not world.leaks(response, allowed=(email,))
        changed = _changed(before, await snapshot(engine, b_id))
        # A failed sign-in counts against B's user (lockout) and is in B's security trail:
        # that is B's own record of an attempt on its account, not a leak to A.
        assert set(changed) <= {"users", "security_audit_logs", "audit_chain_heads"}
        RAN["mutation login"] += 1
    assert answers[0] == answers[1], answers


def test_the_leak_detector_finds_b(world: World) -> None:
    """The check every response goes through: B's values in any case, B's global ids, and
    either inside a base64 string (a cursor); A's own records pass."""
    b_customer = world.b.named["customer"]
    _, b_pk = from_global_id(b_customer)
    cursor = base64.urlsafe_b64encode(
        json.dumps({"k": "last_name+,id+", "v": ["Bbbmarker", b_pk]}).encode()
    ).decode()
    hidden = base64.b64encode(f"vin={world.b.keys['vin1']}".encode()).decode()
    assert world.leaks({"a": [{"b": b_customer}]})
    assert world.leaks({"c": base64.b64encode(f"Customer:{b_pk}".encode()).decode()})
    assert world.leaks({"cursor": cursor})
    assert world.leaks({"deep": [[hidden]]})
    assert world.leaks({"e": world.b.keys["email"].upper()})
    assert world.leaks({"m": "... BBBMARKER ..."})
    assert world.leaks({"n": world.b.keys["deal_number"]})
    assert world.leaks({"code": world.b.tenant.code})
    assert not world.leaks({"own": [world.a.named, world.a.keys, world.a.tenant.code]})


def test_zz_report_the_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs last: the matrix covered every field of the schema."""
    operations = {f"query {q}" for q in QUERY_FIELDS} | {f"mutation {m}" for m in MUTATION_FIELDS}
    missing = sorted(operations - set(RAN))
    reads = sum(n for op, n in RAN.items() if op.startswith("query "))
    writes = sum(n for op, n in RAN.items() if op.startswith("mutation "))
    with capsys.disabled():
        print(
            f"\nisolation matrix: {len(RAN)} operations x {reads + writes} cases "
            f"({len(QUERY_FIELDS)} queries: {reads} read cases, own records and B's values "
            f"against missing ones; {len(MUTATION_FIELDS)} mutations: {writes} write cases); "
            f"fields covered {len(operations) - len(missing)}/{len(operations)}"
        )
    assert not missing, f"not exercised: {missing}"
