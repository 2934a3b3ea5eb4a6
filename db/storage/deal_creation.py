"""createDeal: the whole multi-step creation of a deal as one atomic unit of work.

The steps run in this order inside one transaction (retried as a whole on transient
failures, with a 10 second deadline); any refusal rolls everything back:

 1. validate the input, before touching the database (validate_request);
 2. the caller's dealership exists and is active;
 3. the salesperson exists, is active and is the dealership's (someone other than the
    caller only for callers who may assign deals, deal.assign);
 4. the existing customer (the dealership's own), or a new one (reusing a customer of the
    dealership with the same e-mail instead of making a duplicate);
 5. the deal number YYYY-MMDD-XXXX of the dealership's local day;
 6. the deal;
 7. the vehicle row locked (SELECT ... FOR UPDATE) and checked available;
 8. the vehicle set to pending;
 9. the default scenario (the dealership's default deal type, term and fees);
10. the scenario made the deal's active one;
11. the audit row.

`checkpoint(n)` runs after step n: a seam the fault-injection tests use; it does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from db.models import Customer, Deal, Dealership, DealershipSettings, Vehicle
from db.models.enums import DealStatus, VehicleStatus
from db.storage import scenarios
from db.storage.audit import Actor, record_change, snapshot
from db.storage.customers import CustomerFields, clean_new_customer
from db.storage.deal_numbers import local_day, next_deal_number
from db.storage.deals import MAX_NOTES, SALESPERSON_ROLES, require_staff
from db.storage.ownership import bump_version, load_owned, require_owned
from db.storage.vehicles import live_deal_number, violated_constraint
from db.transactions import Isolation, TxOptions
from db.validation import optional_text

# The deadline of the whole unit of work, retries excluded.
CREATE_DEAL_TX = TxOptions(isolation=Isolation.READ_COMMITTED, timeout=10.0, max_attempts=5)

LIVE_VEHICLE_INDEX = "uq_deals_live_vehicle"
DEAL_NUMBER_CONSTRAINT = "uq_deals_dealership_id_deal_number"
VEHICLE_FOREIGN_KEY = "fk_deals_vehicle_id"
ASSIGN = "deal.assign"
# A deal number taken outside dealerdesk (an import, say) is skipped this many times.
NUMBER_COLLISION_ATTEMPTS = 3


class VehicleNotAvailable(DomainError):
    code = "VEHICLE_NOT_AVAILABLE"

    def __init__(self, message: str, *, status: VehicleStatus, held_by: str | None = None) -> None:
        super().__init__(message, field=("input", "vehicleId"))
        self.status = status
        self.held_by = held_by


class DuplicateDealNumber(DomainError):
    code = "DUPLICATE_DEAL_NUMBER"

    def __init__(self, message: str, *, deal_number: str | None) -> None:
        super().__init__(message)
        self.deal_number = deal_number


class DealershipInactive(DomainError):
    code = "DEALERSHIP_INACTIVE"


@dataclass(frozen=True)
class DealRequest:
    """A validated createDeal input (step 1 done)."""

    vehicle_id: int
    salesperson_id: int
    customer_id: int | None
    new_customer: CustomerFields | None
    scenario: scenarios.ScenarioFields
    notes: str | None


def validate_request(
    *,
    vehicle_id: int,
    salesperson_id: int,
    customer_id: int | None,
    new_customer: CustomerFields | None,
    scenario: scenarios.ScenarioFields,
    notes: str | None,
) -> DealRequest:
    """Step 1: everything that can be checked without the database. Phones come back in
    E.164, e-mail normalised."""
    if (customer_id is None) == (new_customer is None):
        raise ValidationFailed(
            "give either customerId (an existing customer) or customer (a new one)",
            field=("input", "customerId"),
            code="CUSTOMER_REQUIRED" if customer_id is None else "CUSTOMER_AMBIGUOUS",
        )
    customer: CustomerFields | None = None
    if new_customer is not None:
        path = ("input", "customer")
        customer = clean_new_customer(new_customer, path=path)
        if not customer.get("email") and not customer.get("phone"):
            raise ValidationFailed(
                "give an e-mail address or a phone number to reach the customer",
                field=(*path, "email"),
                code="CONTACT_REQUIRED",
            )
    scenarios.clean_fields(scenario, path=("input", "scenario"), creating=True)
    clean_notes = optional_text(notes, field=("input", "notes"), max_length=MAX_NOTES)
    return DealRequest(
        vehicle_id=vehicle_id,
        salesperson_id=salesperson_id,
        customer_id=customer_id,
        new_customer=customer,
        scenario=scenario,
        notes=clean_notes,
    )


@dataclass(frozen=True)
class CreatedDeal:
    deal: Deal
    customer_created: bool


async def checkpoint(step: int) -> None:
    """Runs after each step; tests replace it to force a failure at that point."""


async def create_deal(
    session: AsyncSession, actor: Actor, request: DealRequest, *, now: datetime | None = None
) -> CreatedDeal:
    """Steps 2-11 (see the module docstring), in the caller's transaction."""
    await checkpoint(1)
    moment = now or datetime.now(UTC)

    # 2. The caller's dealership, active.
    dealership = await session.scalar(
        select(Dealership).where(Dealership.id == actor.dealership_id)
    )
    if dealership is None:
        raise NotFound("Dealership", actor.dealership_id)
    if not dealership.is_active:
        raise DealershipInactive(f"{dealership.name} is not active; it cannot open deals")
    settings = await session.get(DealershipSettings, actor.dealership_id)
    if settings is None:
        raise NotFound("DealershipSettings", actor.dealership_id)
    await checkpoint(2)

    # 3. The salesperson: the dealership's, active, selling; another than the caller only
    # if they may hand deals to others.
    if request.salesperson_id != actor.user_id and not actor.may(ASSIGN):
        raise PermissionDenied(
            f"you can open deals only for yourself ({ASSIGN} gives a deal to someone else)",
            field=("input", "salespersonId"),
        )
    await require_staff(
        session,
        request.salesperson_id,
        roles=SALESPERSON_ROLES,
        what="salesperson",
        code="INVALID_SALESPERSON",
        field=("input", "salespersonId"),
    )
    await checkpoint(3)

    # 4. The customer.
    customer, customer_created = await _customer(session, actor, request)
    await checkpoint(4)

    # 5. The deal number of the dealership's local day (the counter row stays locked until
    # commit, so concurrent creations queue here and a rollback returns the number).
    day = local_day(moment, settings.time_zone)
    deal_number = await next_deal_number(session, dealership_id=actor.dealership_id, day=day)
    await checkpoint(5)

    # 6. The deal.
    deal = await _insert_deal(session, actor, request, customer.id, deal_number, day)
    await checkpoint(6)

    # 7. The vehicle, locked and available.
    vehicle = await load_owned(
        session,
        Vehicle,
        request.vehicle_id,
        entity="Vehicle",
        field=("input", "vehicleId"),
        for_update=True,
    )
    if vehicle.status is not VehicleStatus.AVAILABLE:
        raise VehicleNotAvailable(
            f"vehicle {vehicle.stock_number} is {vehicle.status.value.replace('_', ' ')}, "
            "not available",
            status=vehicle.status,
            held_by=await live_deal_number(session, vehicle.id, except_deal=deal.id),
        )
    await checkpoint(7)

    # 8. The vehicle is held by the deal.
    vehicle_before = vehicle.status
    vehicle.status = VehicleStatus.PENDING
    bump_version(vehicle)
    await session.flush()
    await checkpoint(8)

    # 9. The default scenario.
    scenario = await scenarios.build_scenario(
        session,
        actor,
        deal=deal,
        fields=request.scenario,
        path=("input", "scenario"),
        default_type=settings.default_deal_type,
    )
    await checkpoint(9)

    # 10. The active scenario.
    deal.active_scenario_id = scenario.id
    await session.flush()
    await checkpoint(10)

    # 11. One audit row for the whole creation.
    after = snapshot(deal)
    after["vehicle_status"] = VehicleStatus.PENDING.value
    after["scenario"] = snapshot(scenario)
    after["customer_created"] = customer_created
    await record_change(
        session,
        actor,
        action="deal.create",
        entity_type="Deal",
        entity_id=deal.id,
        before={"vehicle_status": vehicle_before.value},
        after=after,
    )
    await checkpoint(11)
    return CreatedDeal(deal=deal, customer_created=customer_created)


async def _customer(
    session: AsyncSession, actor: Actor, request: DealRequest
) -> tuple[Customer, bool]:
    if request.customer_id is not None:
        existing = await load_owned(
            session,
            Customer,
            request.customer_id,
            entity="Customer",
            field=("input", "customerId"),
        )
        if existing.archived_at is not None:
            raise ValidationFailed(
                "this customer is archived; restore them first",
                field=("input", "customerId"),
                code="CUSTOMER_ARCHIVED",
            )
        return existing, False
    fields = request.new_customer
    assert fields is not None
    email = fields.get("email")
    if email:
        # Two deals for one new customer at once must not make two customers: the e-mail's
        # lock serialises them, and the second finds the first's customer.
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"customer-email:{actor.dealership_id}:{email.lower()}"},
        )
        found = await session.scalar(
            select(Customer)
            .where(Customer.email_key == email.lower(), Customer.archived_at.is_(None))
            .order_by(Customer.id)
            .limit(1)
        )
        if found is not None:
            return found, False
    customer = Customer(dealership_id=actor.dealership_id, **fields)
    session.add(customer)
    await session.flush()
    return customer, True


async def _insert_deal(
    session: AsyncSession,
    actor: Actor,
    request: DealRequest,
    customer_id: int,
    deal_number: str,
    day: date,
) -> Deal:
    number = deal_number
    for _ in range(NUMBER_COLLISION_ATTEMPTS):
        deal = Deal(
            dealership_id=actor.dealership_id,
            deal_number=number,
            customer_id=customer_id,
            vehicle_id=request.vehicle_id,
            salesperson_id=request.salesperson_id,
            status=DealStatus.OPEN,
            notes=request.notes,
        )
        try:
            async with session.begin_nested():
                session.add(deal)
                await session.flush()
        except IntegrityError as exc:
            constraint = violated_constraint(exc)
            if constraint == LIVE_VEHICLE_INDEX:
                held_by = await live_deal_number(session, request.vehicle_id, except_deal=None)
                raise VehicleNotAvailable(
                    "another deal already holds this vehicle",
                    status=VehicleStatus.PENDING,
                    held_by=held_by,
                ) from None
            if constraint == VEHICLE_FOREIGN_KEY:
                # Not the dealership's vehicle (or none at all): say which.
                await require_owned(
                    session,
                    Vehicle,
                    request.vehicle_id,
                    entity="Vehicle",
                    field=("input", "vehicleId"),
                )
            if constraint != DEAL_NUMBER_CONSTRAINT:
                raise
            # Only a number written outside dealerdesk can collide: take the next one.
            number = await next_deal_number(session, dealership_id=actor.dealership_id, day=day)
            continue
        return deal
    raise DuplicateDealNumber(
        f"deal number {number} is already in use and so were the {NUMBER_COLLISION_ATTEMPTS - 1} "
        "numbers before it; deal numbers were probably written outside dealerdesk",
        deal_number=number,
    )
