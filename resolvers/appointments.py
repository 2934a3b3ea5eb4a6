"""Appointment queries and mutations."""

from __future__ import annotations

from typing import cast

import strawberry

from db.models.enums import AppointmentStatus
from db.storage import appointments as storage
from db.storage.pagination import PageArgs
from resolvers.context import Info
from resolvers.ids import decode_id, decode_optional_id
from resolvers.mutations import mutation, write
from resolvers.pagination import to_connection
from resolvers.permissions import requires
from schema.appointments import (
    Appointment,
    AppointmentFilter,
    AppointmentOrder,
    CancelAppointmentInput,
    CancelAppointmentResult,
    CancelAppointmentSuccess,
    CompleteAppointmentInput,
    CompleteAppointmentResult,
    CompleteAppointmentSuccess,
    ConfirmAppointmentInput,
    ConfirmAppointmentResult,
    ConfirmAppointmentSuccess,
    MarkAppointmentNoShowInput,
    MarkAppointmentNoShowResult,
    MarkAppointmentNoShowSuccess,
    RescheduleAppointmentInput,
    RescheduleAppointmentResult,
    RescheduleAppointmentSuccess,
    ScheduleAppointmentInput,
    ScheduleAppointmentResult,
    ScheduleAppointmentSuccess,
    UpdateAppointmentInput,
    UpdateAppointmentResult,
    UpdateAppointmentSuccess,
)
from schema.base import from_row
from schema.inputs import provided
from schema.relay import Connection, OrderDirection

INPUT = ("input",)
FILTER = ("filter",)


async def appointment(info: Info, id: strawberry.ID) -> Appointment | None:
    """An appointment of your dealership by id."""
    return await info.context.loaders.appointment.load(decode_id(id, "Appointment", field=("id",)))


def _criteria(flt: AppointmentFilter) -> storage.AppointmentFilter:
    return storage.AppointmentFilter(
        day=flt.day,
        time_zone=flt.time_zone,
        starts_from=flt.from_,
        starts_to=flt.to,
        user_id=decode_optional_id(flt.user_id, "User", field=(*FILTER, "userId")),
        customer_id=decode_optional_id(flt.customer_id, "Customer", field=(*FILTER, "customerId")),
        statuses=tuple(flt.status or ()),
        types=tuple(flt.type or ()),
    )


async def appointments(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: AppointmentFilter | None = None,
    order_by: AppointmentOrder | None = None,
) -> Connection[Appointment]:
    """Your dealership's appointments, soonest first unless `orderBy` says otherwise."""
    criteria = _criteria(filter or AppointmentFilter())
    order = order_by or AppointmentOrder()
    async with info.context.db.session() as session:
        page = await storage.list_appointments(
            session,
            filter=criteria,
            order=order.field,
            descending=order.direction is OrderDirection.DESC,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
    return to_connection(
        info,
        page,
        lambda row: from_row(Appointment, row),
        lambda session: storage.count_appointments(session, filter=criteria),
    )


async def upcoming_appointments(
    info: Info, user_id: strawberry.ID | None = None, first: int = 10
) -> list[Appointment]:
    """Scheduled and confirmed appointments starting now or later, soonest first; of one
    staff member when `userId` is given."""
    staff = decode_optional_id(user_id, "User", field=("userId",))
    async with info.context.db.session() as session:
        rows = await storage.upcoming_appointments(session, user_id=staff, limit=first)
    return [from_row(Appointment, row) for row in rows]


def _when(
    input: ScheduleAppointmentInput | RescheduleAppointmentInput,
) -> storage.When:
    return storage.When(
        starts_at=input.starts_at, ends_at=input.ends_at, duration_minutes=input.duration_minutes
    )


@mutation
async def schedule_appointment(
    info: Info, input: ScheduleAppointmentInput
) -> ScheduleAppointmentResult:
    """Book a customer with a staff member. Refused with APPOINTMENT_CONFLICT when the staff
    member already has a (not cancelled) appointment at an overlapping time."""
    customer_id = decode_id(input.customer_id, "Customer", field=(*INPUT, "customerId"))
    user_id = decode_id(input.user_id, "User", field=(*INPUT, "userId"))
    vehicle_id = decode_optional_id(input.vehicle_id, "Vehicle", field=(*INPUT, "vehicleId"))
    deal_id = decode_optional_id(input.deal_id, "Deal", field=(*INPUT, "dealId"))
    when = _when(input)
    row = await write(
        info,
        lambda session, actor: storage.schedule_appointment(
            session,
            actor,
            customer_id=customer_id,
            user_id=user_id,
            type=input.type,
            when=when,
            vehicle_id=vehicle_id,
            deal_id=deal_id,
            location=input.location,
            notes=input.notes,
            path=INPUT,
        ),
    )
    return ScheduleAppointmentSuccess(appointment=from_row(Appointment, row))


@mutation
async def reschedule_appointment(
    info: Info, input: RescheduleAppointmentInput
) -> RescheduleAppointmentResult:
    """Move a scheduled or confirmed appointment; a confirmed one needs confirming again."""
    appointment_id = decode_id(input.id, "Appointment", field=(*INPUT, "id"))
    when = _when(input)
    row = await write(
        info,
        lambda session, actor: storage.reschedule_appointment(
            session, actor, appointment_id=appointment_id, when=when, path=INPUT
        ),
    )
    return RescheduleAppointmentSuccess(appointment=from_row(Appointment, row))


@mutation
async def update_appointment(info: Info, input: UpdateAppointmentInput) -> UpdateAppointmentResult:
    appointment_id = decode_id(input.id, "Appointment", field=(*INPUT, "id"))
    values = provided(input, exclude=("id",))
    if "user_id" in values:
        values["user_id"] = decode_optional_id(
            cast(str | None, values["user_id"]), "User", field=(*INPUT, "userId")
        )
    if "vehicle_id" in values:
        values["vehicle_id"] = decode_optional_id(
            cast(str | None, values["vehicle_id"]), "Vehicle", field=(*INPUT, "vehicleId")
        )
    fields = cast(storage.AppointmentFields, values)
    row = await write(
        info,
        lambda session, actor: storage.update_appointment(
            session, actor, appointment_id=appointment_id, fields=fields, path=INPUT
        ),
    )
    return UpdateAppointmentSuccess(appointment=from_row(Appointment, row))


async def _change_status(
    info: Info, id: strawberry.ID, status: AppointmentStatus, reason: str | None = None
) -> Appointment:
    appointment_id = decode_id(id, "Appointment", field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.change_status(
            session,
            actor,
            appointment_id=appointment_id,
            status=status,
            reason=reason,
            path=INPUT,
        ),
    )
    return from_row(Appointment, row)


@mutation
async def confirm_appointment(
    info: Info, input: ConfirmAppointmentInput
) -> ConfirmAppointmentResult:
    """The customer confirmed: SCHEDULED -> CONFIRMED."""
    appointment = await _change_status(info, input.id, AppointmentStatus.CONFIRMED)
    return ConfirmAppointmentSuccess(appointment=appointment)


@mutation
async def complete_appointment(
    info: Info, input: CompleteAppointmentInput
) -> CompleteAppointmentResult:
    """The appointment took place: CONFIRMED -> COMPLETED."""
    appointment = await _change_status(info, input.id, AppointmentStatus.COMPLETED)
    return CompleteAppointmentSuccess(appointment=appointment)


@mutation
async def mark_appointment_no_show(
    info: Info, input: MarkAppointmentNoShowInput
) -> MarkAppointmentNoShowResult:
    """The customer did not come: CONFIRMED -> NO_SHOW, once the start time has passed."""
    appointment = await _change_status(info, input.id, AppointmentStatus.NO_SHOW)
    return MarkAppointmentNoShowSuccess(appointment=appointment)


@mutation
async def cancel_appointment(info: Info, input: CancelAppointmentInput) -> CancelAppointmentResult:
    """SCHEDULED or CONFIRMED -> CANCELLED, which frees the staff member's time."""
    appointment = await _change_status(
        info, input.id, AppointmentStatus.CANCELLED, reason=input.reason
    )
    return CancelAppointmentSuccess(appointment=appointment)


@strawberry.type
class AppointmentQuery:
    appointment: Appointment | None = strawberry.field(
        resolver=appointment, extensions=requires("appointment.read")
    )
    appointments: Connection[Appointment] = strawberry.field(
        resolver=appointments, extensions=requires("appointment.read")
    )
    upcoming_appointments: list[Appointment] = strawberry.field(
        resolver=upcoming_appointments, extensions=requires("appointment.read")
    )


@strawberry.type
class AppointmentMutation:
    schedule_appointment: ScheduleAppointmentResult = strawberry.field(
        resolver=schedule_appointment, extensions=requires("appointment.write")
    )
    reschedule_appointment: RescheduleAppointmentResult = strawberry.field(
        resolver=reschedule_appointment, extensions=requires("appointment.write")
    )
    update_appointment: UpdateAppointmentResult = strawberry.field(
        resolver=update_appointment, extensions=requires("appointment.write")
    )
    confirm_appointment: ConfirmAppointmentResult = strawberry.field(
        resolver=confirm_appointment, extensions=requires("appointment.write")
    )
    complete_appointment: CompleteAppointmentResult = strawberry.field(
        resolver=complete_appointment, extensions=requires("appointment.write")
    )
    mark_appointment_no_show: MarkAppointmentNoShowResult = strawberry.field(
        resolver=mark_appointment_no_show, extensions=requires("appointment.write")
    )
    cancel_appointment: CancelAppointmentResult = strawberry.field(
        resolver=cancel_appointment, extensions=requires("appointment.write")
    )
