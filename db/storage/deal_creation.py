"""createDeal: the whole multi-step creation of a deal as one atomic unit of work.

The eleven steps of a creation run inside one transaction (retried as a whole on transient
failures, with a 10 second deadline); any refusal rolls everything back. They run in this
order, so that the locks every creation of a dealership needs are taken last:

 1. validate the input, before touching the database (validate_request);
 2. the caller's dealership exists and is active (read with its settings);
 3. the salesperson exists, is active and is the dealership's (someone other than the
    caller only for callers who may assign deals, deal.assign);
 7. and 8. the vehicle locked, checked available and set to pending - one update that only
    succeeds on an available vehicle (its row lock queues racers for one vehicle, and all
    but the first then find it taken, before they have written anything);
 4. the existing customer (the dealership's own), or a new one (reusing a customer of the
    dealership with the same e-mail instead of making a duplicate);
 6. the deal, under a placeholder number;
 9. and 10. the default scenario (priced from the dealership's deal type, term, tax and
    fees) and the deal pointing at it as its active one - one statement;
 5. and 11. the deal number YYYY-MMDD-XXXX of the dealership's local day given to the deal,
    and the audit row - one statement, and the commit follows at once.

Only that last statement takes locks other creations of the dealership wait for - the day's
deal-number counter row and the head of the dealership's audit chain - so they queue for one
statement and the commit, not for the whole unit of work (taking the number at step 5, as
written first, held them for all of it: about 40 creations a second at most).

`checkpoint(n)` runs once step n is done (steps done in one statement: after it, in
number order): a seam the fault-injection tests use; it does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import (
    BindParameter,
    Text,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, make_transient_to_detached

from db.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from db.models import (
    AuditLog,
    Customer,
    Deal,
    Dealership,
    DealershipSettings,
    DealScenario,
    Vehicle,
)
from db.models.enums import DealStatus, VehicleStatus
from db.storage import scenarios
from db.storage.audit import Actor, diff, snapshot
from db.storage.customers import CustomerFields, clean_new_customer
from db.storage.deal_numbers import NEXT_NUMBER, check_sequence, format_deal_number, local_day
from db.storage.deals import MAX_NOTES, SALESPERSON_ROLES, require_staff
from db.storage.ownership import load_owned
from db.storage.vehicles import live_deal_number, violated_constraint
from db.transactions import Isolation, TxOptions
from db.types import JSONObject
from db.validation import optional_text

# The deadline of the whole unit of work, retries excluded.
CREATE_DEAL_TX = TxOptions(isolation=Isolation.READ_COMMITTED, timeout=10.0, max_attempts=5)

LIVE_VEHICLE_INDEX = "uq_deals_live_vehicle"
ZERO = Decimal(0)
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

    # 2. The caller's dealership, active, and its settings.
    settings = await _dealership_settings(session, actor)
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

    # 7., 8. The vehicle, locked and held.
    list_price, msrp = await _hold_vehicle(session, request.vehicle_id)
    await checkpoint(7)
    await checkpoint(8)

    # 4. The customer.
    customer, customer_created = await _customer(session, actor, request)
    await checkpoint(4)

    # The first scenario, priced (written at step 9).
    pricing = await scenarios.pricing_of(session, settings, list_price=list_price, msrp=msrp)
    terms = await scenarios.plan_scenario(
        session,
        fields=request.scenario,
        path=("input", "scenario"),
        default_type=settings.default_deal_type,
        pricing=pricing,
        trade=(ZERO, ZERO),  # a new deal has no trade-ins yet
    )
    scenario_values = scenarios.scenario_values(terms, scenarios.figures_of(terms, pricing))

    # 6. The deal, numbered last (below).
    deal_values: dict[str, object] = {
        "dealership_id": actor.dealership_id,
        "customer_id": customer.id,
        "vehicle_id": request.vehicle_id,
        "salesperson_id": request.salesperson_id,
        "status": DealStatus.OPEN,
        "notes": request.notes,
    }
    deal_values["id"] = await _insert_deal(session, deal_values)
    await checkpoint(6)

    # 9., 10. The first scenario, made the deal's active one.
    scenario_values |= {"dealership_id": actor.dealership_id, "deal_id": deal_values["id"]}
    scenario_values["id"] = deal_values["active_scenario_id"] = await _insert_active_scenario(
        session, scenario_values
    )
    await checkpoint(9)
    await checkpoint(10)

    # 5., 11. The number and the audit row, then the commit at once.
    changes = diff(
        {"vehicle_status": VehicleStatus.AVAILABLE.value},
        {
            **snapshot(Deal(**deal_values, version=1)),
            "vehicle_status": VehicleStatus.PENDING.value,
            "scenario": snapshot(DealScenario(**scenario_values, version=1)),
            "customer_created": customer_created,
        },
    )
    audit_values: dict[str, object] = {
        "dealership_id": actor.dealership_id,
        "user_id": actor.user_id,
        "action": "deal.create",
        "entity_type": "Deal",
        "request_id": actor.request_id,
    }
    day = local_day(moment, settings.time_zone)
    deal = await _number_deal(session, day, cast(int, deal_values["id"]), audit_values, changes)
    await checkpoint(5)
    await checkpoint(11)
    return CreatedDeal(deal=deal, customer_created=customer_created)


# --- the statements, built once ----------------------------------------------------------
# Built at import with bound parameters, and run as plain Core statements (dml_strategy): a
# creation spends its time in the database, not in building and keying the same SQLAlchemy
# constructs, nor in the ORM's bulk and synchronisation machinery, for every call.


def _audit_param(name: str) -> BindParameter[object]:
    """A parameter typed as its audit_logs column (in an INSERT ... SELECT it has no column
    to take the type from)."""
    return bindparam(f"a_{name}", type_=AuditLog.__table__.c[name].type)


_DEALERSHIP_SETTINGS = (
    select(Dealership.name, Dealership.is_active, DealershipSettings)
    .outerjoin(DealershipSettings, DealershipSettings.dealership_id == Dealership.id)
    .where(Dealership.id == bindparam("dealership_id"))
)

_HOLD_VEHICLE = (
    update(Vehicle)
    .where(Vehicle.id == bindparam("vehicle_id"), Vehicle.status == VehicleStatus.AVAILABLE)
    .values(status=VehicleStatus.PENDING, version=Vehicle.version + 1, updated_at=func.now())
    .returning(Vehicle.list_price, Vehicle.msrp)
    .execution_options(dml_strategy="core_only", synchronize_session=False)
)

# Step 7's deal gets a unique placeholder number that step 8 replaces before the commit;
# no one else ever sees it.
_DEAL_COLUMNS = ("dealership_id", "customer_id", "vehicle_id", "salesperson_id", "status", "notes")
_INSERT_DEAL = (
    insert(Deal)
    .values(
        {
            **{name: bindparam(f"v_{name}") for name in _DEAL_COLUMNS},
            "deal_number": func.concat("unnumbered-", func.gen_random_uuid()),
        }
    )
    .returning(Deal.id)
    .execution_options(dml_strategy="raw")
)

# The scenario, and the deal pointing at it, in one statement (the foreign key is checked at
# the end of the statement, when both rows exist).
_SCENARIO_COLUMNS = (
    "dealership_id",
    "deal_id",
    *(key for key in scenarios.SCENARIO_VALUE_KEYS),
)
_new_scenario = (
    insert(DealScenario)
    .values({name: bindparam(f"v_{name}") for name in _SCENARIO_COLUMNS})
    .returning(DealScenario.id)
    .cte("scenario")
)
_INSERT_ACTIVE_SCENARIO = (
    update(Deal)
    .where(Deal.id == bindparam("deal_id"))
    .values(active_scenario_id=select(_new_scenario.c.id).scalar_subquery())
    .returning(Deal.active_scenario_id)
    .execution_options(dml_strategy="core_only", synchronize_session=False)
)

# Step 8: the day's next number given to the deal, and the audit row naming it. A number
# already taken outside dealerdesk (an import, say) makes the update do nothing: the caller
# tries the next one.
_counter = NEXT_NUMBER.cte("counter")
_number = select(_counter.c.number).scalar_subquery()
_taken = aliased(Deal, name="taken")
_numbered = (
    update(Deal)
    .where(
        Deal.id == bindparam("deal_id"),
        ~select(_taken.id).where(_taken.deal_number == _number).exists(),
    )
    .values(deal_number=_number)
    .returning(*Deal.__table__.c)
    .cte("deal")
)
_AUDIT_COLUMNS = ("user_id", "action", "entity_type", "request_id")
_audit_row = (
    insert(AuditLog)
    .from_select(
        ["dealership_id", "entity_id", *_AUDIT_COLUMNS, "changes"],
        select(
            _numbered.c.dealership_id,
            _numbered.c.id,
            *(_audit_param(name) for name in _AUDIT_COLUMNS),
            func.jsonb_set(
                bindparam("changes", type_=JSONB),
                literal(["deal_number", "after"], ARRAY(Text)),
                func.to_jsonb(_numbered.c.deal_number),
            ),
        ),
    )
    .cte("audit_row")
)
_NUMBER_DEAL = (
    select(_counter.c.last_value, _numbered)
    .select_from(_counter.outerjoin(_numbered, true()))
    .add_cte(_audit_row)
)


def _prefixed(values: dict[str, object]) -> dict[str, object]:
    """Parameters of an insert's values: a column's own name is reserved by SQLAlchemy."""
    return {f"v_{name}": value for name, value in values.items()}


async def _dealership_settings(session: AsyncSession, actor: Actor) -> DealershipSettings:
    found = (
        await session.execute(_DEALERSHIP_SETTINGS, {"dealership_id": actor.dealership_id})
    ).one_or_none()
    if found is None:
        raise NotFound("Dealership", actor.dealership_id)
    name, is_active, settings = found
    if not is_active:
        raise DealershipInactive(f"{name} is not active; it cannot open deals")
    if settings is None:
        raise NotFound("DealershipSettings", actor.dealership_id)
    assert isinstance(settings, DealershipSettings)
    return settings


async def _hold_vehicle(session: AsyncSession, vehicle_id: int) -> tuple[Decimal, Decimal | None]:
    """Set the vehicle pending if it is available, and return its prices. The update waits
    for a concurrent holder's transaction and then sees the vehicle as that one left it."""
    held = (await session.execute(_HOLD_VEHICLE, {"vehicle_id": vehicle_id})).one_or_none()
    if held is not None:
        return held.list_price, held.msrp
    vehicle = await load_owned(
        session, Vehicle, vehicle_id, entity="Vehicle", field=("input", "vehicleId")
    )
    raise VehicleNotAvailable(
        f"vehicle {vehicle.stock_number} is {vehicle.status.value.replace('_', ' ')}, "
        "not available",
        status=vehicle.status,
        held_by=await live_deal_number(session, vehicle.id),
    )


async def _insert_deal(session: AsyncSession, values: dict[str, object]) -> int:
    try:
        deal_id = (await session.execute(_INSERT_DEAL, _prefixed(values))).scalar_one()
    except IntegrityError as exc:
        if violated_constraint(exc) == LIVE_VEHICLE_INDEX:
            # Only a deal written while its vehicle stayed available gets here.
            raise VehicleNotAvailable(
                "another deal already holds this vehicle", status=VehicleStatus.PENDING
            ) from None
        raise
    return int(deal_id)


async def _insert_active_scenario(session: AsyncSession, values: dict[str, object]) -> int:
    params = {**_prefixed(values), "deal_id": values["deal_id"]}
    scenario_id = (await session.execute(_INSERT_ACTIVE_SCENARIO, params)).scalar_one()
    assert scenario_id is not None
    return scenario_id


async def _number_deal(
    session: AsyncSession,
    day: date,
    deal_id: int,
    audit_values: dict[str, object],
    changes: JSONObject,
) -> Deal:
    """Step 8. The counter's increment locks the day's row, and the audit insert the head of
    the dealership's chain, until the commit that follows at once; so a dealership's
    creations queue only for this statement and the commit."""
    # No parameter may take a name of deals' columns: the update would set that column.
    params = {
        **{f"a_{name}": audit_values[name] for name in _AUDIT_COLUMNS},
        "for_dealership": audit_values["dealership_id"],
        "for_day": day,
        "deal_id": deal_id,
        "changes": changes,
    }
    for _ in range(NUMBER_COLLISION_ATTEMPTS):
        row = (await session.execute(_NUMBER_DEAL, params)).one()
        check_sequence(row.last_value, day)
        if row.id is not None:
            return _written(row._asdict())
    number_taken = format_deal_number(day, row.last_value)
    raise DuplicateDealNumber(
        f"deal number {number_taken} is already in use and so were the "
        f"{NUMBER_COLLISION_ATTEMPTS - 1} numbers before it; deal numbers were probably "
        "written outside dealerdesk",
        deal_number=number_taken,
    )


def _written(values: Mapping[str, object]) -> Deal:
    """The written deal as a detached instance (it never joins this session)."""
    deal = Deal(**{column.key: values[column.key] for column in Deal.__table__.columns})
    make_transient_to_detached(deal)
    return deal


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
