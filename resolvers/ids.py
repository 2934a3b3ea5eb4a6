"""Global ids in arguments and inputs: decoded with the expected type, or a ValidationError
that names the field."""

from __future__ import annotations

from db.errors import ValidationFailed
from schema.relay import from_global_id


def decode_id(value: str, expected: str, *, field: tuple[str, ...]) -> int:
    try:
        type_name, pk = from_global_id(value)
    except ValueError:
        raise ValidationFailed(
            f"{value!r} is not a valid id", field=field, code="INVALID_ID"
        ) from None
    if type_name != expected:
        raise ValidationFailed(
            f"expected the id of a {expected}, got the id of a {type_name}",
            field=field,
            code="INVALID_ID",
        )
    return pk


def decode_optional_id(value: str | None, expected: str, *, field: tuple[str, ...]) -> int | None:
    return None if value is None else decode_id(value, expected, field=field)
