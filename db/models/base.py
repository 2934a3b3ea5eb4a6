"""Declarative base, naming convention and the column shapes every model shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    MetaData,
    Numeric,
    event,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _fk_columns(constraint: ForeignKeyConstraint, table: object) -> str:
    # dealership_id is in every tenant foreign key; naming by the other columns keeps names
    # distinct and under PostgreSQL's 63-character limit.
    names = [c.name for c in constraint.columns if c.name != "dealership_id"]
    return "_".join(names) or "dealership_id"


# Stable constraint names keep Alembic migrations reviewable and reproducible.
NAMING_CONVENTION: dict[str, str | Callable[[ForeignKeyConstraint, object], str]] = {
    "fk_columns": _fk_columns,
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(fk_columns)s",
    "pk": "pk_%(table_name)s",
}

BigId = Annotated[int, "bigint"]
Money = Annotated[Decimal, "money"]  # NUMERIC(12, 2): dollars and cents
Rate = Annotated[Decimal, "rate"]  # NUMERIC(7, 4): a percentage such as an APR of 6.9900
Factor = Annotated[Decimal, "factor"]  # NUMERIC(9, 7): a lease money factor such as 0.0025000
Timestamp = Annotated[datetime, "timestamptz"]


class Base(DeclarativeBase):
    # INSERT and UPDATE ... RETURNING bring back what the database sets (ids, defaults,
    # updated_at), so a flushed row is complete without a SELECT after it.
    __mapper_args__ = {"eager_defaults": True}
    metadata = MetaData(naming_convention=NAMING_CONVENTION)  # type: ignore[arg-type]
    type_annotation_map = {
        BigId: BigInteger,
        Money: Numeric(12, 2),
        Rate: Numeric(7, 4),
        Factor: Numeric(9, 7),
        Timestamp: DateTime(timezone=True),
    }


class TenantMixin:
    """Every tenant-owned row: (dealership_id, id) is its primary key.

    Including dealership_id in every key lets composite foreign keys refuse a reference to
    another dealership's row, and lets the tables be distributed by dealership_id later.
    """

    dealership_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("dealerships.id"), primary_key=True, sort_order=-20
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True, sort_order=-10)


class Timestamps:
    created_at: Mapped[Timestamp] = mapped_column(server_default=func.now(), sort_order=90)
    updated_at: Mapped[Timestamp] = mapped_column(
        server_default=func.now(), onupdate=func.now(), sort_order=91
    )


class Versioned:
    """Optimistic concurrency: clients send the version they read; a stale write loses."""

    version: Mapped[int] = mapped_column(Integer, server_default="1", sort_order=80)


def tenant_fk(column: str, target: str, *, ondelete: str | None = None) -> ForeignKeyConstraint:
    """A foreign key that includes dealership_id, so the database refuses a reference to
    another dealership's row. With ON DELETE SET NULL only the id column is cleared."""
    if ondelete == "SET NULL":
        ondelete = f"SET NULL ({column})"
    return ForeignKeyConstraint(
        ["dealership_id", column],
        [f"{target}.dealership_id", f"{target}.id"],
        ondelete=ondelete,
    )


@event.listens_for(Base, "attribute_instrument", propagate=True)
def _quantize_to_scale(cls: type, key: str, attribute: object) -> None:
    """Decimal values take their column's scale as soon as they are set (4.9 becomes 4.9000
    in a NUMERIC(7, 4)), so a row reads the same before and after it is written, without a
    SELECT after each write."""
    prop = getattr(attribute, "property", None)
    columns = getattr(prop, "columns", None)
    if not columns:
        return
    column_type = columns[0].type
    if not isinstance(column_type, Numeric) or column_type.scale is None:
        return
    exponent = Decimal(1).scaleb(-column_type.scale)

    def quantize(target: object, value: object, old: object, initiator: object) -> object:
        if isinstance(value, Decimal) and value.is_finite():
            return value.quantize(exponent, rounding=ROUND_HALF_UP)
        return value

    event.listen(attribute, "set", quantize, retval=True)
