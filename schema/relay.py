"""Relay plumbing: the Node interface, global ids, cursors and connections."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Generic, Protocol, TypeVar

import strawberry

T = TypeVar("T")


@strawberry.interface(description="An object with a globally unique, opaque id.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id; pass it to `node(id:)`.")


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    # binascii directly: base64.b64encode wraps the same call (a page of deals makes ~300).
    return strawberry.ID(binascii.b2a_base64(f"{type_name}:{pk}".encode(), newline=False).decode())


def from_global_id(global_id: str) -> tuple[str, int]:
    """(type name, primary key); ValueError if the id is not one of ours."""
    try:
        raw = base64.b64decode(global_id.encode(), validate=True).decode()
        type_name, _, pk = raw.partition(":")
        value = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"{global_id!r} is not a valid id") from None
    if not type_name or value <= 0 or str(value) != pk:
        raise ValueError(f"{global_id!r} is not a valid id")
    return type_name, value


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


class CursorList(Protocol):
    def __getitem__(self, index: int) -> str: ...


@strawberry.type
class Edge(Generic[T]):
    node: T
    # The page's cursors, made when first read: a client that asks only for nodes pays for
    # none (a cursor is a JSON document in base64).
    cursors: strawberry.Private[CursorList]
    index: strawberry.Private[int]

    @strawberry.field(description="Where this edge is: pass it as `after` or `before`.")
    def cursor(self) -> str:
        return self.cursors[self.index]


@strawberry.type(description="A page of a list, Relay style.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many items the whole list has, ignoring pagination.")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"
