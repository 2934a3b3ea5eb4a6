"""Reading GraphQL input objects: which fields did the client actually send?"""

from __future__ import annotations

import dataclasses

import strawberry


def provided(value: object, *, exclude: tuple[str, ...] = ()) -> dict[str, object]:
    """The input's fields that were sent (an explicit null included), by Python name."""
    assert dataclasses.is_dataclass(value)
    return {
        f.name: getattr(value, f.name)
        for f in dataclasses.fields(value)
        if f.name not in exclude and getattr(value, f.name) is not strawberry.UNSET
    }
