"""The dealer reserve formula, to the cent, against payments worked out independently."""

from __future__ import annotations

from decimal import Decimal

import pytest

from db.desking import amortized_payment, dealer_reserve


@pytest.mark.parametrize(
    ("principal", "apr", "buy", "months", "reserve"),
    [
        # payment 506.79 at 7.99% vs 483.20 at 5.99%: (5407.40 - 3992.00) x 70%
        ("25000.00", "7.99", "5.99", 60, "990.78"),
        # (504.16 - 483.01) x 72 = 1522.80, x 70%
        ("30000.00", "6.49", "4.99", 72, "1065.96"),
        # a 0% buy rate: 402.41 vs 375.00 over 48 months
        ("18000.00", "3.5", "0", 48, "920.98"),
        ("10000.00", "12.99", "12.99", 36, "0.00"),  # no markup, no reserve
        ("10000.00", "5.99", "6.99", 36, "0.00"),  # below the buy rate: nothing earned
        ("0.00", "7.99", "5.99", 60, "0.00"),
    ],
)
def test_dealer_reserve_to_the_cent(
    principal: str, apr: str, buy: str, months: int, reserve: str
) -> None:
    assert dealer_reserve(Decimal(principal), Decimal(apr), Decimal(buy), months) == Decimal(
        reserve
    )


def test_reserve_is_the_share_of_the_finance_charge_difference() -> None:
    principal, months = Decimal("25000.00"), 60
    at_apr = amortized_payment(principal, Decimal("7.99"), months)
    at_buy = amortized_payment(principal, Decimal("5.99"), months)
    assert (at_apr, at_buy) == (Decimal("506.79"), Decimal("483.20"))
    charge_difference = (at_apr * months - principal) - (at_buy * months - principal)
    assert charge_difference == Decimal("1415.40")
    assert dealer_reserve(principal, Decimal("7.99"), Decimal("5.99"), months) == Decimal("990.78")
    full = dealer_reserve(principal, Decimal("7.99"), Decimal("5.99"), months, share=Decimal(1))
    assert full == Decimal("1415.40")


def test_reserve_needs_a_term() -> None:
    with pytest.raises(ValueError, match="term"):
        dealer_reserve(Decimal("1000"), Decimal("5"), Decimal("4"), 0)
