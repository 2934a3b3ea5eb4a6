"""Rate requests (a deal's financing sent to lenders), the lenders' decisions on them, and
choosing the decision a deal goes ahead with."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import desking
from db.errors import ValidationFailed
from db.models import Deal, DealScenario, Lender, LenderDecision, RateRequest
from db.models.enums import DealType, LenderDecisionType, RateRequestStatus
from db.storage.audit import Actor, flush_and_record, snapshot
from db.storage.deals import lock_editable_deal
from db.storage.ownership import bump_version, load_owned, require_owned
from db.validation import (
    ZERO,
    credit_score,
    money_factor,
    nonnegative_money,
    percent,
    positive_money,
    require_text,
    required,
    term_months,
)

REQUEST = "RateRequest"
DECISION = "LenderDecision"
DEAL = "Deal"
SCENARIO = "DealScenario"

# Decisions that put money on the table; a declined one cannot be chosen.
APPROVING_DECISIONS = frozenset(
    {
        LenderDecisionType.APPROVED,
        LenderDecisionType.CONDITIONAL,
        LenderDecisionType.COUNTER_OFFER,
    }
)
MAX_RATE = Decimal("100")
MAX_MONEY_FACTOR = Decimal("0.1")
MAX_STIPULATIONS = 50
_RATIO_STEP = Decimal("0.0001")
_RATIO_LIMIT = Decimal("1000")  # NUMERIC(7, 4)


class RateRequestFields(TypedDict, total=False):
    credit_score: int
    amount_requested: Decimal | None
    down_payment: Decimal | None
    trade_value: Decimal | None
    trade_payoff: Decimal | None
    term_months: int | None
    monthly_income: Decimal | None
    monthly_debt: Decimal | None


class DecisionFields(TypedDict, total=False):
    decision: LenderDecisionType
    approved_amount: Decimal | None
    apr: Decimal | None
    buy_rate: Decimal | None
    term_months: int | None
    monthly_payment: Decimal | None
    stipulations: list[str] | None
    money_factor: Decimal | None


def _or(value: Decimal | None, default: Decimal) -> Decimal:
    return default if value is None else value


def clean_request(fields: RateRequestFields, *, path: tuple[str, ...]) -> RateRequestFields:
    clean: RateRequestFields = {}
    if "credit_score" in fields:
        clean["credit_score"] = credit_score(fields["credit_score"], field=(*path, "creditScore"))
    amount = fields.get("amount_requested")
    if amount is not None:
        clean["amount_requested"] = positive_money(amount, field=(*path, "amountRequested"))
    down = fields.get("down_payment")
    if down is not None:
        clean["down_payment"] = nonnegative_money(down, field=(*path, "downPayment"))
    trade = fields.get("trade_value")
    if trade is not None:
        clean["trade_value"] = nonnegative_money(trade, field=(*path, "tradeValue"))
    payoff = fields.get("trade_payoff")
    if payoff is not None:
        clean["trade_payoff"] = nonnegative_money(payoff, field=(*path, "tradePayoff"))
    term = fields.get("term_months")
    if term is not None:
        clean["term_months"] = term_months(term, field=(*path, "termMonths"))
    income = fields.get("monthly_income")
    if income is not None:
        clean["monthly_income"] = positive_money(income, field=(*path, "monthlyIncome"))
    debt = fields.get("monthly_debt")
    if debt is not None:
        clean["monthly_debt"] = nonnegative_money(debt, field=(*path, "monthlyDebt"))
    return clean


async def create_rate_request(
    session: AsyncSession,
    actor: Actor,
    *,
    scenario_id: int,
    fields: RateRequestFields,
    path: tuple[str, ...],
) -> RateRequest:
    """A rate request for a finance or lease scenario of an open deal. What the client
    leaves out comes from the scenario: the amount financed, the term, the down payment
    and the trade figures."""
    if "credit_score" not in fields:
        raise required((*path, "creditScore"))
    clean = clean_request(fields, path=path)
    if actor.user_id is None:
        raise ValidationFailed("a rate request needs a requester", field=path, code="REQUIRED")
    scenario_field = (*path, "scenarioId")
    scenario = await load_owned(
        session, DealScenario, scenario_id, entity=SCENARIO, field=scenario_field
    )
    # Locked: the deal cannot leave an editable status while the request is filed.
    deal = await lock_editable_deal(session, scenario.deal_id, field=scenario_field)
    if scenario.type is DealType.CASH:
        raise ValidationFailed(
            "a cash scenario is not financed: choose a finance or lease scenario",
            field=scenario_field,
            code="CASH_SCENARIO",
        )
    amount = clean.get("amount_requested") or scenario.amount_financed
    if amount <= 0:
        raise ValidationFailed(
            "the scenario finances nothing: send amountRequested",
            field=(*path, "amountRequested"),
            code="MUST_BE_POSITIVE",
        )
    term = clean.get("term_months") or scenario.term_months
    if term is None:
        raise required((*path, "termMonths"))
    now = datetime.now(UTC)
    request = RateRequest(
        dealership_id=actor.dealership_id,
        deal_id=deal.id,
        scenario_id=scenario.id,
        requested_by_id=actor.user_id,
        status=RateRequestStatus.SUBMITTED,
        credit_score=clean["credit_score"],
        amount_requested=amount,
        down_payment=_or(clean.get("down_payment"), scenario.down_payment),
        trade_value=_or(clean.get("trade_value"), scenario.trade_allowance),
        trade_payoff=_or(clean.get("trade_payoff"), scenario.trade_payoff),
        term_months=term,
        monthly_income=clean.get("monthly_income"),
        monthly_debt=clean.get("monthly_debt"),
        submitted_at=now,
    )
    session.add(request)
    await flush_and_record(
        session, actor, request, action="rate_request.create", entity_type=REQUEST, before=None
    )
    return request


def clean_decision(fields: DecisionFields, *, path: tuple[str, ...]) -> DecisionFields:
    clean: DecisionFields = {"decision": fields["decision"]}
    amount = fields.get("approved_amount")
    if amount is not None:
        clean["approved_amount"] = positive_money(amount, field=(*path, "approvedAmount"))
    apr = fields.get("apr")
    if apr is not None:
        clean["apr"] = percent(apr, field=(*path, "apr"), high=MAX_RATE, what="an APR")
    buy = fields.get("buy_rate")
    if buy is not None:
        clean["buy_rate"] = percent(buy, field=(*path, "buyRate"), high=MAX_RATE, what="a buy rate")
    term = fields.get("term_months")
    if term is not None:
        clean["term_months"] = term_months(term, field=(*path, "termMonths"))
    payment = fields.get("monthly_payment")
    if payment is not None:
        clean["monthly_payment"] = positive_money(payment, field=(*path, "monthlyPayment"))
    factor = fields.get("money_factor")
    if factor is not None:
        clean["money_factor"] = money_factor(
            factor, field=(*path, "moneyFactor"), high=MAX_MONEY_FACTOR
        )
    stipulations = [
        require_text(raw, field=(*path, "stipulations", str(i)), max_length=500)
        for i, raw in enumerate(fields.get("stipulations") or [])
    ]
    if len(stipulations) > MAX_STIPULATIONS:
        raise ValidationFailed(
            f"at most {MAX_STIPULATIONS} stipulations",
            field=(*path, "stipulations"),
            code="TOO_MANY",
        )
    clean["stipulations"] = stipulations

    if clean["decision"] in APPROVING_DECISIONS:
        for key, name in (("approved_amount", "approvedAmount"), ("apr", "apr")):
            if key not in clean:
                raise ValidationFailed(
                    f"a {clean['decision'].value} decision needs {name}",
                    field=(*path, name),
                    code="REQUIRED",
                )
        if "term_months" not in clean:
            raise ValidationFailed(
                f"a {clean['decision'].value} decision needs termMonths",
                field=(*path, "termMonths"),
                code="REQUIRED",
            )
    apr, buy = clean.get("apr"), clean.get("buy_rate")
    if apr is not None and buy is not None and buy > apr:
        raise ValidationFailed(
            "the buy rate is the lender's rate before markup: it cannot exceed the APR",
            field=(*path, "buyRate"),
            code="BUY_RATE_ABOVE_APR",
        )
    return clean


def ratio_percent(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator / denominator x 100 to 4 decimals; None when it cannot be told or stored."""
    if denominator <= 0:
        return None
    value = (numerator / denominator * 100).quantize(_RATIO_STEP, rounding=ROUND_HALF_UP)
    return value if value < _RATIO_LIMIT else None


async def record_decision(
    session: AsyncSession,
    actor: Actor,
    *,
    rate_request_id: int,
    lender_id: int,
    fields: DecisionFields,
    path: tuple[str, ...],
) -> LenderDecision:
    """File a lender's answer. For approving decisions it works out what it can: the
    monthly payment (finance, when not given), the dealer reserve (when the buy rate is
    known), the loan-to-value against the scenario's price and the debt-to-income against
    the applicant's income. One decision per lender and request."""
    clean = clean_decision(fields, path=path)
    # Locked: two decisions of one lender on one request cannot both get in.
    request = await load_owned(
        session,
        RateRequest,
        rate_request_id,
        entity=REQUEST,
        field=(*path, "rateRequestId"),
        for_update=True,
    )
    await require_owned(session, Lender, lender_id, entity="Lender", field=(*path, "lenderId"))
    if request.status is RateRequestStatus.CLOSED:
        raise ValidationFailed(
            "this rate request is closed", field=(*path, "rateRequestId"), code="REQUEST_CLOSED"
        )
    existing = await session.scalar(
        select(LenderDecision.id).where(
            LenderDecision.rate_request_id == request.id, LenderDecision.lender_id == lender_id
        )
    )
    if existing is not None:
        raise ValidationFailed(
            "this lender has already decided on this rate request",
            field=(*path, "lenderId"),
            code="DECISION_EXISTS",
        )

    amount = clean.get("approved_amount")
    apr = clean.get("apr")
    buy = clean.get("buy_rate")
    term = clean.get("term_months")
    payment = clean.get("monthly_payment")
    factor = clean.get("money_factor")
    reserve = ltv = dti = None
    if clean["decision"] in APPROVING_DECISIONS and amount and apr is not None and term:
        if factor is None:  # a loan: the payment and the reserve follow from the terms
            if payment is None:
                payment = desking.amortized_payment(amount, apr, term)
            if buy is not None:
                reserve = desking.dealer_reserve(amount, apr, buy, term)
        scenario = (
            None
            if request.scenario_id is None
            else await session.scalar(
                select(DealScenario).where(DealScenario.id == request.scenario_id)
            )
        )
        if scenario is not None:
            ltv = ratio_percent(amount, scenario.vehicle_price)
        if request.monthly_income is not None and payment is not None:
            dti = ratio_percent((request.monthly_debt or ZERO) + payment, request.monthly_income)

    decision = LenderDecision(
        dealership_id=actor.dealership_id,
        rate_request_id=request.id,
        lender_id=lender_id,
        decision=clean["decision"],
        approved_amount=amount,
        apr=apr,
        buy_rate=buy,
        dealer_reserve=reserve,
        term_months=term,
        monthly_payment=payment,
        ltv_percent=ltv,
        dti_percent=dti,
        stipulations=clean["stipulations"],
        money_factor=factor,
        decided_at=datetime.now(UTC),
    )
    session.add(decision)
    await flush_and_record(
        session, actor, decision, action="lender_decision.create", entity_type=DECISION, before=None
    )
    if request.status is not RateRequestStatus.DECISIONED:
        before = snapshot(request)
        request.status = RateRequestStatus.DECISIONED
        await flush_and_record(
            session,
            actor,
            request,
            action="rate_request.decisioned",
            entity_type=REQUEST,
            before=before,
        )
    return decision


async def select_decision(
    session: AsyncSession,
    actor: Actor,
    *,
    decision_id: int,
    version: int | None,
    path: tuple[str, ...],
) -> tuple[Deal, LenderDecision]:
    """Make an approving decision the one the deal goes ahead with (a new deal version)."""
    field = (*path, "decisionId")
    decision = await load_owned(
        session, LenderDecision, decision_id, entity=DECISION, field=field, for_update=True
    )
    if decision.decision not in APPROVING_DECISIONS:
        raise ValidationFailed(
            f"a {decision.decision.value} decision cannot be selected",
            field=field,
            code="DECISION_NOT_APPROVED",
        )
    deal_id = await session.scalar(
        select(RateRequest.deal_id).where(RateRequest.id == decision.rate_request_id)
    )
    assert deal_id is not None  # the foreign key keeps the request
    deal = await lock_editable_deal(session, deal_id, field=field, version=version)
    if deal.selected_decision_id == decision.id:
        return deal, decision
    before = snapshot(deal)
    deal.selected_decision_id = decision.id
    bump_version(deal)
    await flush_and_record(
        session, actor, deal, action="deal.select_lender_decision", entity_type=DEAL, before=before
    )
    return deal, decision


async def rate_requests_of_deal(session: AsyncSession, *, deal_id: int) -> list[RateRequest]:
    stmt = (
        select(RateRequest)
        .where(RateRequest.deal_id == deal_id)
        .order_by(RateRequest.created_at.desc(), RateRequest.id.desc())
    )
    return list((await session.scalars(stmt)).all())


async def approved_decisions_of_deal(
    session: AsyncSession, *, deal_id: int
) -> list[LenderDecision]:
    """Every non-declined decision on the deal's rate requests, lowest APR first."""
    stmt = (
        select(LenderDecision)
        .join(
            RateRequest,
            (RateRequest.dealership_id == LenderDecision.dealership_id)
            & (RateRequest.id == LenderDecision.rate_request_id),
        )
        .where(
            RateRequest.deal_id == deal_id,
            LenderDecision.decision != LenderDecisionType.DECLINED,
        )
        .order_by(
            LenderDecision.apr.asc().nulls_last(),
            LenderDecision.decided_at,
            LenderDecision.id,
        )
    )
    return list((await session.scalars(stmt)).all())
