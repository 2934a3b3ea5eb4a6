"""The deal lifecycle: one mutation per status transition, and changing a deal's vehicle."""

from __future__ import annotations

import strawberry

from db.storage import deal_lifecycle as storage
from db.storage.deal_lifecycle import Transition
from resolvers.context import Info
from resolvers.ids import decode_id
from resolvers.mutations import mutation, write
from resolvers.permissions import requires
from schema.base import from_row
from schema.deal_lifecycle import (
    ApproveDealResult,
    ApproveDealSuccess,
    CancelDealResult,
    CancelDealSuccess,
    ChangeDealVehicleInput,
    ChangeDealVehicleResult,
    ChangeDealVehicleSuccess,
    CloseDealInput,
    ContractDealResult,
    ContractDealSuccess,
    DealTransitionInput,
    DeliverDealResult,
    DeliverDealSuccess,
    MarkDealLostResult,
    MarkDealLostSuccess,
    ReopenDealResult,
    ReopenDealSuccess,
    SubmitDealForApprovalResult,
    SubmitDealForApprovalSuccess,
    UnwindDealResult,
    UnwindDealSuccess,
)
from schema.deals import Deal

INPUT = ("input",)


async def _move(
    info: Info, input: DealTransitionInput | CloseDealInput, change: Transition
) -> Deal:
    deal_id = decode_id(input.id, "Deal", field=(*INPUT, "id"))
    reason = input.reason if isinstance(input, CloseDealInput) else None
    row = await write(
        info,
        lambda session, actor: storage.transition(
            session, actor, deal_id=deal_id, version=input.version, change=change, reason=reason
        ),
    )
    return from_row(Deal, row)


@mutation
async def submit_deal_for_approval(
    info: Info, input: DealTransitionInput
) -> SubmitDealForApprovalResult:
    """OPEN -> PENDING_APPROVAL. The deal needs an active scenario."""
    return SubmitDealForApprovalSuccess(
        deal=await _move(info, input, Transition.SUBMIT_FOR_APPROVAL)
    )


@mutation
async def approve_deal(info: Info, input: DealTransitionInput) -> ApproveDealResult:
    """PENDING_APPROVAL -> APPROVED (managers)."""
    return ApproveDealSuccess(deal=await _move(info, input, Transition.APPROVE))


@mutation
async def contract_deal(info: Info, input: DealTransitionInput) -> ContractDealResult:
    """APPROVED -> CONTRACTED (managers). A financed or leased deal needs a selected lender
    decision."""
    return ContractDealSuccess(deal=await _move(info, input, Transition.CONTRACT))


@mutation
async def deliver_deal(info: Info, input: DealTransitionInput) -> DeliverDealResult:
    """CONTRACTED -> DELIVERED (managers); the vehicle becomes SOLD."""
    return DeliverDealSuccess(deal=await _move(info, input, Transition.DELIVER))


@mutation
async def mark_deal_lost(info: Info, input: CloseDealInput) -> MarkDealLostResult:
    """Any live deal -> LOST; the vehicle is available again (unless another deal holds it)."""
    return MarkDealLostSuccess(deal=await _move(info, input, Transition.MARK_LOST))


@mutation
async def cancel_deal(info: Info, input: CloseDealInput) -> CancelDealResult:
    """Any live deal -> CANCELLED; the vehicle is available again."""
    return CancelDealSuccess(deal=await _move(info, input, Transition.CANCEL))


@mutation
async def unwind_deal(info: Info, input: CloseDealInput) -> UnwindDealResult:
    """DELIVERED -> UNWOUND (managers): the sale is reversed and the vehicle available again."""
    return UnwindDealSuccess(deal=await _move(info, input, Transition.UNWIND))


@mutation
async def reopen_deal(info: Info, input: DealTransitionInput) -> ReopenDealResult:
    """LOST or CANCELLED -> OPEN, if its vehicle is still available (it is held again)."""
    return ReopenDealSuccess(deal=await _move(info, input, Transition.REOPEN))


@mutation
async def change_deal_vehicle(info: Info, input: ChangeDealVehicleInput) -> ChangeDealVehicleResult:
    """Put an editable deal on another vehicle: the new one is held, the old one released,
    in one transaction. Scenarios keep their figures; re-desk them for the new price."""
    deal_id = decode_id(input.id, "Deal", field=(*INPUT, "id"))
    vehicle_id = decode_id(input.vehicle_id, "Vehicle", field=(*INPUT, "vehicleId"))
    row = await write(
        info,
        lambda session, actor: storage.change_vehicle(
            session, actor, deal_id=deal_id, version=input.version, vehicle_id=vehicle_id
        ),
    )
    return ChangeDealVehicleSuccess(deal=from_row(Deal, row))


@strawberry.type
class DealLifecycleMutation:
    submit_deal_for_approval: SubmitDealForApprovalResult = strawberry.field(
        resolver=submit_deal_for_approval, extensions=requires("deal.write")
    )
    approve_deal: ApproveDealResult = strawberry.field(
        resolver=approve_deal, extensions=requires("deal.approve")
    )
    contract_deal: ContractDealResult = strawberry.field(
        resolver=contract_deal, extensions=requires("deal.approve")
    )
    deliver_deal: DeliverDealResult = strawberry.field(
        resolver=deliver_deal, extensions=requires("deal.approve")
    )
    mark_deal_lost: MarkDealLostResult = strawberry.field(
        resolver=mark_deal_lost, extensions=requires("deal.write")
    )
    cancel_deal: CancelDealResult = strawberry.field(
        resolver=cancel_deal, extensions=requires("deal.write")
    )
    unwind_deal: UnwindDealResult = strawberry.field(
        resolver=unwind_deal, extensions=requires("deal.unwind")
    )
    reopen_deal: ReopenDealResult = strawberry.field(
        resolver=reopen_deal, extensions=requires("deal.write")
    )
    change_deal_vehicle: ChangeDealVehicleResult = strawberry.field(
        resolver=change_deal_vehicle, extensions=requires("deal.write")
    )
