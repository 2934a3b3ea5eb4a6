"""Appointments through the real app: scheduling with its validation, double bookings
(also under real concurrency), rescheduling, reassigning, status transitions, lists by
local day, tenancy and the audit trail."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from db.models import Deal
from db.models.enums import Role
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import count_statements, pk, rows, scalar

FIELDS = """id type status startsAt endsAt durationMinutes location notes deal { id } cancelledAt
            cancelReason createdAt customer { id } user { id } vehicle { id stockNumber }"""

SCHEDULE = f"""
mutation($input: ScheduleAppointmentInput!) {{
  scheduleAppointment(input: $input) {{
    __typename
    ... on ScheduleAppointmentSuccess {{ appointment {{ {FIELDS} }} }}
    ... on ResourceNotFoundError {{ resourceType }}
    ... on Error {{ message code field }}
  }}
}}"""

RESCHEDULE = f"""
mutation($input: RescheduleAppointmentInput!) {{
  rescheduleAppointment(input: $input) {{
    __typename
    ... on RescheduleAppointmentSuccess {{ appointment {{ {FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

UPDATE = f"""
mutation($input: UpdateAppointmentInput!) {{
  updateAppointment(input: $input) {{
    __typename
    ... on UpdateAppointmentSuccess {{ appointment {{ {FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""


def status_mutation(name: str) -> str:
    type_name = name[0].upper() + name[1:]
    return f"""
mutation($input: {type_name}Input!) {{
  {name}(input: $input) {{
    __typename
    ... on {type_name}Success {{ appointment {{ {FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""


def hour(days: int = 30, at: int = 15) -> datetime:
    """A whole hour `days` from today, at `at` o'clock UTC."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days, hours=at)


def iso(moment: datetime) -> str:
    return moment.isoformat()


class World:
    """A tenant with a customer, a salesperson and a vehicle."""

    def __init__(self, tenant: Tenant, customer: int, staff: int, vehicle: int) -> None:
        self.tenant = tenant
        self.customer = customer
        self.staff = staff
        self.vehicle = vehicle

    @property
    def token(self) -> str:
        return self.tenant.token

    def input(self, **values: object) -> dict[str, object]:
        payload: dict[str, object] = {
            "customerId": to_global_id("Customer", self.customer),
            "userId": to_global_id("User", self.staff),
            "type": "TEST_DRIVE",
            "startsAt": iso(hour()),
            "durationMinutes": 60,
        }
        payload.update(values)
        return {k: v for k, v in payload.items() if v is not ...}


async def world(factory: Factory, **tenant_args: Any) -> World:
    tenant = await factory.tenant(**tenant_args)
    return World(
        tenant,
        await factory.customer(tenant),
        tenant.users[Role.SALESPERSON],
        await factory.vehicle(tenant),
    )


async def schedule(client: GraphQLClient, w: World, **values: object) -> dict[str, Any]:
    data = await client.data(SCHEDULE, {"input": w.input(**values)}, token=w.token)
    result = data["scheduleAppointment"]
    assert isinstance(result, dict)
    return result


async def scheduled(client: GraphQLClient, w: World, **values: object) -> dict[str, Any]:
    result = await schedule(client, w, **values)
    assert result["__typename"] == "ScheduleAppointmentSuccess", result
    appointment = result["appointment"]
    assert isinstance(appointment, dict)
    return appointment


async def appointment_count(engine: AsyncEngine, tenant: Tenant) -> object:
    return await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM appointments")


async def audit_actions(engine: AsyncEngine, tenant: Tenant) -> list[object]:
    found = await rows(
        engine,
        tenant.dealership_id,
        "SELECT action FROM audit_logs WHERE entity_type = 'Appointment' ORDER BY id",
    )
    return [r["action"] for r in found]


# --- scheduling ---------------------------------------------------------------------------


async def test_schedule_with_a_duration_or_an_end(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    w = await world(factory)
    start = hour()
    first = await scheduled(
        client,
        w,
        startsAt=iso(start),
        vehicleId=to_global_id("Vehicle", w.vehicle),
        location="  Showroom  ",
        notes="Wants the blue one",
    )
    assert first["status"] == "SCHEDULED"
    assert first["type"] == "TEST_DRIVE"
    assert datetime.fromisoformat(first["startsAt"]) == start
    assert datetime.fromisoformat(first["endsAt"]) == start + timedelta(hours=1)
    assert first["durationMinutes"] == 60
    assert first["location"] == "Showroom"
    assert first["customer"]["id"] == to_global_id("Customer", w.customer)
    assert first["user"]["id"] == to_global_id("User", w.staff)
    assert first["vehicle"]["id"] == to_global_id("Vehicle", w.vehicle)
    assert first["deal"] is None
    assert first["cancelledAt"] is None

    # An end given with another UTC offset is the same instant.
    eastern = timezone(timedelta(hours=-5))
    second = await scheduled(
        client,
        w,
        startsAt=iso(start + timedelta(hours=1)),
        durationMinutes=...,
        endsAt=iso((start + timedelta(hours=2, minutes=45)).astimezone(eastern)),
        type="DELIVERY",
    )
    assert second["durationMinutes"] == 105
    assert second["vehicle"] is None

    audit = await rows(
        engine,
        w.tenant.dealership_id,
        "SELECT action, entity_id, user_id, changes FROM audit_logs "
        "WHERE entity_type = 'Appointment' ORDER BY id",
    )
    assert [a["action"] for a in audit] == ["appointment.schedule", "appointment.schedule"]
    assert audit[0]["entity_id"] == pk(first["id"])
    assert audit[0]["user_id"] == w.tenant.users[Role.SALES_MANAGER]
    assert audit[0]["changes"]["status"] == {"before": None, "after": "scheduled"}


async def test_schedule_for_a_deal(client: GraphQLClient, factory: Factory) -> None:
    w = await world(factory)
    deal = Deal(
        dealership_id=w.tenant.dealership_id,
        deal_number="D-1",
        customer_id=w.customer,
        vehicle_id=w.vehicle,
        salesperson_id=w.staff,
    )

    async def work(session: AsyncSession) -> None:
        session.add(deal)

    await factory.run(w.tenant.dealership_id, work)
    appointment = await scheduled(client, w, dealId=to_global_id("Deal", deal.id))
    assert appointment["deal"] == {"id": to_global_id("Deal", deal.id)}


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"endsAt": "END+1h"}, ["input", "durationMinutes"], "AMBIGUOUS_END"),
        ({"durationMinutes": None}, ["input", "endsAt"], "REQUIRED"),
        ({"durationMinutes": 0}, ["input", "durationMinutes"], "INVALID_DURATION"),
        ({"durationMinutes": 12 * 60 + 1}, ["input", "durationMinutes"], "APPOINTMENT_TOO_LONG"),
        ({"durationMinutes": None, "endsAt": "END+0h"}, ["input", "endsAt"], "ENDS_BEFORE_START"),
        ({"durationMinutes": None, "endsAt": "END-1h"}, ["input", "endsAt"], "ENDS_BEFORE_START"),
        (
            {"durationMinutes": None, "endsAt": "END+13h"},
            ["input", "endsAt"],
            "APPOINTMENT_TOO_LONG",
        ),
        ({"startsAt": "FAR"}, ["input", "startsAt"], "TOO_FAR_AHEAD"),
        ({"startsAt": "NAIVE"}, ["input", "startsAt"], "TIME_ZONE_REQUIRED"),
        ({"durationMinutes": None, "endsAt": "NAIVE"}, ["input", "endsAt"], "TIME_ZONE_REQUIRED"),
        ({"startsAt": "0001-01-01T00:00:00+05:00"}, ["input", "startsAt"], "INVALID_DATE"),
        ({"startsAt": "9999-12-31T23:00:00+00:00"}, ["input", "startsAt"], "TOO_FAR_AHEAD"),
        ({"location": "x" * 201}, ["input", "location"], "TOO_LONG"),
        ({"notes": "x" * 5001}, ["input", "notes"], "TOO_LONG"),
        ({"customerId": "nonsense"}, ["input", "customerId"], "INVALID_ID"),
        ({"userId": "CUSTOMER"}, ["input", "userId"], "INVALID_ID"),
    ],
)
async def test_schedule_validation_errors_name_the_field(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: list[str],
    code: str,
) -> None:
    w = await world(factory)
    start = hour()
    replacements: dict[object, object] = {
        "END+1h": iso(start + timedelta(hours=1)),
        "END+0h": iso(start),
        "END-1h": iso(start - timedelta(hours=1)),
        "END+13h": iso(start + timedelta(hours=13)),
        "FAR": iso(datetime.now(UTC) + timedelta(days=2 * 366)),
        "CUSTOMER": to_global_id("Customer", w.customer),
        "NAIVE": (start + timedelta(hours=1)).replace(tzinfo=None).isoformat(),
    }
    payload = {k: replacements.get(v, v) if isinstance(v, str) else v for k, v in values.items()}
    result = await schedule(client, w, **{"startsAt": iso(start), **payload})
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    assert result["code"] == code
    assert await appointment_count(engine, w.tenant) == 0
    assert await audit_actions(engine, w.tenant) == []


async def test_twelve_hours_and_two_years_ahead_are_allowed(
    client: GraphQLClient, factory: Factory
) -> None:
    w = await world(factory)
    await scheduled(client, w, durationMinutes=12 * 60)
    await scheduled(client, w, startsAt=iso(datetime.now(UTC) + timedelta(days=700)))


async def test_unknown_ids_and_inactive_staff(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    w = await world(factory)
    for name, type_name in (
        ("customerId", "Customer"),
        ("userId", "User"),
        ("vehicleId", "Vehicle"),
        ("dealId", "Deal"),
    ):
        result = await schedule(client, w, **{name: to_global_id(type_name, 999_999_999)})
        assert result["__typename"] == "ResourceNotFoundError", name
        assert result["field"] == ["input", name]
        assert result["resourceType"] == type_name
    inactive = await factory.staff(w.tenant, active=False)
    result = await schedule(client, w, userId=to_global_id("User", inactive))
    assert result["__typename"] == "ValidationError"
    assert (result["code"], result["field"]) == ("USER_INACTIVE", ["input", "userId"])
    assert await appointment_count(engine, w.tenant) == 0


@pytest.mark.parametrize(
    ("name", "type_name"),
    [("customerId", "Customer"), ("userId", "User"), ("vehicleId", "Vehicle"), ("dealId", "Deal")],
)
async def test_another_dealerships_references_are_refused(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine, name: str, type_name: str
) -> None:
    mine, theirs = await world(factory), await world(factory)
    their_ids = {
        "Customer": theirs.customer,
        "User": theirs.staff,
        "Vehicle": theirs.vehicle,
    }
    if type_name == "Deal":
        deal = Deal(
            dealership_id=theirs.tenant.dealership_id,
            deal_number="D-9",
            customer_id=theirs.customer,
            vehicle_id=theirs.vehicle,
            salesperson_id=theirs.staff,
        )

        async def work(session: AsyncSession) -> None:
            session.add(deal)

        await factory.run(theirs.tenant.dealership_id, work)
        their_ids["Deal"] = deal.id
    result = await schedule(client, mine, **{name: to_global_id(type_name, their_ids[type_name])})
    assert result["__typename"] == "MultiTenantViolationError"
    assert result["field"] == ["input", name]
    assert await appointment_count(engine, mine.tenant) == 0
    assert await appointment_count(engine, theirs.tenant) == 0
    events = await rows(
        engine, mine.tenant.dealership_id, "SELECT event, details FROM security_audit_logs"
    )
    assert [e["event"] for e in events] == ["tenant.cross_tenant_write"]
    assert events[0]["details"]["entity"] == type_name


# --- double booking -----------------------------------------------------------------------


async def test_overlapping_bookings_of_one_staff_member_are_refused(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    w = await world(factory)
    start = hour()
    first = await scheduled(client, w, startsAt=iso(start), durationMinutes=60)
    for offset, minutes in ((0, 60), (30, 60), (-30, 45), (-60, 180), (15, 15)):
        clash = await schedule(
            client, w, startsAt=iso(start + timedelta(minutes=offset)), durationMinutes=minutes
        )
        assert clash["__typename"] == "ValidationError", (offset, minutes)
        assert clash["code"] == "APPOINTMENT_CONFLICT"
        assert clash["field"] == ["input", "startsAt"]
        assert str(pk(first["id"])) in clash["message"]
    # Back to back is fine, and so is another staff member at the same time.
    await scheduled(client, w, startsAt=iso(start + timedelta(hours=1)))
    await scheduled(client, w, startsAt=iso(start - timedelta(hours=1)))
    other = await factory.staff(w.tenant)
    await scheduled(client, w, startsAt=iso(start), userId=to_global_id("User", other))
    assert await appointment_count(engine, w.tenant) == 4


async def test_a_cancelled_appointment_frees_the_time(
    client: GraphQLClient, factory: Factory
) -> None:
    w = await world(factory)
    first = await scheduled(client, w)
    cancel = status_mutation("cancelAppointment")
    done = await client.data(cancel, {"input": {"id": first["id"]}}, token=w.token)
    assert done["cancelAppointment"]["__typename"] == "CancelAppointmentSuccess"
    await scheduled(client, w)


async def test_concurrent_double_booking_lets_exactly_one_through(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    """Two real transactions race for the same staff member's time; the row lock on the
    user makes the second wait and then see the first's booking."""
    w = await world(factory)
    other_customer = await factory.customer(w.tenant)
    for round_ in range(5):
        start = hour(days=10 + round_)
        results = await asyncio.gather(
            schedule(client, w, startsAt=iso(start), durationMinutes=60),
            schedule(
                client,
                w,
                startsAt=iso(start + timedelta(minutes=30)),
                durationMinutes=60,
                customerId=to_global_id("Customer", other_customer),
            ),
        )
        kinds = sorted(r["__typename"] for r in results)
        assert kinds == ["ScheduleAppointmentSuccess", "ValidationError"], results
        refused = next(r for r in results if r["__typename"] == "ValidationError")
        assert refused["code"] == "APPOINTMENT_CONFLICT"
    assert await appointment_count(engine, w.tenant) == 5
    assert await audit_actions(engine, w.tenant) == ["appointment.schedule"] * 5


async def test_concurrent_bookings_of_different_staff_both_succeed(
    client: GraphQLClient, factory: Factory
) -> None:
    w = await world(factory)
    other = await factory.staff(w.tenant)
    results = await asyncio.gather(
        schedule(client, w),
        schedule(client, w, userId=to_global_id("User", other)),
    )
    assert [r["__typename"] for r in results] == ["ScheduleAppointmentSuccess"] * 2


# --- reschedule and update ----------------------------------------------------------------


async def test_reschedule_moves_and_asks_for_confirmation_again(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    w = await world(factory)
    appointment = await scheduled(client, w)
    confirm = status_mutation("confirmAppointment")
    await client.data(confirm, {"input": {"id": appointment["id"]}}, token=w.token)
    later = hour(days=31, at=16)
    data = await client.data(
        RESCHEDULE,
        {"input": {"id": appointment["id"], "startsAt": iso(later), "durationMinutes": 30}},
        token=w.token,
    )
    moved = data["rescheduleAppointment"]
    assert moved["__typename"] == "RescheduleAppointmentSuccess"
    assert datetime.fromisoformat(moved["appointment"]["startsAt"]) == later
    assert moved["appointment"]["durationMinutes"] == 30
    assert moved["appointment"]["status"] == "SCHEDULED"
    # Moving onto its own former time and overlapping itself is fine.
    again = await client.data(
        RESCHEDULE,
        {
            "input": {
                "id": appointment["id"],
                "startsAt": iso(later + timedelta(minutes=15)),
                "durationMinutes": 30,
            }
        },
        token=w.token,
    )
    assert again["rescheduleAppointment"]["__typename"] == "RescheduleAppointmentSuccess"
    # The same times again: nothing to do, no audit row.
    same = await client.data(
        RESCHEDULE,
        {
            "input": {
                "id": appointment["id"],
                "startsAt": iso(later + timedelta(minutes=15)),
                "endsAt": iso(later + timedelta(minutes=45)),
            }
        },
        token=w.token,
    )
    assert same["rescheduleAppointment"]["__typename"] == "RescheduleAppointmentSuccess"
    assert await audit_actions(engine, w.tenant) == [
        "appointment.schedule",
        "appointment.confirm",
        "appointment.reschedule",
        "appointment.reschedule",
    ]


async def test_reschedule_refusals(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    w = await world(factory)
    a = await scheduled(client, w, startsAt=iso(hour(at=10)))
    b = await scheduled(client, w, startsAt=iso(hour(at=12)))

    async def reschedule(token: str, **input: object) -> dict[str, Any]:
        data = await client.data(RESCHEDULE, {"input": input}, token=token)
        result = data["rescheduleAppointment"]
        assert isinstance(result, dict)
        return result

    clash = await reschedule(w.token, id=b["id"], startsAt=iso(hour(at=10)), durationMinutes=30)
    assert (clash["code"], clash["field"]) == ("APPOINTMENT_CONFLICT", ["input", "startsAt"])
    bad = await reschedule(w.token, id=b["id"], startsAt=iso(hour(at=10)))
    assert (bad["code"], bad["field"]) == ("REQUIRED", ["input", "endsAt"])
    missing = await reschedule(
        w.token,
        id=to_global_id("Appointment", 999_999_999),
        startsAt=iso(hour()),
        durationMinutes=30,
    )
    assert missing["__typename"] == "ResourceNotFoundError"
    assert missing["field"] == ["input", "id"]

    cancel = status_mutation("cancelAppointment")
    await client.data(cancel, {"input": {"id": a["id"]}}, token=w.token)
    closed = await reschedule(w.token, id=a["id"], startsAt=iso(hour(at=8)), durationMinutes=30)
    assert (closed["code"], closed["field"]) == ("APPOINTMENT_CLOSED", ["input", "id"])
    assert "CANCELLED" in closed["message"]

    other = await world(factory)
    foreign = await reschedule(
        other.token, id=b["id"], startsAt=iso(hour(at=18)), durationMinutes=30
    )
    assert foreign["__typename"] == "MultiTenantViolationError"
    assert foreign["field"] == ["input", "id"]
    starts = await scalar(
        engine,
        w.tenant.dealership_id,
        "SELECT starts_at FROM appointments WHERE id = :id",
        id=pk(b["id"]),
    )
    assert starts == hour(at=12)
    assert await audit_actions(engine, w.tenant) == [
        "appointment.schedule",
        "appointment.schedule",
        "appointment.cancel",
    ]


async def test_update_details_and_reassign(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    w = await world(factory)
    appointment = await scheduled(
        client, w, vehicleId=to_global_id("Vehicle", w.vehicle), location="Lot B"
    )
    data = await client.data(
        UPDATE,
        {
            "input": {
                "id": appointment["id"],
                "type": "FINANCE_REVIEW",
                "notes": "Bring pay stubs",
                "location": None,
                "vehicleId": None,
            }
        },
        token=w.token,
    )
    updated = data["updateAppointment"]
    assert updated["__typename"] == "UpdateAppointmentSuccess"
    assert updated["appointment"]["type"] == "FINANCE_REVIEW"
    assert updated["appointment"]["notes"] == "Bring pay stubs"
    assert updated["appointment"]["location"] is None
    assert updated["appointment"]["vehicle"] is None

    # Reassigning checks the new person's calendar.
    busy = await factory.staff(w.tenant)
    await factory.appointment(
        w.tenant, customer_id=w.customer, user_id=busy, starts_at=hour(), minutes=30
    )
    clash = (
        await client.data(
            UPDATE,
            {"input": {"id": appointment["id"], "userId": to_global_id("User", busy)}},
            token=w.token,
        )
    )["updateAppointment"]
    assert (clash["code"], clash["field"]) == ("APPOINTMENT_CONFLICT", ["input", "userId"])
    free = await factory.staff(w.tenant)
    moved = (
        await client.data(
            UPDATE,
            {"input": {"id": appointment["id"], "userId": to_global_id("User", free)}},
            token=w.token,
        )
    )["updateAppointment"]
    assert moved["appointment"]["user"]["id"] == to_global_id("User", free)

    # Sending what is already there changes nothing and writes no audit row.
    same = (
        await client.data(
            UPDATE, {"input": {"id": appointment["id"], "type": "FINANCE_REVIEW"}}, token=w.token
        )
    )["updateAppointment"]
    assert same["__typename"] == "UpdateAppointmentSuccess"
    assert await audit_actions(engine, w.tenant) == [
        "appointment.schedule",
        "appointment.update",
        "appointment.update",
    ]


async def test_update_refusals(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    w, other = await world(factory), await world(factory)
    appointment = await scheduled(client, w)

    async def update(token: str, **input: object) -> dict[str, Any]:
        data = await client.data(UPDATE, {"input": {"id": appointment["id"], **input}}, token=token)
        result = data["updateAppointment"]
        assert isinstance(result, dict)
        return result

    for input, field, code in (
        ({"type": None}, ["input", "type"], "REQUIRED"),
        ({"userId": None}, ["input", "userId"], "REQUIRED"),
        ({"notes": "x" * 5001}, ["input", "notes"], "TOO_LONG"),
        ({"vehicleId": "bad"}, ["input", "vehicleId"], "INVALID_ID"),
    ):
        result = await update(w.token, **input)
        assert (result["__typename"], result["code"], result["field"]) == (
            "ValidationError",
            code,
            field,
        ), input
    inactive = await factory.staff(w.tenant, active=False)
    result = await update(w.token, userId=to_global_id("User", inactive))
    assert (result["code"], result["field"]) == ("USER_INACTIVE", ["input", "userId"])
    for input, field in (
        ({"vehicleId": to_global_id("Vehicle", other.vehicle)}, ["input", "vehicleId"]),
        ({"userId": to_global_id("User", other.staff)}, ["input", "userId"]),
    ):
        result = await update(w.token, **input)
        assert result["__typename"] == "MultiTenantViolationError", input
        assert result["field"] == field
    foreign = await update(other.token, notes="hijacked")
    assert foreign["__typename"] == "MultiTenantViolationError"
    assert foreign["field"] == ["input", "id"]

    confirm, complete = (
        status_mutation("confirmAppointment"),
        status_mutation("completeAppointment"),
    )
    await client.data(confirm, {"input": {"id": appointment["id"]}}, token=w.token)
    await client.data(complete, {"input": {"id": appointment["id"]}}, token=w.token)
    someone = await factory.staff(w.tenant)
    closed = await update(w.token, userId=to_global_id("User", someone))
    assert (closed["code"], closed["field"]) == ("APPOINTMENT_CLOSED", ["input", "userId"])
    # Notes on a completed appointment are still welcome.
    noted = await update(w.token, notes="Bought it")
    assert noted["appointment"]["notes"] == "Bought it"
    assert await audit_actions(engine, w.tenant) == [
        "appointment.schedule",
        "appointment.confirm",
        "appointment.complete",
        "appointment.update",
    ]


# --- status transitions -------------------------------------------------------------------


async def test_the_happy_paths_of_the_status_mutations(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    w = await world(factory)
    completed = await scheduled(client, w, startsAt=iso(hour(at=9)))
    cancelled = await scheduled(client, w, startsAt=iso(hour(at=11)))
    missed = await factory.appointment(
        w.tenant,
        customer_id=w.customer,
        user_id=w.staff,
        starts_at=datetime.now(UTC) - timedelta(hours=3),
        status="confirmed",
    )

    async def run(name: str, id: str, **extra: object) -> dict[str, Any]:
        data = await client.data(
            status_mutation(name), {"input": {"id": id, **extra}}, token=w.token
        )
        result = data[name]
        assert isinstance(result, dict)
        return result

    confirmed = await run("confirmAppointment", completed["id"])
    assert confirmed["appointment"]["status"] == "CONFIRMED"
    done = await run("completeAppointment", completed["id"])
    assert done["appointment"]["status"] == "COMPLETED"
    gone = await run("cancelAppointment", cancelled["id"], reason="  Car sold elsewhere ")
    assert gone["appointment"]["status"] == "CANCELLED"
    assert gone["appointment"]["cancelReason"] == "Car sold elsewhere"
    assert gone["appointment"]["cancelledAt"] is not None
    no_show = await run("markAppointmentNoShow", to_global_id("Appointment", missed))
    assert no_show["appointment"]["status"] == "NO_SHOW"
    assert await audit_actions(engine, w.tenant) == [
        "appointment.schedule",
        "appointment.schedule",
        "appointment.confirm",
        "appointment.complete",
        "appointment.cancel",
        "appointment.no_show",
    ]


@pytest.mark.parametrize(
    ("current", "mutation", "requested"),
    [
        ("scheduled", "completeAppointment", "COMPLETED"),
        ("scheduled", "markAppointmentNoShow", "NO_SHOW"),
        ("confirmed", "confirmAppointment", "CONFIRMED"),
        ("completed", "cancelAppointment", "CANCELLED"),
        ("completed", "confirmAppointment", "CONFIRMED"),
        ("cancelled", "confirmAppointment", "CONFIRMED"),
        ("cancelled", "cancelAppointment", "CANCELLED"),
        ("no_show", "completeAppointment", "COMPLETED"),
    ],
)
async def test_illegal_status_transitions_name_both_statuses(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    current: str,
    mutation: str,
    requested: str,
) -> None:
    w = await world(factory)
    appointment = await factory.appointment(
        w.tenant,
        customer_id=w.customer,
        user_id=w.staff,
        starts_at=datetime.now(UTC) - timedelta(hours=2),
        status=current,
    )
    data = await client.data(
        status_mutation(mutation),
        {"input": {"id": to_global_id("Appointment", appointment)}},
        token=w.token,
    )
    result = data[mutation]
    assert result["__typename"] == "ValidationError"
    assert result["code"] == "ILLEGAL_STATUS_TRANSITION"
    assert result["field"] == ["input", "id"]
    assert current.upper() in result["message"]
    assert requested in result["message"]
    status = await scalar(
        engine,
        w.tenant.dealership_id,
        "SELECT status FROM appointments WHERE id = :id",
        id=appointment,
    )
    assert status == current
    assert await audit_actions(engine, w.tenant) == []


async def test_status_mutation_refusals(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    w, other = await world(factory), await world(factory)
    appointment = await scheduled(client, w)
    confirm = status_mutation("confirmAppointment")
    await client.data(confirm, {"input": {"id": appointment["id"]}}, token=w.token)
    early = (
        await client.data(
            status_mutation("markAppointmentNoShow"),
            {"input": {"id": appointment["id"]}},
            token=w.token,
        )
    )["markAppointmentNoShow"]
    assert (early["code"], early["field"]) == ("APPOINTMENT_NOT_STARTED", ["input", "id"])
    long_reason = (
        await client.data(
            status_mutation("cancelAppointment"),
            {"input": {"id": appointment["id"], "reason": "x" * 501}},
            token=w.token,
        )
    )["cancelAppointment"]
    assert (long_reason["code"], long_reason["field"]) == ("TOO_LONG", ["input", "reason"])
    for name in ("confirmAppointment", "cancelAppointment", "completeAppointment"):
        foreign = (
            await client.data(
                status_mutation(name), {"input": {"id": appointment["id"]}}, token=other.token
            )
        )[name]
        assert foreign["__typename"] == "MultiTenantViolationError", name
        missing = (
            await client.data(
                status_mutation(name),
                {"input": {"id": to_global_id("Appointment", 999_999_999)}},
                token=w.token,
            )
        )[name]
        assert missing["__typename"] == "ResourceNotFoundError", name
    status = await scalar(
        engine,
        w.tenant.dealership_id,
        "SELECT status FROM appointments WHERE id = :id",
        id=pk(appointment["id"]),
    )
    assert status == "confirmed"


# --- reads --------------------------------------------------------------------------------


async def test_read_by_id_and_node_and_not_another_dealerships(
    client: GraphQLClient, factory: Factory
) -> None:
    w, other = await world(factory), await world(factory)
    appointment = await scheduled(client, w)
    query = """query($id: ID!) { appointment(id: $id) { id status }
                                 node(id: $id) { ... on Appointment { id } } }"""
    mine = await client.data(query, {"id": appointment["id"]}, token=w.token)
    assert mine["appointment"] == {"id": appointment["id"], "status": "SCHEDULED"}
    assert mine["node"] == {"id": appointment["id"]}
    theirs = await client.data(query, {"id": appointment["id"]}, token=other.token)
    assert theirs == {"appointment": None, "node": None}
    listed = await client.data("{ appointments { totalCount } }", token=other.token)
    assert listed["appointments"]["totalCount"] == 0


LIST = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: AppointmentFilter,
      $orderBy: AppointmentOrder) {
  appointments(first: $first, after: $after, last: $last, before: $before, filter: $filter,
               orderBy: $orderBy) {
    totalCount
    nodes { id startsAt notes }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def listed(client: GraphQLClient, w: World, **variables: object) -> dict[str, Any]:
    data = await client.data(LIST, variables, token=w.token)
    result = data["appointments"]
    assert isinstance(result, dict)
    return result


async def test_pagination_edges(client: GraphQLClient, factory: Factory) -> None:
    w = await world(factory)
    empty = await listed(client, w, first=10)
    assert empty["totalCount"] == 0
    assert empty["nodes"] == []
    assert empty["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }
    for n in range(5):
        await scheduled(client, w, startsAt=iso(hour(at=9 + n)), notes=f"#{n}")
    page1 = await listed(client, w, first=2)
    assert [a["notes"] for a in page1["nodes"]] == ["#0", "#1"]
    assert page1["totalCount"] == 5
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = await listed(client, w, first=2, after=page1["pageInfo"]["endCursor"])
    assert [a["notes"] for a in page2["nodes"]] == ["#2", "#3"]
    last = await listed(client, w, first=2, after=page2["pageInfo"]["endCursor"])
    assert [a["notes"] for a in last["nodes"]] == ["#4"]
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["pageInfo"]["hasPreviousPage"] is True
    back = await listed(client, w, last=2, before=last["pageInfo"]["startCursor"])
    assert [a["notes"] for a in back["nodes"]] == ["#2", "#3"]
    desc = await listed(client, w, first=1, orderBy={"field": "STARTS_AT", "direction": "DESC"})
    assert [a["notes"] for a in desc["nodes"]] == ["#4"]
    newest = await listed(client, w, first=5, orderBy={"field": "CREATED_AT", "direction": "DESC"})
    assert [a["notes"] for a in newest["nodes"]] == ["#4", "#3", "#2", "#1", "#0"]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": 101}, "PAGE_SIZE_OUT_OF_RANGE"),
        ({"first": 1, "last": 1}, "INVALID_ARGUMENTS"),
        ({"after": "garbage"}, "INVALID_CURSOR"),
        ({"filter": {"day": "2030-01-01", "timeZone": "Mars/Olympus"}}, "INVALID_TIME_ZONE"),
        ({"filter": {"timeZone": "America/Chicago"}}, "REQUIRES_DAY"),
        ({"filter": {"day": "9999-12-31"}}, "INVALID_DATE"),
        ({"filter": {"day": "0001-01-01", "timeZone": "Asia/Tokyo"}}, "INVALID_DATE"),
        (
            {"filter": {"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}},
            "INVALID_RANGE",
        ),
        ({"filter": {"from": "2030-01-02T00:00:00"}}, "TIME_ZONE_REQUIRED"),
        ({"filter": {"userId": "garbage"}}, "INVALID_ID"),
    ],
)
async def test_bad_list_arguments(
    client: GraphQLClient, factory: Factory, variables: dict[str, object], code: str
) -> None:
    w = await world(factory)
    result = await client.execute(LIST, variables, token=w.token)
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == code


async def test_filter_by_local_day_follows_the_time_zone(
    client: GraphQLClient, factory: Factory
) -> None:
    """The day daylight saving time starts in the US (the second Sunday of March) is 23
    hours long; the dealership is in Chicago."""
    year = datetime.now(UTC).year + 1
    march = date(year, 3, 1)
    day = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    w = await world(factory, time_zone="America/Chicago")
    moments = {
        "before": midnight + timedelta(hours=5, minutes=59),  # 23:59 the day before (CST)
        "first": midnight + timedelta(hours=6),  # 00:00 (CST)
        "last": midnight + timedelta(hours=28, minutes=59),  # 23:59 (CDT)
        "after": midnight + timedelta(hours=29),  # 00:00 the day after (CDT)
    }
    for note, moment in moments.items():
        await scheduled(client, w, startsAt=iso(moment), durationMinutes=1, notes=note)
    default = await listed(client, w, filter={"day": day.isoformat()})
    assert [a["notes"] for a in default["nodes"]] == ["first", "last"]
    assert default["totalCount"] == 2
    eastern = await listed(
        client, w, filter={"day": day.isoformat(), "timeZone": "America/New_York"}
    )
    # 00:00 on the 10th in New York is 05:00 UTC; the day ends at 04:00 UTC on the 11th.
    assert [a["notes"] for a in eastern["nodes"]] == ["before", "first"]
    utc = await listed(client, w, filter={"day": day.isoformat(), "timeZone": "UTC"})
    assert [a["notes"] for a in utc["nodes"]] == ["before", "first"]


async def test_filters(client: GraphQLClient, factory: Factory) -> None:
    w = await world(factory)
    other_staff = await factory.staff(w.tenant)
    other_customer = await factory.customer(w.tenant)
    a = await scheduled(client, w, startsAt=iso(hour(at=9)), notes="a")
    await scheduled(
        client,
        w,
        startsAt=iso(hour(at=11)),
        notes="b",
        type="DELIVERY",
        userId=to_global_id("User", other_staff),
    )
    await scheduled(
        client,
        w,
        startsAt=iso(hour(at=13)),
        notes="c",
        customerId=to_global_id("Customer", other_customer),
    )
    confirm = status_mutation("confirmAppointment")
    await client.data(confirm, {"input": {"id": a["id"]}}, token=w.token)

    async def notes(flt: dict[str, object]) -> list[str]:
        return [n["notes"] for n in (await listed(client, w, filter=flt))["nodes"]]

    assert await notes({"userId": to_global_id("User", other_staff)}) == ["b"]
    assert await notes({"customerId": to_global_id("Customer", other_customer)}) == ["c"]
    assert await notes({"status": ["CONFIRMED"]}) == ["a"]
    assert await notes({"status": ["SCHEDULED", "CONFIRMED"]}) == ["a", "b", "c"]
    assert await notes({"type": ["DELIVERY"]}) == ["b"]
    assert await notes({"type": ["DELIVERY"], "status": ["CONFIRMED"]}) == []
    assert await notes({"from": iso(hour(at=11)), "to": iso(hour(at=13))}) == ["b"]
    assert await notes({"from": iso(hour(at=11))}) == ["b", "c"]
    assert await notes({"to": iso(hour(at=11))}) == ["a"]


async def test_upcoming_appointments(client: GraphQLClient, factory: Factory) -> None:
    w = await world(factory)
    other = await factory.staff(w.tenant)
    now = datetime.now(UTC)
    make = factory.appointment
    past = await make(
        w.tenant, customer_id=w.customer, user_id=w.staff, starts_at=now - timedelta(hours=1)
    )
    soon = await make(
        w.tenant, customer_id=w.customer, user_id=w.staff, starts_at=now + timedelta(hours=1)
    )
    later = await make(
        w.tenant,
        customer_id=w.customer,
        user_id=other,
        starts_at=now + timedelta(hours=2),
        status="confirmed",
    )
    latest = await make(
        w.tenant, customer_id=w.customer, user_id=w.staff, starts_at=now + timedelta(days=3)
    )
    for status in ("cancelled", "completed", "no_show"):
        await make(
            w.tenant,
            customer_id=w.customer,
            user_id=w.staff,
            starts_at=now + timedelta(hours=5),
            status=status,
        )
    query = """query($userId: ID, $first: Int!) {
      upcomingAppointments(userId: $userId, first: $first) { id } }"""

    async def ids(**variables: object) -> list[int]:
        data = await client.data(query, {"first": 10, **variables}, token=w.token)
        return [pk(a["id"]) for a in data["upcomingAppointments"]]

    assert await ids() == [soon, later, latest]
    assert past not in await ids()
    assert await ids(first=2) == [soon, later]
    assert await ids(userId=to_global_id("User", w.staff)) == [soon, latest]
    assert await ids(userId=to_global_id("User", other)) == [later]
    bad = await client.execute(query, {"first": 0}, token=w.token)
    assert bad["errors"][0]["extensions"]["code"] == "PAGE_SIZE_OUT_OF_RANGE"
    foreign = await world(factory)
    data = await client.data(query, {"first": 10}, token=foreign.token)
    assert data["upcomingAppointments"] == []


async def test_customer_appointments_are_batched(
    client: GraphQLClient, factory: Factory, app: Starlette
) -> None:
    w = await world(factory)
    customers = [w.customer] + [await factory.customer(w.tenant) for _ in range(3)]
    for n, customer in enumerate(customers):
        for k in range(2):
            await scheduled(
                client,
                w,
                customerId=to_global_id("Customer", customer),
                startsAt=iso(hour(at=8 + 2 * n + k) - timedelta(minutes=30 * k)),
                vehicleId=to_global_id("Vehicle", w.vehicle),
                durationMinutes=30,
            )
    query = """{ customers { nodes { id appointments { startsAt
                  user { id } vehicle { id } customer { id } } } } }"""
    sync_engine = app.state.dealerdesk.engine.sync_engine
    with count_statements(sync_engine) as log:
        data = await client.data(query, token=w.token)
    for customer in data["customers"]["nodes"]:
        starts = [a["startsAt"] for a in customer["appointments"]]
        assert len(starts) == 2
        assert starts == sorted(starts, key=datetime.fromisoformat)
        assert {a["customer"]["id"] for a in customer["appointments"]} == {customer["id"]}
    # customers, their appointments, users, vehicles and customers again: one each,
    # however many customers and appointments there are.
    assert len(log.data_statements) <= 6, log.data_statements
