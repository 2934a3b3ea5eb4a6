"""The deal lifecycle: status transitions, each atomic with the vehicle's status, and moving
a deal to another vehicle.

    open -> pending_approval -> approved -> contracted -> delivered -> unwound
    open | pending_approval | approved | contracted -> lost | cancelled -> open (reopen)

Moving a deal on from approved (contract, deliver) needs deal.approve, unwinding deal.unwind
(each mutation declares it); closing an approved or contracted deal (lost, cancelled) is
also past approval, so it too needs deal.approve - a rule of the deal's status, checked here.

The vehicle is pending while a live deal holds it, sold once delivered, and available again
when its deal is lost, cancelled or unwound - unless another live deal holds it. Every write
locks the deal first and then its vehicle(s), in id order, so writers never deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import DomainError, PermissionDenied, ValidationFailed
from db.models import Deal, DealScenario, Vehicle
from db.models.deals import LIVE_DEAL_STATUSES
from db.models.enums import DealStatus, DealType, VehicleStatus
from db.storage.audit import Actor, record_change, snapshot
from db.storage.deal_creation import LIVE_VEHICLE_INDEX, VehicleNotAvailable
from db.storage.deals import ENTITY, lock_editable_deal
from db.storage.ownership import bump_version, check_version, load_owned
from db.storage.vehicles import live_deal_number, violated_constraint
from db.validation import optional_text

LIVE = frozenset(LIVE_DEAL_STATUSES)
# Statuses past approval: only managers (deal.approve) change them.
PAST_APPROVAL = frozenset({DealStatus.APPROVED, DealStatus.CONTRACTED})
APPROVE = "deal.approve"


class Transition(StrEnum):
    SUBMIT_FOR_APPROVAL = "submit_for_approval"
    APPROVE = "approve"
    CONTRACT = "contract"
    DELIVER = "deliver"
    MARK_LOST = "mark_lost"
    CANCEL = "cancel"
    UNWIND = "unwind"
    REOPEN = "reopen"


@dataclass(frozen=True)
class Rule:
    sources: frozenset[DealStatus]
    target: DealStatus
    needs_reason: bool = False


RULES: dict[Transition, Rule] = {
    Transition.SUBMIT_FOR_APPROVAL: Rule(frozenset({DealStatus.OPEN}), DealStatus.PENDING_APPROVAL),
    Transition.APPROVE: Rule(frozenset({DealStatus.PENDING_APPROVAL}), DealStatus.APPROVED),
    Transition.CONTRACT: Rule(frozenset({DealStatus.APPROVED}), DealStatus.CONTRACTED),
    Transition.DELIVER: Rule(frozenset({DealStatus.CONTRACTED}), DealStatus.DELIVERED),
    Transition.MARK_LOST: Rule(LIVE, DealStatus.LOST, needs_reason=True),
    Transition.CANCEL: Rule(LIVE, DealStatus.CANCELLED, needs_reason=True),
    Transition.UNWIND: Rule(frozenset({DealStatus.DELIVERED}), DealStatus.UNWOUND, True),
    Transition.REOPEN: Rule(frozenset({DealStatus.LOST, DealStatus.CANCELLED}), DealStatus.OPEN),
}


class IllegalTransition(DomainError):
    code = "ILLEGAL_STATUS_TRANSITION"

    def __init__(self, current: DealStatus, requested: DealStatus, allowed: frozenset[DealStatus]):
        names = ", ".join(sorted(s.value.upper() for s in allowed))
        super().__init__(
            f"a deal that is {current.value.upper()} cannot become {requested.value.upper()} "
            f"(only from {names})",
            field=("input", "id"),
        )
        self.current = current
        self.requested = requested


async def _lock_vehicle(session: AsyncSession, vehicle_id: int) -> Vehicle:
    return (
        await session.scalars(select(Vehicle).where(Vehicle.id == vehicle_id).with_for_update())
    ).one()


async def release_vehicle(session: AsyncSession, vehicle: Vehicle, *, deal_id: int) -> None:
    """Make the (locked) vehicle available again, unless another live deal holds it."""
    if vehicle.status not in (VehicleStatus.PENDING, VehicleStatus.SOLD):
        return
    if await live_deal_number(session, vehicle.id, except_deal=deal_id) is not None:
        return
    vehicle.status = VehicleStatus.AVAILABLE
    vehicle.sold_at = None
    bump_version(vehicle)


async def _hold_vehicle(session: AsyncSession, vehicle: Vehicle, *, deal_id: int) -> None:
    """The (locked) vehicle becomes pending for this deal, or VehicleNotAvailable."""
    if vehicle.status is not VehicleStatus.AVAILABLE:
        raise VehicleNotAvailable(
            f"vehicle {vehicle.stock_number} is {vehicle.status.value.replace('_', ' ')}, "
            "not available",
            status=vehicle.status,
        )
    vehicle.status = VehicleStatus.PENDING
    bump_version(vehicle)


async def _flush_holding(session: AsyncSession, vehicle: Vehicle) -> None:
    """Flush a deal that now holds `vehicle`; the live-vehicle index refuses a second holder."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc) == LIVE_VEHICLE_INDEX:
            raise VehicleNotAvailable(
                "another deal already holds this vehicle", status=vehicle.status
            ) from None
        raise


async def _require_ready(session: AsyncSession, deal: Deal, transition: Transition) -> None:
    """What a deal needs before it moves on."""
    if transition in (Transition.SUBMIT_FOR_APPROVAL, Transition.CONTRACT) and (
        deal.active_scenario_id is None
    ):
        raise ValidationFailed(
            "choose the deal's active scenario first (setActiveScenario)",
            field=("input", "id"),
            code="NO_ACTIVE_SCENARIO",
        )
    if transition is Transition.CONTRACT:
        assert deal.active_scenario_id is not None
        scenario = await session.scalar(
            select(DealScenario).where(DealScenario.id == deal.active_scenario_id)
        )
        if (
            scenario is not None
            and scenario.type is not DealType.CASH
            and deal.selected_decision_id is None
        ):
            raise ValidationFailed(
                "a financed or leased deal needs a lender's approval before contracting "
                "(selectLenderDecision)",
                field=("input", "id"),
                code="LENDER_DECISION_REQUIRED",
            )


async def transition(
    session: AsyncSession,
    actor: Actor,
    *,
    deal_id: int,
    version: int,
    change: Transition,
    reason: str | None = None,
) -> Deal:
    rule = RULES[change]
    clean_reason = optional_text(reason, field=("input", "reason"), max_length=500)
    if clean_reason is None and rule.needs_reason:
        raise ValidationFailed(
            "say why (e.g. bought elsewhere, credit declined)",
            field=("input", "reason"),
            code="REQUIRED",
        )
    deal = await load_owned(
        session, Deal, deal_id, entity=ENTITY, field=("input", "id"), for_update=True
    )
    check_version(deal, version, entity=ENTITY)
    if deal.status not in rule.sources:
        raise IllegalTransition(deal.status, rule.target, rule.sources)
    if deal.status in PAST_APPROVAL and not actor.may(APPROVE):
        raise PermissionDenied(
            f"deal {deal.deal_number} is {deal.status.value}: only a manager ({APPROVE}) can "
            f"make it {rule.target.value}",
            field=("input", "id"),
        )
    await _require_ready(session, deal, change)

    before = snapshot(deal)
    vehicle = await _lock_vehicle(session, deal.vehicle_id)
    before["vehicle_status"] = vehicle.status.value
    now = datetime.now(UTC)
    deal.status = rule.target
    if rule.target is DealStatus.CONTRACTED:
        deal.contracted_at = now
    elif rule.target is DealStatus.DELIVERED:
        if vehicle.status is not VehicleStatus.PENDING:
            raise VehicleNotAvailable(
                f"vehicle {vehicle.stock_number} is {vehicle.status.value}, not held by this deal",
                status=vehicle.status,
            )
        deal.delivered_at = now
        vehicle.status = VehicleStatus.SOLD
        vehicle.sold_at = now
        bump_version(vehicle)
    elif rule.target in (DealStatus.LOST, DealStatus.CANCELLED, DealStatus.UNWOUND):
        deal.closed_at = now
        deal.lost_reason = clean_reason
        await release_vehicle(session, vehicle, deal_id=deal.id)
    elif rule.target is DealStatus.OPEN:  # reopen: the deal takes its vehicle back
        await _hold_vehicle(session, vehicle, deal_id=deal.id)
        deal.closed_at = None
        deal.lost_reason = None
    bump_version(deal)
    await _flush_holding(session, vehicle)
    after = snapshot(deal)
    after["vehicle_status"] = vehicle.status.value
    await record_change(
        session,
        actor,
        action=f"deal.{change.value}",
        entity_type=ENTITY,
        entity_id=deal.id,
        before=before,
        after=after,
    )
    return deal


async def change_vehicle(
    session: AsyncSession, actor: Actor, *, deal_id: int, version: int, vehicle_id: int
) -> Deal:
    """Move a deal to another vehicle: the old one is released and the new one held, in one
    transaction. Scenarios keep their figures (re-desk them for the new price)."""
    deal = await lock_editable_deal(session, deal_id, field=("input", "id"), version=version)
    if deal.vehicle_id == vehicle_id:
        return deal
    await load_owned(session, Vehicle, vehicle_id, entity="Vehicle", field=("input", "vehicleId"))
    old_id = deal.vehicle_id
    # Both vehicles locked in id order, as every writer does: no deadlocks between them.
    locked = {v: await _lock_vehicle(session, v) for v in sorted((old_id, vehicle_id))}
    old, new = locked[old_id], locked[vehicle_id]
    before = snapshot(deal)
    before["vehicle_status"] = old.status.value
    await _hold_vehicle(session, new, deal_id=deal.id)
    deal.vehicle_id = new.id
    bump_version(deal)
    await _flush_holding(session, new)
    await release_vehicle(session, old, deal_id=deal.id)
    await session.flush()
    after = snapshot(deal)
    after["vehicle_status"] = new.status.value
    after["released_vehicle_status"] = old.status.value
    await record_change(
        session,
        actor,
        action="deal.change_vehicle",
        entity_type=ENTITY,
        entity_id=deal.id,
        before=before,
        after=after,
    )
    return deal
