"""GraphQL inputs, results and errors of the deal lifecycle (one mutation per transition)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db.storage.deal_lifecycle import IllegalTransition
from schema.deal_creation import VehicleNotAvailableError
from schema.deals import Deal
from schema.enums import DealStatus
from schema.errors import (
    CommonErrors,
    Error,
    VersionConflictError,
    field_path,
    register_error,
)


@strawberry.type(description="The deal's current status does not allow this change.")
class IllegalStatusTransitionError(Error):
    current_status: DealStatus
    requested_status: DealStatus


register_error(
    IllegalTransition,
    lambda e: IllegalStatusTransitionError(
        message=e.message,
        code=e.code,
        field=field_path(e.field),
        current_status=e.current,
        requested_status=e.requested,
    ),
)


@strawberry.input
class DealTransitionInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The deal version you read.")


@strawberry.input
class CloseDealInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The deal version you read.")
    reason: str = strawberry.field(description="Why, e.g. bought elsewhere.")


@strawberry.input
class ChangeDealVehicleInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The deal version you read.")
    vehicle_id: strawberry.ID = strawberry.field(description="An AVAILABLE vehicle.")


@strawberry.type(description="The deal is now PENDING_APPROVAL.")
class SubmitDealForApprovalSuccess:
    deal: Deal


@strawberry.type(description="The deal is now APPROVED.")
class ApproveDealSuccess:
    deal: Deal


@strawberry.type(description="The deal is now CONTRACTED.")
class ContractDealSuccess:
    deal: Deal


@strawberry.type(description="The deal is DELIVERED and its vehicle SOLD.")
class DeliverDealSuccess:
    deal: Deal


@strawberry.type(description="The deal is LOST; its vehicle is available again.")
class MarkDealLostSuccess:
    deal: Deal


@strawberry.type(description="The deal is CANCELLED; its vehicle is available again.")
class CancelDealSuccess:
    deal: Deal


@strawberry.type(description="The sale is UNWOUND; its vehicle is available again.")
class UnwindDealSuccess:
    deal: Deal


@strawberry.type(description="The deal is OPEN again and holds its vehicle.")
class ReopenDealSuccess:
    deal: Deal


@strawberry.type(description="The deal holds the new vehicle; the old one was released.")
class ChangeDealVehicleSuccess:
    deal: Deal


# Every transition can answer with these, so a client can handle them all with one selection.
_Transition = (
    CommonErrors | VersionConflictError | IllegalStatusTransitionError | VehicleNotAvailableError
)
SubmitDealForApprovalResult = Annotated[
    SubmitDealForApprovalSuccess | _Transition, strawberry.union("SubmitDealForApprovalResult")
]
ApproveDealResult = Annotated[
    ApproveDealSuccess | _Transition, strawberry.union("ApproveDealResult")
]
ContractDealResult = Annotated[
    ContractDealSuccess | _Transition, strawberry.union("ContractDealResult")
]
DeliverDealResult = Annotated[
    DeliverDealSuccess | _Transition,
    strawberry.union("DeliverDealResult"),
]
MarkDealLostResult = Annotated[
    MarkDealLostSuccess | _Transition, strawberry.union("MarkDealLostResult")
]
CancelDealResult = Annotated[CancelDealSuccess | _Transition, strawberry.union("CancelDealResult")]
UnwindDealResult = Annotated[UnwindDealSuccess | _Transition, strawberry.union("UnwindDealResult")]
ReopenDealResult = Annotated[
    ReopenDealSuccess | _Transition,
    strawberry.union("ReopenDealResult"),
]
ChangeDealVehicleResult = Annotated[
    ChangeDealVehicleSuccess | CommonErrors | VersionConflictError | VehicleNotAvailableError,
    strawberry.union("ChangeDealVehicleResult"),
]
