"""Building GraphQL objects from database rows (ORM instances or Core rows alike)."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from schema.relay import to_global_id

T = TypeVar("T")


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
