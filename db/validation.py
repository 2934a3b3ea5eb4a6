"""Validation and normalisation of values people type: VINs, e-mail addresses, phones,
free text, state and ZIP codes, time zones and times, money, percentages and other bounded
numbers (terms, credit scores, model years, mileage).

Each check raises ValidationFailed naming the input field at fault (`field`, a path such as
("input", "postalCode")) with a stable UPPER_SNAKE code, and returns the value normalised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from db.errors import ValidationFailed

T = TypeVar("T")

ZERO = Decimal("0")
MAX_TERM_MONTHS = 120
MIN_MODEL_YEAR = 1900
MAX_MILEAGE = 2_000_000
_STATE = re.compile(r"^[A-Z]{2}$")
_POSTAL = re.compile(r"^\d{5}(-\d{4})?$")


def camel(name: str) -> str:
    """The GraphQL (input) name of a Python field name: "postal_code" -> "postalCode"."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_TRANSLITERATION = {
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
    **{str(d): d for d in range(10)},
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    """The ninth character of a North American VIN (49 CFR 565.15)."""
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_vin(value: str, *, field: tuple[str, ...]) -> str:
    vin = value.strip().upper()
    if len(vin) != 17:
        raise ValidationFailed("a VIN has exactly 17 characters", field=field, code="INVALID_VIN")
    bad = sorted({c for c in vin if c not in _TRANSLITERATION})
    if bad:
        raise ValidationFailed(
            f"a VIN cannot contain {', '.join(bad)} (I, O and Q are never used)",
            field=field,
            code="INVALID_VIN",
        )
    if vin[8] != vin_check_digit(vin):
        raise ValidationFailed(
            f"the VIN's check digit should be {vin_check_digit(vin)}, not {vin[8]}; "
            "check it for typing errors",
            field=field,
            code="INVALID_VIN_CHECK_DIGIT",
        )
    return vin


def normalize_email(value: str, *, field: tuple[str, ...]) -> str:
    try:
        # No DNS lookups: validation must not depend on the network.
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationFailed(
            f"not a valid e-mail address: {exc}", field=field, code="INVALID_EMAIL"
        ) from None


def normalize_phone(value: str, *, field: tuple[str, ...], region: str = "US") -> str:
    """E.164, e.g. "+16145550123". Numbers without a country code are read as `region`."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed(
            "not a valid phone number", field=field, code="INVALID_PHONE"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed("not a valid phone number", field=field, code="INVALID_PHONE")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def optional_email(value: str | None, *, field: tuple[str, ...]) -> str | None:
    """normalize_email, or None when blank."""
    email = (value or "").strip()
    return normalize_email(email, field=field) if email else None


def optional_phone(value: str | None, *, field: tuple[str, ...]) -> str | None:
    """normalize_phone, or None when blank."""
    phone = (value or "").strip()
    return normalize_phone(phone, field=field) if phone else None


# --- presence, text, addresses, times ------------------------------------------------------


def required(field: tuple[str, ...]) -> ValidationFailed:
    """The error for a required field the client left out (or left blank)."""
    return ValidationFailed("this field is required", field=field, code="REQUIRED")


def not_null(value: T | None, *, field: tuple[str, ...]) -> T:
    """`value`, refused (REQUIRED) when null: for fields that cannot be empty or cleared."""
    if value is None:
        raise ValidationFailed("this field cannot be null", field=field, code="REQUIRED")
    return value


def require_text(value: str | None, *, field: tuple[str, ...], max_length: int = 200) -> str:
    text = (value or "").strip()
    if not text:
        raise required(field)
    if len(text) > max_length:
        raise ValidationFailed(f"at most {max_length} characters", field=field, code="TOO_LONG")
    return text


def optional_text(
    value: str | None, *, field: tuple[str, ...], max_length: int = 200
) -> str | None:
    """Trimmed, at most `max_length` characters; None when blank."""
    text = (value or "").strip()
    if len(text) > max_length:
        raise ValidationFailed(f"at most {max_length} characters", field=field, code="TOO_LONG")
    return text or None


def state_code(value: str | None, *, field: tuple[str, ...]) -> str | None:
    """A two-letter state code, upper-cased; None when blank."""
    state = (value or "").strip().upper()
    if state and not _STATE.match(state):
        raise ValidationFailed(
            "use the two-letter state code, e.g. OH", field=field, code="INVALID_STATE"
        )
    return state or None


def required_state_code(value: str | None, *, field: tuple[str, ...]) -> str:
    state = state_code(value, field=field)
    if state is None:
        raise required(field)
    return state


def postal_code(value: str | None, *, field: tuple[str, ...]) -> str | None:
    """A 5-digit ZIP code or ZIP+4; None when blank."""
    postal = (value or "").strip()
    if postal and not _POSTAL.match(postal):
        raise ValidationFailed(
            "a ZIP code is 5 digits, or ZIP+4", field=field, code="INVALID_POSTAL_CODE"
        )
    return postal or None


def zone_info(name: str, *, field: tuple[str, ...]) -> ZoneInfo:
    """An IANA time zone such as America/Chicago."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationFailed(
            f"{name!r} is not a time zone; use an IANA name such as America/Chicago",
            field=field,
            code="INVALID_TIME_ZONE",
        ) from None


def utc_instant(value: datetime, *, field: tuple[str, ...]) -> datetime:
    """A point in time given with its UTC offset, in UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(
            "give the time with its UTC offset, e.g. 2030-05-01T15:00:00-04:00",
            field=field,
            code="TIME_ZONE_REQUIRED",
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed(
            "the time is out of range", field=field, code="INVALID_DATE"
        ) from None


# --- numbers -------------------------------------------------------------------------------


def decimal_in_range(
    value: Decimal,
    *,
    field: tuple[str, ...],
    low: Decimal,
    high: Decimal,
    low_inclusive: bool = True,
    high_inclusive: bool = False,
    places: int | None = None,
    what: str,
    code: str = "OUT_OF_RANGE",
    not_finite_code: str = "INVALID_NUMBER",
    places_code: str = "TOO_PRECISE",
) -> Decimal:
    """`value` within the bounds (each inclusive or not, as given) and, when `places` is
    given, with at most that many decimals; returned with exactly `places` decimals."""
    if not value.is_finite():
        raise ValidationFailed(f"{what} must be a finite number", field=field, code=not_finite_code)
    above = value >= low if low_inclusive else value > low
    below = value <= high if high_inclusive else value < high
    if not (above and below):
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        raise ValidationFailed(
            f"{what} must be in {left}{low}, {high}{right}, got {value}", field=field, code=code
        )
    if places is None:
        return value
    step = Decimal(1).scaleb(-places)
    if value != value.quantize(step):
        raise ValidationFailed(
            f"{what} has at most {places} decimal places", field=field, code=places_code
        )
    return value.quantize(step)


@dataclass(frozen=True)
class DecimalRange:
    """The bounds of decimal_in_range as a value, for tables of fields checked alike."""

    low: Decimal
    high: Decimal
    what: str
    places: int | None = None
    low_inclusive: bool = True
    high_inclusive: bool = False
    code: str = "OUT_OF_RANGE"

    def check(self, value: Decimal, *, field: tuple[str, ...]) -> Decimal:
        return decimal_in_range(
            value,
            field=field,
            low=self.low,
            high=self.high,
            low_inclusive=self.low_inclusive,
            high_inclusive=self.high_inclusive,
            places=self.places,
            what=self.what,
            code=self.code,
        )


def percent(
    value: Decimal,
    *,
    field: tuple[str, ...],
    high: Decimal,
    high_inclusive: bool = False,
    positive: bool = False,
    what: str = "a percentage",
) -> Decimal:
    """A percentage of a lender or tax input, with at most 4 decimals (NUMERIC(7, 4)), in
    [0, high) or (0, high]; every failure but precision is OUT_OF_RANGE."""
    return decimal_in_range(
        value,
        field=field,
        low=ZERO,
        high=high,
        low_inclusive=not positive,
        high_inclusive=high_inclusive,
        places=4,
        what=what,
        not_finite_code="OUT_OF_RANGE",
        places_code="TOO_MANY_DECIMALS",
    )


def money_factor(value: Decimal, *, field: tuple[str, ...], high: Decimal) -> Decimal:
    """A lender's lease money factor: above 0, below `high`, at most 7 decimals."""
    return decimal_in_range(
        value,
        field=field,
        low=ZERO,
        high=high,
        low_inclusive=False,
        places=7,
        what="a money factor",
        not_finite_code="OUT_OF_RANGE",
        places_code="TOO_MANY_DECIMALS",
    )


def positive_money(value: Decimal, *, field: tuple[str, ...]) -> Decimal:
    if value <= 0:
        raise ValidationFailed("must be more than zero", field=field, code="MUST_BE_POSITIVE")
    return value


def nonnegative_money(
    value: Decimal,
    *,
    field: tuple[str, ...],
    at_most: Decimal | None = None,
    code: str = "MUST_NOT_BE_NEGATIVE",
) -> Decimal:
    """Zero or more (`code` when negative) and, when given, at most `at_most`."""
    if value < 0:
        raise ValidationFailed("cannot be negative", field=field, code=code)
    if at_most is not None and value > at_most:
        raise ValidationFailed(f"at most {at_most:,}", field=field, code="AMOUNT_TOO_LARGE")
    return value


def int_in_range(
    value: int,
    *,
    field: tuple[str, ...],
    low: int,
    high: int,
    what: str,
    code: str = "OUT_OF_RANGE",
) -> int:
    """`value` from `low` to `high`, both included."""
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
        value,
        field=field,
        low=1,
        high=MAX_TERM_MONTHS,
        code="TERM_OUT_OF_RANGE",
        what="a term in months",
    )


def max_model_year() -> int:
    """Next year's models are on sale this year; nothing later is."""
    return datetime.now(UTC).year + 1


def model_year(value: int, *, field: tuple[str, ...], code: str) -> int:
    """A vehicle's model year, MIN_MODEL_YEAR to next year (`code`: inventory vehicles and
    trade-ins answer with different ones)."""
    return int_in_range(
        value,
        field=field,
        low=MIN_MODEL_YEAR,
        high=max_model_year(),
        code=code,
        what="the model year",
    )


def mileage(value: int, *, field: tuple[str, ...], code: str) -> int:
    """An odometer reading, 0 to MAX_MILEAGE (`code` as for model_year)."""
    return int_in_range(value, field=field, low=0, high=MAX_MILEAGE, code=code, what="the mileage")
