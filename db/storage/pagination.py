"""Keyset pagination for Relay connections: stable under inserts, cheap on deep pages.

A cursor holds the sort key values of a row plus its id (the tie-breaker), typed so that
the comparison in SQL uses the column's own type.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Generic, TypeVar, cast

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from db.errors import ValidationFailed
from db.validation import int_in_range

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

CursorValue = int | str | Decimal | datetime | date | bool | None


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


SortColumn = QueryableAttribute[CursorValue] | ColumnElement[CursorValue]


@dataclass(frozen=True)
class SortKey:
    column: SortColumn
    descending: bool = False


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: Cursors
    has_next_page: bool
    has_previous_page: bool


def _encode_value(value: CursorValue) -> list[str | int | bool | None]:
    if isinstance(value, bool) or value is None:
        return ["b", value]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, Decimal):
        return ["d", str(value)]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["D", value.isoformat()]
    return ["s", value]


def _decode_value(item: object) -> CursorValue:
    if not isinstance(item, list) or len(item) != 2:
        raise ValueError("bad cursor item")
    tag, raw = item
    if tag == "b" and (raw is None or isinstance(raw, bool)):
        return raw
    if tag == "i" and isinstance(raw, int):
        return raw
    if tag == "s" and isinstance(raw, str):
        return raw
    if isinstance(raw, str):
        if tag == "d":
            return Decimal(raw)
        if tag == "t":
            return datetime.fromisoformat(raw)
        if tag == "D":
            return date.fromisoformat(raw)
    raise ValueError("bad cursor item")


def signature(keys: Sequence[SortKey]) -> str:
    """Names the ordering a cursor belongs to: a cursor of another ordering (or another
    list) is refused instead of being compared with columns of other types."""
    return ",".join(f"{k.column.key}{'-' if k.descending else '+'}" for k in keys)


def encode_cursor(values: Sequence[CursorValue], keys: Sequence[SortKey]) -> str:
    raw = json.dumps(
        {"k": signature(keys), "v": [_encode_value(v) for v in values]}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _expected(key: SortKey) -> tuple[type, ...]:
    python_type = key.column.type.python_type
    if issubclass(python_type, Enum):
        return (str,)
    if python_type is datetime:
        return (datetime,)
    if python_type is date:
        return (date,)
    return (python_type,)


def decode_cursor(cursor: str, keys: Sequence[SortKey], *, field: str) -> list[CursorValue]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(payload, dict) or payload.get("k") != signature(keys):
            raise ValueError("another ordering")
        items = payload.get("v")
        if not isinstance(items, list) or len(items) != len(keys):
            raise ValueError("wrong width")
        values = [_decode_value(item) for item in items]
        for value, key in zip(values, keys, strict=True):
            if value is not None and (
                isinstance(value, bool) != (key.column.type.python_type is bool)
                or not isinstance(value, _expected(key))
            ):
                raise ValueError("wrong type")
        return values
    except (ValueError, binascii.Error, InvalidOperation, UnicodeDecodeError, TypeError):
        raise ValidationFailed(
            f"`{field}` is not a cursor of this list (cursors depend on the sort order)",
            field=(field,),
            code="INVALID_CURSOR",
        ) from None


def _page_size(args: PageArgs) -> tuple[int, bool]:
    """(size, backwards). `first` and `last` are capped at MAX_PAGE_SIZE."""
    if args.first is not None and args.last is not None:
        raise ValidationFailed(
            "pass either `first` or `last`, not both", field=("last",), code="INVALID_ARGUMENTS"
        )
    for name, value in (("first", args.first), ("last", args.last)):
        if value is not None:
            int_in_range(
                value,
                field=(name,),
                low=1,
                high=MAX_PAGE_SIZE,
                code="PAGE_SIZE_OUT_OF_RANGE",
                what=f"`{name}`",
            )
    if args.last is not None:
        return args.last, True
    return args.first if args.first is not None else DEFAULT_PAGE_SIZE, False


def _after(keys: Sequence[SortKey], values: Sequence[CursorValue]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order `keys` (lexicographic, mixed directions)."""
    clauses = []
    for i, key in enumerate(keys):
        equal = [keys[j].column == values[j] for j in range(i)]
        step = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal, step))
    return or_(*clauses)


class Cursors:
    """The cursors of a page's rows, each encoded when first read (index like a list)."""

    def __init__(self, rows: Sequence[object], keys: Sequence[SortKey]) -> None:
        self._rows = rows
        self._keys = keys
        self._names = [str(k.column.key) for k in keys]
        self._made: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> str:
        position = range(len(self))[index]  # IndexError as for a list, negatives too
        if position not in self._made:
            row = self._rows[position]
            values = [getattr(row, name) for name in self._names]
            self._made[position] = encode_cursor(values, self._keys)
        return self._made[position]


async def paginate(
    session: AsyncSession,
    stmt: Select[T],
    keys: Sequence[SortKey],
    args: PageArgs,
) -> Page[T]:
    """Run `stmt` (already filtered) one page at a time. `keys` must end with a unique
    column (the id); each returned item must expose those columns as attributes. A
    statement of one ORM entity gives instances, one of columns gives rows."""
    size, backwards = _page_size(args)
    order = [SortKey(k.column, not k.descending) for k in keys] if backwards else list(keys)

    if args.after is not None:
        stmt = stmt.where(_after(keys, decode_cursor(args.after, keys, field="after")))
    if args.before is not None:
        reverse = [SortKey(k.column, not k.descending) for k in keys]
        stmt = stmt.where(_after(reverse, decode_cursor(args.before, keys, field="before")))

    stmt = stmt.order_by(*(k.column.desc() if k.descending else k.column.asc() for k in order))
    result = await session.execute(stmt.limit(size + 1))
    entity = len(stmt.column_descriptions) == 1 and stmt.column_descriptions[0]["entity"]
    rows = cast(list[T], list(result.scalars().all() if entity else result.all()))
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    cursors = Cursors(rows, keys)
    if backwards:
        has_previous, has_next = more, args.before is not None
    else:
        has_next, has_previous = more, args.after is not None
    return Page(items=rows, cursors=cursors, has_next_page=has_next, has_previous_page=has_previous)


async def count(session: AsyncSession, stmt: Select[T]) -> int:
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return int(total or 0)
