"""Deal scenarios: the cash, finance and lease structures desked on a deal.

Every figure of a scenario (tax, fees total, amount financed, payment, total of payments,
residual) comes from `db.desking.compute`; nothing here does money arithmetic of its own.
Defaults (price, trade-in, APR and term, tax rate, fees) apply when a scenario is created;
an update changes only what the client sends, then recomputes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypedDict, cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import desking
from db.desking import FeeLine, ScenarioFigures, ScenarioTerms
from db.errors import NotFound, ValidationFailed
from db.models import Deal, DealershipSettings, DealScenario, TradeVehicle, Vehicle
from db.models.enums import DealType
from db.storage.audit import Actor, delete_and_record, flush_and_record, record_row, snapshot
from db.storage.dealerships import get_settings
from db.storage.deals import lock_editable_deal
from db.storage.fees import default_fees
from db.storage.ownership import bump_version, check_version, load_owned
from db.storage.taxes import default_jurisdiction
from db.types import JSONValue
from db.validation import (
    ZERO,
    DecimalRange,
    camel,
    nonnegative_money,
    not_null,
    require_text,
    required,
    term_months,
)

ENTITY = "DealScenario"

MAX_APR = Decimal("40")
# APR = money factor x 2400, so this is the lease equivalent of MAX_APR.
MAX_MONEY_FACTOR = Decimal("0.0166667")
MAX_FEES = 30
MAX_NAME = 100
# Far above any car deal, and low enough that no figure computed from amounts up to it can
# overflow a NUMERIC(12, 2) column.
MAX_AMOUNT = Decimal("10000000")

MONEY_FIELDS = ("vehicle_price", "down_payment", "rebates", "trade_allowance", "trade_payoff")


class ScenarioFields(TypedDict, total=False):
    """What a client sends. On create None means "use the default"; on update None on a
    field that cannot be empty is refused, and None on apr/moneyFactor/... clears it."""

    name: str | None
    type: DealType | None
    vehicle_price: Decimal | None
    down_payment: Decimal | None
    rebates: Decimal | None
    trade_allowance: Decimal | None
    trade_payoff: Decimal | None
    apr: Decimal | None
    money_factor: Decimal | None
    residual_percent: Decimal | None
    term_months: int | None
    tax_rate: Decimal | None
    fees: list[FeeLine] | None


@dataclass
class Terms:
    """A scenario's inputs, complete: what compute() and the row are built from."""

    name: str
    type: DealType
    vehicle_price: Decimal
    down_payment: Decimal
    rebates: Decimal
    trade_allowance: Decimal
    trade_payoff: Decimal
    apr: Decimal | None
    money_factor: Decimal | None
    residual_percent: Decimal | None
    term_months: int | None
    tax_rate: Decimal
    fees: tuple[FeeLine, ...]


@dataclass(frozen=True)
class Pricing:
    """What the deal's dealership and vehicle contribute to a scenario."""

    list_price: Decimal
    msrp: Decimal | None
    tax_rate: Decimal
    trade_in_credit: bool
    default_apr: Decimal
    default_term_months: int


# --- validation ----------------------------------------------------------------------------


RateKey = Literal["apr", "money_factor", "residual_percent", "tax_rate"]
_RATES: dict[RateKey, DecimalRange] = {
    "apr": DecimalRange(
        ZERO, MAX_APR, "the APR (percent)", places=4, high_inclusive=True, code="APR_OUT_OF_RANGE"
    ),
    "money_factor": DecimalRange(
        ZERO,
        MAX_MONEY_FACTOR,
        "the money factor",
        places=7,
        high_inclusive=True,
        code="MONEY_FACTOR_OUT_OF_RANGE",
    ),
    "residual_percent": DecimalRange(
        ZERO,
        Decimal(100),
        "the residual (percent)",
        places=4,
        low_inclusive=False,
        high_inclusive=True,
        code="RESIDUAL_OUT_OF_RANGE",
    ),
    "tax_rate": DecimalRange(
        ZERO,
        Decimal("99.9999"),
        "the tax rate (percent)",
        places=4,
        high_inclusive=True,
        code="TAX_RATE_OUT_OF_RANGE",
    ),
}


def clean_fields(
    fields: ScenarioFields, *, path: tuple[str, ...], creating: bool
) -> ScenarioFields:
    """Check each value on its own (ranges, precision, required text); the checks that
    combine fields run once the scenario is complete (`finalize`)."""
    nullable = ("apr", "money_factor", "residual_percent", "term_months")
    if not creating:
        for key, value in fields.items():
            if key not in nullable:
                not_null(value, field=(*path, camel(key)))
    # Creating: None is "use the default", which the caller fills in.
    clean = cast(
        ScenarioFields,
        {k: v for k, v in fields.items() if v is not None or (k in nullable and not creating)},
    )
    if "name" in clean and clean["name"] is not None:
        clean["name"] = require_text(clean["name"], field=(*path, "name"), max_length=MAX_NAME)
    for key in MONEY_FIELDS:
        amount = clean.get(key)
        if isinstance(amount, Decimal):
            check_amount(amount, field=(*path, camel(key)))
    for rate_key, rule in _RATES.items():
        rate = clean.get(rate_key)
        if rate is not None:
            rule.check(rate, field=(*path, camel(rate_key)))
    term = clean.get("term_months")
    if term is not None:
        term_months(term, field=(*path, "termMonths"))
    fees = clean.get("fees")
    if fees is not None:
        clean["fees"] = _clean_fees(fees, path=(*path, "fees"))
    return clean


def check_amount(amount: Decimal, *, field: tuple[str, ...]) -> Decimal:
    """An amount on a scenario or a trade-in: 0 to MAX_AMOUNT."""
    return nonnegative_money(amount, field=field, at_most=MAX_AMOUNT, code="NEGATIVE_AMOUNT")


def _clean_fees(fees: list[FeeLine], *, path: tuple[str, ...]) -> list[FeeLine]:
    if len(fees) > MAX_FEES:
        raise ValidationFailed(f"at most {MAX_FEES} fee lines", field=path, code="TOO_MANY_FEES")
    clean = []
    for i, fee in enumerate(fees):
        name = require_text(fee.name, field=(*path, str(i), "name"), max_length=MAX_NAME)
        check_amount(fee.amount, field=(*path, str(i), "amount"))
        clean.append(FeeLine(name=name, kind=fee.kind, amount=fee.amount, taxable=fee.taxable))
    return clean


def finalize(terms: Terms, *, path: tuple[str, ...], defaults: Pricing | None) -> None:
    """Fill (when creating: `defaults`) or demand the fields the scenario's type needs, clear
    the ones it does not use, and check the fields against each other."""
    if terms.type is DealType.FINANCE:
        if terms.apr is None and defaults is not None:
            terms.apr = defaults.default_apr
        if terms.term_months is None and defaults is not None:
            terms.term_months = defaults.default_term_months
        _require(terms, ("apr", "term_months"), path=path, what="a finance scenario")
        terms.money_factor = terms.residual_percent = None
    elif terms.type is DealType.LEASE:
        _require(
            terms,
            ("money_factor", "residual_percent", "term_months"),
            path=path,
            what="a lease scenario",
        )
        terms.apr = None
    else:
        terms.apr = terms.money_factor = terms.residual_percent = None
        terms.term_months = None
    if terms.down_payment > terms.vehicle_price:
        raise ValidationFailed(
            f"the down payment cannot exceed the vehicle price ({terms.vehicle_price})",
            field=(*path, "downPayment"),
            code="DOWN_PAYMENT_EXCEEDS_PRICE",
        )
    if terms.rebates > terms.vehicle_price:
        raise ValidationFailed(
            f"rebates cannot exceed the vehicle price ({terms.vehicle_price})",
            field=(*path, "rebates"),
            code="REBATES_EXCEED_PRICE",
        )


def _require(terms: Terms, names: tuple[str, ...], *, path: tuple[str, ...], what: str) -> None:
    for name in names:
        if getattr(terms, name) is None:
            raise ValidationFailed(
                f"{what} needs `{camel(name)}`", field=(*path, camel(name)), code="REQUIRED"
            )


# --- building a scenario -------------------------------------------------------------------


def parse_fees(raw: list[JSONValue]) -> tuple[FeeLine, ...]:
    """The fee lines stored on a scenario (amounts as decimal strings)."""
    lines = []
    for item in raw:
        if isinstance(item, dict):
            lines.append(
                FeeLine(
                    name=str(item.get("name", "")),
                    kind=str(item.get("kind", "other")),
                    amount=Decimal(str(item.get("amount", "0"))),
                    taxable=item.get("taxable") is True,
                )
            )
    return tuple(lines)


def _fees_json(fees: tuple[FeeLine, ...]) -> list[JSONValue]:
    return [
        {"name": f.name, "kind": f.kind, "amount": str(f.amount), "taxable": f.taxable}
        for f in fees
    ]


def default_name(terms: Terms) -> str:
    if terms.type is DealType.CASH:
        return "Cash"
    return f"{terms.type.value.title()} {terms.term_months} mo"


def figures_of(terms: Terms, pricing: Pricing) -> ScenarioFigures:
    return desking.compute(
        ScenarioTerms(
            type=terms.type,
            vehicle_price=terms.vehicle_price,
            down_payment=terms.down_payment,
            rebates=terms.rebates,
            trade_allowance=terms.trade_allowance,
            trade_payoff=terms.trade_payoff,
            apr=terms.apr,
            money_factor=terms.money_factor,
            term_months=terms.term_months,
            residual_percent=terms.residual_percent,
            msrp=pricing.msrp,
            tax_rate=terms.tax_rate,
            trade_in_credit=pricing.trade_in_credit,
            fees=terms.fees,
        )
    )


def terms_of(row: DealScenario) -> Terms:
    return Terms(
        name=row.name,
        type=row.type,
        vehicle_price=row.vehicle_price,
        down_payment=row.down_payment,
        rebates=row.rebates,
        trade_allowance=row.trade_allowance,
        trade_payoff=row.trade_payoff,
        apr=row.apr,
        money_factor=row.money_factor,
        residual_percent=row.residual_percent,
        term_months=row.term_months,
        tax_rate=row.tax_rate,
        fees=parse_fees(row.fees),
    )


SCENARIO_VALUE_KEYS = (
    "name",
    "type",
    "vehicle_price",
    "down_payment",
    "rebates",
    "trade_allowance",
    "trade_payoff",
    "apr",
    "money_factor",
    "residual_percent",
    "term_months",
    "tax_rate",
    "fees",
    "tax_amount",
    "fees_total",
    "amount_financed",
    "monthly_payment",
    "total_of_payments",
    "residual_value",
)


def scenario_values(terms: Terms, figures: ScenarioFigures) -> dict[str, object]:
    """The scenario row's columns for `terms` priced as `figures`."""
    return {
        "name": terms.name,
        "type": terms.type,
        "vehicle_price": terms.vehicle_price,
        "down_payment": terms.down_payment,
        "rebates": terms.rebates,
        "trade_allowance": terms.trade_allowance,
        "trade_payoff": terms.trade_payoff,
        "apr": terms.apr,
        "money_factor": terms.money_factor,
        "residual_percent": terms.residual_percent,
        "term_months": terms.term_months,
        "tax_rate": terms.tax_rate,
        "fees": _fees_json(terms.fees),
        "tax_amount": figures.tax_amount,
        "fees_total": figures.fees_total,
        "amount_financed": figures.amount_financed,
        "monthly_payment": figures.monthly_payment,
        "total_of_payments": figures.total_of_payments,
        "residual_value": figures.residual_value,
    }


def _apply(row: DealScenario, terms: Terms, figures: ScenarioFigures) -> None:
    for key, value in scenario_values(terms, figures).items():
        setattr(row, key, value)


async def pricing_for(session: AsyncSession, deal: Deal) -> Pricing:
    vehicle = (await session.scalars(select(Vehicle).where(Vehicle.id == deal.vehicle_id))).one()
    settings = await get_settings(session, dealership_id=deal.dealership_id)
    if settings is None:
        raise NotFound("DealershipSettings", deal.dealership_id)
    return await pricing_of(session, settings, list_price=vehicle.list_price, msrp=vehicle.msrp)


async def pricing_of(
    session: AsyncSession,
    settings: DealershipSettings,
    *,
    list_price: Decimal,
    msrp: Decimal | None,
) -> Pricing:
    """What a vehicle with these prices and the dealership's settings contribute."""
    jurisdiction = await default_jurisdiction(session, settings)
    return Pricing(
        list_price=list_price,
        msrp=msrp,
        tax_rate=jurisdiction.rate if jurisdiction is not None else ZERO,
        trade_in_credit=jurisdiction.trade_in_credit if jurisdiction is not None else True,
        default_apr=settings.default_apr,
        default_term_months=settings.default_term_months,
    )


async def trade_totals(session: AsyncSession, deal_id: int) -> tuple[Decimal, Decimal]:
    """The summed allowance and payoff of the trade-ins on the deal."""
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(TradeVehicle.allowance), ZERO),
                func.coalesce(func.sum(TradeVehicle.payoff_amount), ZERO),
            ).where(TradeVehicle.deal_id == deal_id)
        )
    ).one()
    return Decimal(row[0]), Decimal(row[1])


async def _lock(
    session: AsyncSession, scenario_id: int, *, field: tuple[str, ...]
) -> tuple[DealScenario, Deal]:
    """The scenario and its (editable) deal, both locked: the deal first, as every write on a
    deal does, then the scenario, re-read now that no one else can change it."""
    found = await load_owned(session, DealScenario, scenario_id, entity=ENTITY, field=field)
    deal = await lock_editable_deal(session, found.deal_id, field=field)
    scenario = await session.scalar(
        select(DealScenario)
        .where(DealScenario.id == scenario_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if scenario is None:  # deleted while we waited for the deal
        raise NotFound(ENTITY, scenario_id, field=field)
    return scenario, deal


async def _add(
    session: AsyncSession, actor: Actor, *, deal: Deal, terms: Terms, pricing: Pricing
) -> DealScenario:
    row = DealScenario(dealership_id=actor.dealership_id, deal_id=deal.id)
    _apply(row, terms, figures_of(terms, pricing))
    session.add(row)
    await session.flush()
    return row


async def _insert(
    session: AsyncSession,
    actor: Actor,
    *,
    deal: Deal,
    terms: Terms,
    pricing: Pricing,
    action: str,
) -> DealScenario:
    row = await _add(session, actor, deal=deal, terms=terms, pricing=pricing)
    await record_row(session, actor, row, action=action, entity_type=ENTITY, before=None)
    return row


# --- writes --------------------------------------------------------------------------------


async def build_scenario(
    session: AsyncSession,
    actor: Actor,
    *,
    deal: Deal,
    fields: ScenarioFields,
    path: tuple[str, ...],
    default_type: DealType | None = None,
) -> DealScenario:
    """Insert a scenario of `deal` (which the caller has locked), filling what `fields` leave
    out from the dealership's defaults, the vehicle, the deal's trade-ins and the active fee
    templates. Writes no audit row: the caller's action records it."""
    pricing = await pricing_for(session, deal)
    terms = await plan_scenario(
        session,
        fields=fields,
        path=path,
        default_type=default_type,
        pricing=pricing,
        trade=None if _has_trade_figures(fields) else await trade_totals(session, deal.id),
    )
    return await _add(session, actor, deal=deal, terms=terms, pricing=pricing)


def _has_trade_figures(fields: ScenarioFields) -> bool:
    return fields.get("trade_allowance") is not None and fields.get("trade_payoff") is not None


async def plan_scenario(
    session: AsyncSession,
    *,
    fields: ScenarioFields,
    path: tuple[str, ...],
    default_type: DealType | None,
    pricing: Pricing,
    trade: tuple[Decimal, Decimal] | None,
) -> Terms:
    """A new scenario's complete terms: `fields`, then the defaults - `pricing`, the summed
    `trade` allowance and payoff, the deal type's active fee templates (read here)."""
    clean = clean_fields(fields, path=path, creating=True)
    deal_type = clean.get("type") or default_type
    if deal_type is None:
        raise required((*path, "type"))
    allowance, payoff = clean.get("trade_allowance"), clean.get("trade_payoff")
    trade_allowance, trade_payoff = trade or (ZERO, ZERO)
    fees = clean.get("fees")
    price = clean.get("vehicle_price")
    down = clean.get("down_payment")
    rebates = clean.get("rebates")
    rate = clean.get("tax_rate")
    terms = Terms(
        name=clean.get("name") or "",
        type=deal_type,
        vehicle_price=pricing.list_price if price is None else price,
        down_payment=ZERO if down is None else down,
        rebates=ZERO if rebates is None else rebates,
        trade_allowance=trade_allowance if allowance is None else allowance,
        trade_payoff=trade_payoff if payoff is None else payoff,
        apr=clean.get("apr"),
        money_factor=clean.get("money_factor"),
        residual_percent=clean.get("residual_percent"),
        term_months=clean.get("term_months"),
        tax_rate=pricing.tax_rate if rate is None else rate,
        fees=await default_fees(session, deal_type) if fees is None else tuple(fees),
    )
    finalize(terms, path=path, defaults=pricing)
    terms.name = terms.name or default_name(terms)
    return terms


async def create_scenario(
    session: AsyncSession,
    actor: Actor,
    *,
    deal_id: int,
    fields: ScenarioFields,
    path: tuple[str, ...],
) -> DealScenario:
    if fields.get("type") is None:
        raise required((*path, "type"))
    clean_fields(fields, path=path, creating=True)  # refuse bad input before taking locks
    deal = await lock_editable_deal(session, deal_id, field=(*path, "dealId"))
    row = await build_scenario(session, actor, deal=deal, fields=fields, path=path)
    await record_row(
        session, actor, row, action="deal_scenario.create", entity_type=ENTITY, before=None
    )
    return row


async def update_scenario(
    session: AsyncSession,
    actor: Actor,
    *,
    scenario_id: int,
    version: int,
    fields: ScenarioFields,
    path: tuple[str, ...],
) -> DealScenario:
    clean = clean_fields(fields, path=path, creating=False)
    scenario, deal = await _lock(session, scenario_id, field=(*path, "id"))
    check_version(scenario, version, entity=ENTITY)
    terms = terms_of(scenario)
    for key, value in clean.items():
        if key == "fees" and isinstance(value, list):
            terms.fees = tuple(value)
        else:
            setattr(terms, key, value)
    finalize(terms, path=path, defaults=None)
    pricing = await pricing_for(session, deal)
    before = snapshot(scenario)
    _apply(scenario, terms, figures_of(terms, pricing))
    if snapshot(scenario) == before:
        return scenario  # nothing changed: no new version, no audit row
    bump_version(scenario)
    await flush_and_record(
        session, actor, scenario, action="deal_scenario.update", entity_type=ENTITY, before=before
    )
    return scenario


async def delete_scenario(
    session: AsyncSession,
    actor: Actor,
    *,
    scenario_id: int,
    version: int,
    path: tuple[str, ...],
) -> Deal:
    """Delete a scenario that is not the deal's active one; returns its deal."""
    field = (*path, "id")
    scenario, deal = await _lock(session, scenario_id, field=field)
    check_version(scenario, version, entity=ENTITY)
    if deal.active_scenario_id == scenario.id:
        raise ValidationFailed(
            "this is the deal's active scenario; make another one active first",
            field=field,
            code="CANNOT_DELETE_ACTIVE_SCENARIO",
        )
    await delete_and_record(
        session, actor, scenario, action="deal_scenario.delete", entity_type=ENTITY
    )
    return deal


async def duplicate_scenario(
    session: AsyncSession,
    actor: Actor,
    *,
    scenario_id: int,
    name: str | None,
    path: tuple[str, ...],
) -> DealScenario:
    """A new scenario on the same deal with the same terms (figures recomputed)."""
    new_name = (
        None if name is None else require_text(name, field=(*path, "name"), max_length=MAX_NAME)
    )
    scenario, deal = await _lock(session, scenario_id, field=(*path, "id"))
    terms = terms_of(scenario)
    terms.name = new_name or f"{scenario.name} (copy)"[:MAX_NAME]
    finalize(terms, path=path, defaults=None)
    pricing = await pricing_for(session, deal)
    return await _insert(
        session, actor, deal=deal, terms=terms, pricing=pricing, action="deal_scenario.duplicate"
    )
