"""Desking arithmetic: taxes, fees and the payment of a cash, finance or lease scenario.

Everything is Decimal and rounded half-up to the cent only where a real contract rounds:
the tax amount, the amount financed and the monthly payment.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from db.models.enums import DealType

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
_CONTEXT = decimal.Context(prec=34, rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class FeeLine:
    name: str
    kind: str
    amount: Decimal
    taxable: bool


@dataclass(frozen=True)
class ScenarioTerms:
    type: DealType
    vehicle_price: Decimal
    down_payment: Decimal = ZERO
    rebates: Decimal = ZERO
    trade_allowance: Decimal = ZERO
    trade_payoff: Decimal = ZERO
    apr: Decimal | None = None  # percent, e.g. 6.99
    money_factor: Decimal | None = None
    term_months: int | None = None
    residual_percent: Decimal | None = None  # of MSRP (or price when MSRP unknown)
    msrp: Decimal | None = None
    tax_rate: Decimal = ZERO  # percent
    trade_in_credit: bool = True  # tax the price net of the trade allowance
    fees: tuple[FeeLine, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ScenarioFigures:
    tax_amount: Decimal
    fees_total: Decimal
    amount_financed: Decimal
    monthly_payment: Decimal
    total_of_payments: Decimal
    residual_value: Decimal | None


def amortized_payment(principal: Decimal, apr_percent: Decimal, months: int) -> Decimal:
    """The level monthly payment that repays `principal` over `months` at `apr_percent`."""
    if months <= 0:
        raise ValueError("term must be positive")
    if principal <= 0:
        return ZERO
    with decimal.localcontext(_CONTEXT):
        if apr_percent == 0:
            return cents(principal / months)
        rate = apr_percent / HUNDRED / 12
        factor = (1 + rate) ** months
        return cents(principal * rate * factor / (factor - 1))


DEALER_RESERVE_SHARE = Decimal("0.70")


def dealer_reserve(
    principal: Decimal,
    apr_percent: Decimal,
    buy_rate_percent: Decimal,
    months: int,
    share: Decimal = DEALER_RESERVE_SHARE,
) -> Decimal:
    """What the dealer earns for marking the lender's buy rate up to the contract APR: the
    finance charge at the APR minus the finance charge at the buy rate, each from the
    contract's (cent-rounded) level payment over the term, times the dealer's share.

        reserve = share x (payment(APR) - payment(buy rate)) x months

    (the principal cancels out of the difference of the two finance charges). Zero when
    the APR is not above the buy rate."""
    if months <= 0:
        raise ValueError("term must be positive")
    if principal <= 0 or apr_percent <= buy_rate_percent:
        return ZERO
    with decimal.localcontext(_CONTEXT):
        at_apr = amortized_payment(principal, apr_percent, months) * months - principal
        at_buy = amortized_payment(principal, buy_rate_percent, months) * months - principal
        return cents((at_apr - at_buy) * share)


def compute(terms: ScenarioTerms) -> ScenarioFigures:
    fees_total = sum((f.amount for f in terms.fees), ZERO)
    taxable_fees = sum((f.amount for f in terms.fees if f.taxable), ZERO)
    net_trade = terms.trade_allowance - terms.trade_payoff
    rate = terms.tax_rate / HUNDRED

    if terms.type is DealType.LEASE:
        return _lease(terms, fees_total, taxable_fees, net_trade, rate)

    taxable = terms.vehicle_price + taxable_fees
    if terms.trade_in_credit:
        taxable -= terms.trade_allowance
    tax = cents(max(taxable, ZERO) * rate)
    balance = (
        terms.vehicle_price + tax + fees_total - terms.down_payment - terms.rebates - net_trade
    )
    balance = cents(balance)

    if terms.type is DealType.CASH:
        return ScenarioFigures(
            tax_amount=tax,
            fees_total=cents(fees_total),
            amount_financed=ZERO,
            monthly_payment=ZERO,
            total_of_payments=max(balance, ZERO),
            residual_value=None,
        )

    if terms.term_months is None or terms.apr is None:
        raise ValueError("a finance scenario needs an APR and a term")
    financed = max(balance, ZERO)
    payment = amortized_payment(financed, terms.apr, terms.term_months)
    return ScenarioFigures(
        tax_amount=tax,
        fees_total=cents(fees_total),
        amount_financed=financed,
        monthly_payment=payment,
        total_of_payments=cents(payment * terms.term_months),
        residual_value=None,
    )


def _lease(
    terms: ScenarioTerms,
    fees_total: Decimal,
    taxable_fees: Decimal,
    net_trade: Decimal,
    rate: Decimal,
) -> ScenarioFigures:
    if terms.term_months is None or terms.money_factor is None or terms.residual_percent is None:
        raise ValueError("a lease scenario needs a money factor, a residual and a term")
    months = terms.term_months
    with decimal.localcontext(_CONTEXT):
        base = terms.msrp if terms.msrp is not None else terms.vehicle_price
        residual = cents(base * terms.residual_percent / HUNDRED)
        cap_cost = terms.vehicle_price + fees_total
        reduction = terms.down_payment + terms.rebates + net_trade
        adjusted = cents(cap_cost - reduction)
        depreciation = (adjusted - residual) / months
        rent = (adjusted + residual) * terms.money_factor
        base_payment = max(depreciation + rent, ZERO)
        # Leases are taxed on each payment (most states), plus taxable up-front fees.
        monthly_tax = base_payment * rate
        payment = cents(base_payment + monthly_tax)
        tax = cents(monthly_tax * months + taxable_fees * rate)
    return ScenarioFigures(
        tax_amount=tax,
        fees_total=cents(fees_total),
        amount_financed=adjusted,
        monthly_payment=payment,
        total_of_payments=cents(payment * months),
        residual_value=residual,
    )
