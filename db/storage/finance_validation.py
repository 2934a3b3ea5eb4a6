"""Checks on the numbers of tax, lender and rate-request inputs: percentages, money,
bounded integers. Each failure names the input field and carries a stable code."""

from __future__ import annotations

import re
from decimal import Decimal

from db.errors import ValidationFailed

ZERO = Decimal("0")
_STATE = re.compile(r"^[A-Z]{2}$")
_POSTAL = re.compile(r"^\d{5}(-\d{4})?$")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def like_pattern(term: str) -> str:
    """`%term%` for ILIKE, with the pattern characters of `term` taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def decimal_in_range(
    value: Decimal,
    *,
    field: tuple[str, ...],
    low: Decimal,
    high: Decimal,
    low_inclusive: bool = True,
    high_inclusive: bool = False,
    places: int,
    code: str,
    what: str,
) -> Decimal:
    """`value` within [low, high) (bounds as given), with at most `places` decimals."""
    if not value.is_finite():
        raise ValidationFailed(f"{what} must be a finite number", field=field, code=code)
    above = value >= low if low_inclusive else value > low
    below = value <= high if high_inclusive else value < high
    if not (above and below):
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        raise ValidationFailed(
            f"{what} must be in {left}{low}, {high}{right}, got {value}", field=field, code=code
        )
    step = Decimal(1).scaleb(-places)
    if value != value.quantize(step):
        raise ValidationFailed(
            f"{what} has at most {places} decimal places", field=field, code="TOO_MANY_DECIMALS"
        )
    return value.quantize(step)


def percent(
    value: Decimal,
    *,
    field: tuple[str, ...],
    high: Decimal,
    high_inclusive: bool = False,
    positive: bool = False,
    what: str = "a percentage",
) -> Decimal:
    """A percentage with at most 4 decimals (NUMERIC(7, 4)) in [0, high) or (0, high]."""
    return decimal_in_range(
        value,
        field=field,
        low=ZERO,
        high=high,
        low_inclusive=not positive,
        high_inclusive=high_inclusive,
        places=4,
        code="OUT_OF_RANGE",
        what=what,
    )


def positive_money(value: Decimal, *, field: tuple[str, ...]) -> Decimal:
    if value <= 0:
        raise ValidationFailed("must be more than zero", field=field, code="MUST_BE_POSITIVE")
    return value


def nonnegative_money(value: Decimal, *, field: tuple[str, ...]) -> Decimal:
    if value < 0:
        raise ValidationFailed("cannot be negative", field=field, code="MUST_NOT_BE_NEGATIVE")
    return value


def int_in_range(
    value: int, *, field: tuple[str, ...], low: int, high: int, code: str, what: str
) -> int:
    if not low <= value <= high:
        raise ValidationFailed(
            f"{what} must be between {low} and {high}, got {value}", field=field, code=code
        )
    return value


def credit_score(value: int, *, field: tuple[str, ...]) -> int:
    return int_in_range(
        value, field=field, low=300, high=850, code="CREDIT_SCORE_OUT_OF_RANGE", what="a score"
    )


def term_months(value: int, *, field: tuple[str, ...]) -> int:
    return int_in_range(
        value, field=field, low=1, high=120, code="TERM_OUT_OF_RANGE", what="a term in months"
    )


def optional_text(
    value: str | None, *, field: tuple[str, ...], max_length: int = 200
) -> str | None:
    text = (value or "").strip()
    if len(text) > max_length:
        raise ValidationFailed(f"at most {max_length} characters", field=field, code="TOO_LONG")
    return text or None


def state_code(value: str | None, *, field: tuple[str, ...]) -> str:
    state = (value or "").strip().upper()
    if not state:
        raise ValidationFailed("this field is required", field=field, code="REQUIRED")
    if not _STATE.match(state):
        raise ValidationFailed(
            "use the two-letter state code, e.g. OH", field=field, code="INVALID_STATE"
        )
    return state


def postal_code(value: str | None, *, field: tuple[str, ...]) -> str | None:
    postal = (value or "").strip()
    if postal and not _POSTAL.match(postal):
        raise ValidationFailed(
            "a ZIP code is 5 digits, or ZIP+4", field=field, code="INVALID_POSTAL_CODE"
        )
    return postal or None
