"""Custom scalars: Money as an exact decimal string."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, NewType, TypeAlias

import strawberry
from graphql import GraphQLError

CENT = Decimal("0.01")
MONEY_LIMIT = Decimal("10000000000")  # NUMERIC(12, 2)


def _serialize_money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def parse_money(value: object) -> Decimal:
    """A client's amount. A bad one raises GraphQLError, like Strawberry's own scalars: graphql-
    core then reports it as invalid input (any other exception would be an internal error)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise GraphQLError('Money must be a decimal string such as "1234.50"')
    try:
        # str() first: a JSON number arrives as a float, and Decimal(float) is inexact.
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise GraphQLError(
            f'Money must be a decimal string such as "1234.50", not {value!r}'
        ) from None
    if not amount.is_finite():
        raise GraphQLError("Money must be a finite amount")
    if abs(amount) >= MONEY_LIMIT:  # first: quantizing 1e400 would overflow the context
        raise GraphQLError("Money must be below 10,000,000,000")
    if amount != amount.quantize(CENT):
        raise GraphQLError("Money has at most two decimal places")
    return amount.quantize(CENT)


# The type money fields are annotated with. Type checkers see the Decimal it is; at run time
# it is a distinct type that the schema maps to the Money scalar (scalar_map in schema/root.py).
if TYPE_CHECKING:
    Money: TypeAlias = Decimal
else:
    Money = NewType("Money", Decimal)

# ... and the GraphQL scalar it maps to (schema/root.py passes it in scalar_map).
MONEY_SCALAR = strawberry.scalar(
    name="Money",
    description=(
        'An amount in US dollars as an exact decimal string with two places, e.g. "31999.00". '
        "Inputs also accept integers; never floating point on output."
    ),
    serialize=_serialize_money,
    parse_value=parse_money,
)
