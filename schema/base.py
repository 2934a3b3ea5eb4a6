"""Building GraphQL objects from database rows: ORM instances and Core rows (from_row), or
asyncpg records on the hot read paths (row_builder)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

import orjson
from sqlalchemy import JSON, Enum, Table
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.types import TypeEngine

from schema.relay import to_global_id

T = TypeVar("T")


class Row(Protocol):
    """A database row read by position (an asyncpg Record, a tuple)."""

    def __getitem__(self, index: int, /) -> object: ...


_INIT_FIELDS: dict[type, tuple[str, ...]] = {}


def _init_fields(cls: type) -> tuple[str, ...]:
    names = _INIT_FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.init)
        _INIT_FIELDS[cls] = names
    return names


def from_row(cls: type[T], row: object) -> T:
    """Build `cls` from an object with same-named attributes. `id` becomes the Relay global
    id of the row's primary key, which stays available as `pk`."""
    values: dict[str, object] = {}
    for name in _init_fields(cls):
        if name == "id":
            values["id"] = to_global_id(cls.__name__, getattr(row, "id"))  # noqa: B009
        elif name == "pk":
            values["pk"] = getattr(row, "id")  # noqa: B009
        else:
            values[name] = getattr(row, name)
    return cls(**values)


def row_builder(
    cls: type[T], columns: Sequence[str], table: Table, *, partial: bool = False
) -> Callable[[Row], T]:
    """A fast constructor of `cls` from database rows whose values come in `columns` order
    (asyncpg records): the fields are set directly, without the dataclass __init__, and
    each column is converted as SQLAlchemy would (enums, INET, JSON). `partial`: the rows
    hold some of the columns only, and the objects get those fields only."""
    index = {name: i for i, name in enumerate(columns)}
    plan: list[tuple[str, int, Callable[[object], object] | None]] = []
    type_name = cls.__name__
    for name in _init_fields(cls):
        if name == "id":
            plan.append((name, index["id"], lambda pk: to_global_id(type_name, int(pk))))  # type: ignore[call-overload]
        elif name == "pk":
            plan.append((name, index["id"], None))
        elif name in index:
            plan.append((name, index[name], _converter(table.c[name].type)))
        elif not partial:
            raise TypeError(f"{type_name}.{name} has no column in {table.name}")
    # The constructor is generated (as dataclasses generates __init__): one dict display
    # per row instead of a loop over the plan, which on a page of deals is several times
    # faster.
    namespace: dict[str, object] = {"new": object.__new__, "cls": cls}
    lines = ["def build(row):", "    obj = new(cls)"]
    items = []
    for i, (name, position, convert) in enumerate(plan):
        if convert is None:
            items.append(f"{name!r}: row[{position}]")
        else:
            namespace[f"convert{i}"] = convert
            lines.append(f"    value{i} = row[{position}]")
            items.append(f"{name!r}: None if value{i} is None else convert{i}(value{i})")
    lines.append("    obj.__dict__.update({" + ", ".join(items) + "})")
    lines.append("    return obj")
    exec("\n".join(lines), namespace)  # noqa: S102 - built from our own field names
    build = namespace["build"]
    assert callable(build)
    return build


def _enum_of(enum_class: type[enum.Enum]) -> Callable[[object], object]:
    """The member for a stored value: a dict lookup (calling the enum class costs several
    times more), the class itself for a value it does not know (it raises)."""
    members: dict[object, enum.Enum] = {member.value: member for member in enum_class}

    def member(value: object) -> object:
        found = members.get(value)
        return found if found is not None else enum_class(value)

    return member


def _converter(column_type: TypeEngine[object]) -> Callable[[object], object] | None:
    if isinstance(column_type, Enum) and column_type.enum_class is not None:
        return _enum_of(column_type.enum_class)
    if isinstance(column_type, INET):
        return str
    if isinstance(column_type, JSON):
        return lambda value: orjson.loads(value) if isinstance(value, str | bytes) else value
    return None
