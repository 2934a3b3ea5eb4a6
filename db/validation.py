"""Validation and normalisation of values people type: VINs, e-mail addresses, phones."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from db.errors import ValidationFailed

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


def require_text(value: str | None, *, field: tuple[str, ...], max_length: int = 200) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed("this field is required", field=field, code="REQUIRED")
    if len(text) > max_length:
        raise ValidationFailed(f"at most {max_length} characters", field=field, code="TOO_LONG")
    return text
