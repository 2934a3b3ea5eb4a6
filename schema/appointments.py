"""GraphQL types, inputs and results of appointments."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.storage.appointments import AppointmentOrderField
from resolvers.context import Info
from schema.enums import AppointmentStatus, AppointmentType
from schema.errors import CommonErrors
from schema.relay import Node, OrderDirection

if TYPE_CHECKING:
    from schema.customers import Customer
    from schema.deals import Deal
    from schema.users import User
    from schema.vehicles import Vehicle

strawberry.enum(AppointmentOrderField, description="What appointments can be sorted by.")


@strawberry.type(description="A customer's appointment with a staff member.")
class Appointment(Node):
    pk: strawberry.Private[int]
    customer_id: strawberry.Private[int]
    user_id: strawberry.Private[int]
    vehicle_id: strawberry.Private[int | None]
    deal_id: strawberry.Private[int | None]
    type: AppointmentType
    status: AppointmentStatus
    starts_at: datetime
    ends_at: datetime
    location: str | None
    notes: str | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Length of the appointment in whole minutes.")
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @strawberry.field
    async def customer(
        self, info: Info
    ) -> Annotated[Customer, strawberry.lazy("schema.customers")]:
        return await info.context.loaders.customer.load_one(self.customer_id)

    @strawberry.field(description="The staff member the customer meets.")
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")]:
        return await info.context.loaders.user.load_one(self.user_id)

    @strawberry.field(description="The vehicle the appointment is about, if any.")
    async def vehicle(
        self, info: Info
    ) -> Annotated[Vehicle, strawberry.lazy("schema.vehicles")] | None:
        if self.vehicle_id is None:
            return None
        return await info.context.loaders.vehicle.load(self.vehicle_id)

    @strawberry.field(description="The deal it belongs to, if any.")
    async def deal(self, info: Info) -> Annotated[Deal, strawberry.lazy("schema.deals")] | None:
        if self.deal_id is None:
            return None
        return await info.context.loaders.deal.load(self.deal_id)


@strawberry.input(description="Narrow an appointment list. All given conditions must hold.")
class AppointmentFilter:
    day: date | None = strawberry.field(
        default=None, description="Appointments starting on this local calendar day."
    )
    time_zone: str | None = strawberry.field(
        default=None,
        description=(
            "IANA time zone of `day`, e.g. America/Chicago; the dealership's time zone when "
            "omitted. Only together with `day`."
        ),
    )
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Appointments starting at or after this instant."
    )
    to: datetime | None = strawberry.field(
        default=None, description="Appointments starting before this instant."
    )
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="The staff member's User id."
    )
    customer_id: strawberry.ID | None = None
    status: list[AppointmentStatus] | None = strawberry.field(
        default=None, description="Any of these statuses (any status when omitted or empty)."
    )
    type: list[AppointmentType] | None = strawberry.field(
        default=None, description="Any of these types (any type when omitted or empty)."
    )


@strawberry.input
class AppointmentOrder:
    field: AppointmentOrderField = AppointmentOrderField.STARTS_AT
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input(
    description="Book an appointment. Give either `endsAt` or `durationMinutes` (at most 12 h)."
)
class ScheduleAppointmentInput:
    customer_id: strawberry.ID
    user_id: strawberry.ID = strawberry.field(description="The staff member to meet.")
    type: AppointmentType
    starts_at: datetime = strawberry.field(description="With its UTC offset.")
    ends_at: datetime | None = None
    duration_minutes: int | None = None
    vehicle_id: strawberry.ID | None = None
    deal_id: strawberry.ID | None = None
    location: str | None = None
    notes: str | None = None


@strawberry.input(description="Move an appointment. Give either `endsAt` or `durationMinutes`.")
class RescheduleAppointmentInput:
    id: strawberry.ID
    starts_at: datetime
    ends_at: datetime | None = None
    duration_minutes: int | None = None


@strawberry.input(description="Only the fields you send are changed; null clears a field.")
class UpdateAppointmentInput:
    id: strawberry.ID
    type: AppointmentType | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    user_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Reassign to another staff member (open appointments only).",
    )
    vehicle_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input
class ConfirmAppointmentInput:
    id: strawberry.ID


@strawberry.input
class CompleteAppointmentInput:
    id: strawberry.ID


@strawberry.input
class MarkAppointmentNoShowInput:
    id: strawberry.ID


@strawberry.input
class CancelAppointmentInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.type
class ScheduleAppointmentSuccess:
    appointment: Appointment


@strawberry.type
class RescheduleAppointmentSuccess:
    appointment: Appointment


@strawberry.type
class UpdateAppointmentSuccess:
    appointment: Appointment


@strawberry.type
class ConfirmAppointmentSuccess:
    appointment: Appointment


@strawberry.type
class CompleteAppointmentSuccess:
    appointment: Appointment


@strawberry.type
class MarkAppointmentNoShowSuccess:
    appointment: Appointment


@strawberry.type
class CancelAppointmentSuccess:
    appointment: Appointment


ScheduleAppointmentResult = Annotated[
    ScheduleAppointmentSuccess | CommonErrors, strawberry.union("ScheduleAppointmentResult")
]
RescheduleAppointmentResult = Annotated[
    RescheduleAppointmentSuccess | CommonErrors, strawberry.union("RescheduleAppointmentResult")
]
UpdateAppointmentResult = Annotated[
    UpdateAppointmentSuccess | CommonErrors, strawberry.union("UpdateAppointmentResult")
]
ConfirmAppointmentResult = Annotated[
    ConfirmAppointmentSuccess | CommonErrors, strawberry.union("ConfirmAppointmentResult")
]
CompleteAppointmentResult = Annotated[
    CompleteAppointmentSuccess | CommonErrors, strawberry.union("CompleteAppointmentResult")
]
MarkAppointmentNoShowResult = Annotated[
    MarkAppointmentNoShowSuccess | CommonErrors, strawberry.union("MarkAppointmentNoShowResult")
]
CancelAppointmentResult = Annotated[
    CancelAppointmentSuccess | CommonErrors, strawberry.union("CancelAppointmentResult")
]
