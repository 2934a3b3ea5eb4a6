"""Appointments: the calendar of the dealership's staff, with double bookings refused.

A staff member is never booked twice for overlapping times. Every write that places an
appointment on someone's calendar first locks that person's user row (FOR NO KEY UPDATE:
it serialises bookings of the same person without blocking foreign-key checks of other
writes) and only then looks for an overlap, so two concurrent bookings cannot both pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TypedDict

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import NotFound, ValidationFailed
from db.models import Appointment, Customer, Deal, DealershipSettings, User, Vehicle
from db.models.enums import AppointmentStatus, AppointmentType
from db.storage import pagination
from db.storage.audit import Actor, flush_and_record, snapshot
from db.storage.ownership import load_owned, require_owned
from db.validation import int_in_range, not_null, optional_text, utc_instant, zone_info

ENTITY = "Appointment"

MAX_LENGTH = timedelta(hours=12)
MAX_YEARS_AHEAD = 2
MAX_LOCATION = 200
MAX_NOTES = 5000
MAX_REASON = 500

# Appointments still on the calendar: they can be rescheduled or reassigned.
OPEN_STATUSES = frozenset({AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED})

# What each status mutation may do: scheduled -> confirmed -> completed | no_show, and
# scheduled | confirmed -> cancelled. Completed, no-show and cancelled are final.
TRANSITIONS: dict[AppointmentStatus, frozenset[AppointmentStatus]] = {
    AppointmentStatus.SCHEDULED: frozenset(
        {AppointmentStatus.CONFIRMED, AppointmentStatus.CANCELLED}
    ),
    AppointmentStatus.CONFIRMED: frozenset(
        {AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED}
    ),
}

_ACTIONS: dict[AppointmentStatus, str] = {
    AppointmentStatus.CONFIRMED: "appointment.confirm",
    AppointmentStatus.COMPLETED: "appointment.complete",
    AppointmentStatus.NO_SHOW: "appointment.no_show",
    AppointmentStatus.CANCELLED: "appointment.cancel",
}


class AppointmentOrderField(StrEnum):
    STARTS_AT = "starts_at"
    CREATED_AT = "created_at"


@dataclass(frozen=True)
class AppointmentFilter:
    """All given conditions must hold. `day` selects appointments starting on that local
    day in `time_zone` (the dealership's time zone when None); `starts_from` (inclusive)
    and `starts_to` (exclusive) bound the start instant."""

    day: date | None = None
    time_zone: str | None = None
    starts_from: datetime | None = None
    starts_to: datetime | None = None
    user_id: int | None = None
    customer_id: int | None = None
    statuses: tuple[AppointmentStatus, ...] = ()
    types: tuple[AppointmentType, ...] = ()


@dataclass(frozen=True)
class When:
    """When an appointment takes place: a start and either an end or a duration."""

    starts_at: datetime
    ends_at: datetime | None = None
    duration_minutes: int | None = None


class AppointmentFields(TypedDict, total=False):
    """What updateAppointment may change; absent keys are left as they are."""

    type: AppointmentType | None
    location: str | None
    notes: str | None
    user_id: int | None
    vehicle_id: int | None


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _years_later(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def resolve_times(when: When, *, path: tuple[str, ...], now: datetime) -> tuple[datetime, datetime]:
    """(start, end) of `when`, validated: the end after the start, at most 12 hours long,
    starting at most two years from now."""
    starts = utc_instant(when.starts_at, field=(*path, "startsAt"))
    if starts > _years_later(now, MAX_YEARS_AHEAD):
        raise ValidationFailed(
            f"appointments can be booked at most {MAX_YEARS_AHEAD} years ahead",
            field=(*path, "startsAt"),
            code="TOO_FAR_AHEAD",
        )
    if when.ends_at is not None and when.duration_minutes is not None:
        raise ValidationFailed(
            "send either endsAt or durationMinutes, not both",
            field=(*path, "durationMinutes"),
            code="AMBIGUOUS_END",
        )
    if when.duration_minutes is not None:
        field = (*path, "durationMinutes")
        if when.duration_minutes <= 0:
            raise ValidationFailed(
                "the duration must be at least one minute", field=field, code="INVALID_DURATION"
            )
        if when.duration_minutes > MAX_LENGTH.total_seconds() // 60:
            raise ValidationFailed(
                "an appointment lasts at most 12 hours", field=field, code="APPOINTMENT_TOO_LONG"
            )
        ends = starts + timedelta(minutes=when.duration_minutes)
    elif when.ends_at is not None:
        field = (*path, "endsAt")
        ends = utc_instant(when.ends_at, field=field)
        if ends <= starts:
            raise ValidationFailed(
                "the appointment must end after it starts", field=field, code="ENDS_BEFORE_START"
            )
        if ends - starts > MAX_LENGTH:
            raise ValidationFailed(
                "an appointment lasts at most 12 hours", field=field, code="APPOINTMENT_TOO_LONG"
            )
    else:
        raise ValidationFailed(
            "send endsAt or durationMinutes", field=(*path, "endsAt"), code="REQUIRED"
        )
    return starts, ends


def clean_fields(fields: AppointmentFields, *, path: tuple[str, ...]) -> AppointmentFields:
    clean: AppointmentFields = {}
    if "type" in fields:
        clean["type"] = not_null(fields["type"], field=(*path, "type"))
    if "user_id" in fields:
        clean["user_id"] = not_null(fields["user_id"], field=(*path, "userId"))
    if "location" in fields:
        clean["location"] = optional_text(
            fields["location"], field=(*path, "location"), max_length=MAX_LOCATION
        )
    if "notes" in fields:
        clean["notes"] = optional_text(
            fields["notes"], field=(*path, "notes"), max_length=MAX_NOTES
        )
    if "vehicle_id" in fields:
        clean["vehicle_id"] = fields["vehicle_id"]
    return clean


async def dealership_time_zone(session: AsyncSession) -> str:
    """The caller's dealership's time zone (row-level security picks its settings row)."""
    name = await session.scalar(select(DealershipSettings.time_zone))
    return name or "UTC"


async def day_bounds(
    session: AsyncSession, day: date, time_zone: str | None
) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as instants; 23 or 25 hours long on the days
    daylight saving time begins or ends."""
    field = ("filter", "timeZone")
    name = time_zone if time_zone is not None else await dealership_time_zone(session)
    zone = zone_info(name, field=field)
    try:
        start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    except OverflowError:
        raise ValidationFailed(
            "the day is out of range", field=("filter", "day"), code="INVALID_DATE"
        ) from None
    return start, end


async def _filtered(session: AsyncSession, filter: AppointmentFilter) -> Select[Appointment]:
    stmt = select(Appointment)
    conditions: list[ColumnElement[bool]] = []
    if filter.time_zone is not None and filter.day is None:
        raise ValidationFailed(
            "timeZone only applies together with day",
            field=("filter", "timeZone"),
            code="REQUIRES_DAY",
        )
    if filter.day is not None:
        start, end = await day_bounds(session, filter.day, filter.time_zone)
        conditions += [Appointment.starts_at >= start, Appointment.starts_at < end]
    if filter.starts_from is not None:
        starts_from = utc_instant(filter.starts_from, field=("filter", "from"))
        conditions.append(Appointment.starts_at >= starts_from)
    if filter.starts_to is not None:
        starts_to = utc_instant(filter.starts_to, field=("filter", "to"))
        if filter.starts_from is not None and starts_to <= filter.starts_from:
            raise ValidationFailed(
                "`to` must be later than `from`", field=("filter", "to"), code="INVALID_RANGE"
            )
        conditions.append(Appointment.starts_at < starts_to)
    if filter.user_id is not None:
        conditions.append(Appointment.user_id == filter.user_id)
    if filter.customer_id is not None:
        conditions.append(Appointment.customer_id == filter.customer_id)
    if filter.statuses:
        conditions.append(Appointment.status.in_(filter.statuses))
    if filter.types:
        conditions.append(Appointment.type.in_(filter.types))
    return stmt.where(*conditions) if conditions else stmt


def _sort_keys(order: AppointmentOrderField, descending: bool) -> list[pagination.SortKey]:
    columns: dict[AppointmentOrderField, pagination.SortColumn] = {
        AppointmentOrderField.STARTS_AT: Appointment.starts_at,
        AppointmentOrderField.CREATED_AT: Appointment.created_at,
    }
    return [
        pagination.SortKey(columns[order], descending),
        pagination.SortKey(Appointment.id, descending),
    ]


async def list_appointments(
    session: AsyncSession,
    *,
    filter: AppointmentFilter,
    order: AppointmentOrderField = AppointmentOrderField.STARTS_AT,
    descending: bool = False,
    page: pagination.PageArgs,
) -> pagination.Page[Appointment]:
    stmt = await _filtered(session, filter)
    return await pagination.paginate(session, stmt, _sort_keys(order, descending), page)


async def count_appointments(session: AsyncSession, *, filter: AppointmentFilter) -> int:
    return await pagination.count(session, await _filtered(session, filter))


async def upcoming_appointments(
    session: AsyncSession, *, user_id: int | None, limit: int, now: datetime | None = None
) -> list[Appointment]:
    """Open appointments (scheduled or confirmed) starting now or later, soonest first."""
    int_in_range(
        limit,
        field=("first",),
        low=1,
        high=pagination.MAX_PAGE_SIZE,
        code="PAGE_SIZE_OUT_OF_RANGE",
        what="`first`",
    )
    stmt = (
        select(Appointment)
        .where(Appointment.starts_at >= _now(now), Appointment.status.in_(OPEN_STATUSES))
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(limit)
    )
    if user_id is not None:
        stmt = stmt.where(Appointment.user_id == user_id)
    return list((await session.scalars(stmt)).all())


async def _lock_staff(session: AsyncSession, user_id: int, *, field: tuple[str, ...]) -> User:
    """The staff member's user row, locked until the transaction ends: bookings of the same
    person queue up here, so the overlap check that follows sees every committed booking."""
    stmt = (
        select(User)
        .where(User.id == user_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    user = await session.scalar(stmt)
    if user is None:
        await require_owned(session, User, user_id, entity="User", field=field)
        raise NotFound("User", user_id, field=field)
    if not user.is_active:
        raise ValidationFailed(
            f"{user.first_name} {user.last_name} is deactivated and cannot take appointments",
            field=field,
            code="USER_INACTIVE",
        )
    return user


async def _check_free(
    session: AsyncSession,
    *,
    user_id: int,
    starts: datetime,
    ends: datetime,
    exclude_id: int | None,
    user_field: tuple[str, ...],
    field: tuple[str, ...],
) -> None:
    """Lock the staff member `user_id` (_lock_staff; `user_field` names them), then refuse a
    booking that overlaps another of their non-cancelled appointments (`field`)."""
    user = await _lock_staff(session, user_id, field=user_field)
    stmt = (
        select(Appointment)
        .where(
            Appointment.user_id == user.id,
            Appointment.status != AppointmentStatus.CANCELLED,
            Appointment.starts_at < ends,
            Appointment.ends_at > starts,
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(1)
    )
    if exclude_id is not None:
        stmt = stmt.where(Appointment.id != exclude_id)
    clash = await session.scalar(stmt)
    if clash is not None:
        raise ValidationFailed(
            f"{user.first_name} {user.last_name} already has appointment {clash.id} from "
            f"{clash.starts_at.isoformat()} to {clash.ends_at.isoformat()}",
            field=field,
            code="APPOINTMENT_CONFLICT",
        )


async def schedule_appointment(
    session: AsyncSession,
    actor: Actor,
    *,
    customer_id: int,
    user_id: int,
    type: AppointmentType,
    when: When,
    vehicle_id: int | None = None,
    deal_id: int | None = None,
    location: str | None = None,
    notes: str | None = None,
    path: tuple[str, ...],
    now: datetime | None = None,
) -> Appointment:
    starts, ends = resolve_times(when, path=path, now=_now(now))
    clean = clean_fields({"location": location, "notes": notes}, path=path)
    await require_owned(
        session, Customer, customer_id, entity="Customer", field=(*path, "customerId")
    )
    if vehicle_id is not None:
        await require_owned(
            session, Vehicle, vehicle_id, entity="Vehicle", field=(*path, "vehicleId")
        )
    if deal_id is not None:
        await require_owned(session, Deal, deal_id, entity="Deal", field=(*path, "dealId"))
    await _check_free(
        session,
        user_id=user_id,
        starts=starts,
        ends=ends,
        exclude_id=None,
        user_field=(*path, "userId"),
        field=(*path, "startsAt"),
    )
    appointment = Appointment(
        dealership_id=actor.dealership_id,
        customer_id=customer_id,
        user_id=user_id,
        vehicle_id=vehicle_id,
        deal_id=deal_id,
        type=type,
        status=AppointmentStatus.SCHEDULED,
        starts_at=starts,
        ends_at=ends,
        location=clean.get("location"),
        notes=clean.get("notes"),
    )
    session.add(appointment)
    await flush_and_record(
        session, actor, appointment, action="appointment.schedule", entity_type=ENTITY, before=None
    )
    return appointment


def _require_open(appointment: Appointment, *, doing: str, field: tuple[str, ...]) -> None:
    if appointment.status not in OPEN_STATUSES:
        raise ValidationFailed(
            f"a {appointment.status.name} appointment cannot be {doing}",
            field=field,
            code="APPOINTMENT_CLOSED",
        )


async def reschedule_appointment(
    session: AsyncSession,
    actor: Actor,
    *,
    appointment_id: int,
    when: When,
    path: tuple[str, ...],
    now: datetime | None = None,
) -> Appointment:
    """Move an open appointment. A confirmed one goes back to scheduled: the customer
    confirmed the old time, not the new one."""
    starts, ends = resolve_times(when, path=path, now=_now(now))
    appointment = await load_owned(
        session, Appointment, appointment_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    _require_open(appointment, doing="rescheduled", field=(*path, "id"))
    if appointment.starts_at == starts and appointment.ends_at == ends:
        return appointment
    await _check_free(
        session,
        user_id=appointment.user_id,
        starts=starts,
        ends=ends,
        exclude_id=appointment.id,
        user_field=(*path, "id"),
        field=(*path, "startsAt"),
    )
    before = snapshot(appointment)
    appointment.starts_at = starts
    appointment.ends_at = ends
    appointment.status = AppointmentStatus.SCHEDULED
    await flush_and_record(
        session,
        actor,
        appointment,
        action="appointment.reschedule",
        entity_type=ENTITY,
        before=before,
    )
    return appointment


async def update_appointment(
    session: AsyncSession,
    actor: Actor,
    *,
    appointment_id: int,
    fields: AppointmentFields,
    path: tuple[str, ...],
) -> Appointment:
    """Change details; reassigning to another staff member needs an open appointment and
    a free slot in that person's calendar."""
    clean = clean_fields(fields, path=path)
    appointment = await load_owned(
        session, Appointment, appointment_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    vehicle_id = clean.get("vehicle_id")
    if vehicle_id is not None and vehicle_id != appointment.vehicle_id:
        await require_owned(
            session, Vehicle, vehicle_id, entity="Vehicle", field=(*path, "vehicleId")
        )
    user_id = clean.get("user_id")
    if user_id is not None and user_id != appointment.user_id:
        _require_open(appointment, doing="reassigned", field=(*path, "userId"))
        await _check_free(
            session,
            user_id=user_id,
            starts=appointment.starts_at,
            ends=appointment.ends_at,
            exclude_id=appointment.id,
            user_field=(*path, "userId"),
            field=(*path, "userId"),
        )
    before = snapshot(appointment)
    for key, value in clean.items():
        setattr(appointment, key, value)
    if snapshot(appointment) == before:
        return appointment
    await flush_and_record(
        session, actor, appointment, action="appointment.update", entity_type=ENTITY, before=before
    )
    return appointment


def _transition_error(
    current: AppointmentStatus, requested: AppointmentStatus, *, field: tuple[str, ...]
) -> ValidationFailed:
    allowed = sorted(s.name for s in TRANSITIONS.get(current, frozenset()))
    then = (
        f"from {current.name} it can only become {' or '.join(allowed)}"
        if allowed
        else f"{current.name} is final"
    )
    return ValidationFailed(
        f"an appointment that is {current.name} cannot become {requested.name}: {then}",
        field=field,
        code="ILLEGAL_STATUS_TRANSITION",
    )


async def change_status(
    session: AsyncSession,
    actor: Actor,
    *,
    appointment_id: int,
    status: AppointmentStatus,
    reason: str | None = None,
    path: tuple[str, ...],
    now: datetime | None = None,
) -> Appointment:
    """Confirm, complete, mark as no-show or cancel (with an optional reason)."""
    moment = _now(now)
    clean_reason = optional_text(reason, field=(*path, "reason"), max_length=MAX_REASON)
    appointment = await load_owned(
        session, Appointment, appointment_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    if status not in TRANSITIONS.get(appointment.status, frozenset()):
        raise _transition_error(appointment.status, status, field=(*path, "id"))
    if status is AppointmentStatus.NO_SHOW and appointment.starts_at > moment:
        raise ValidationFailed(
            "the appointment has not started yet, so the customer cannot have missed it",
            field=(*path, "id"),
            code="APPOINTMENT_NOT_STARTED",
        )
    before = snapshot(appointment)
    appointment.status = status
    if status is AppointmentStatus.CANCELLED:
        appointment.cancelled_at = moment
        appointment.cancel_reason = clean_reason
    await flush_and_record(
        session, actor, appointment, action=_ACTIONS[status], entity_type=ENTITY, before=before
    )
    return appointment
