"""Turning a storage Page into a Relay Connection, with a lazily counted total."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from db.storage.pagination import Page
from resolvers.context import Info
from schema.relay import Connection, Edge, PageInfo

S = TypeVar("S")
T = TypeVar("T")


def to_connection(
    info: Info,
    page: Page[S],
    build: Callable[[S], T],
    count: Callable[[AsyncSession], Awaitable[int]],
) -> Connection[T]:
    """`count` runs only if the client selects `totalCount`."""
    db = info.context.db

    async def total() -> int:
        async with db.session() as session:
            return await count(session)

    cursors = page.cursors
    edges = [Edge(node=build(item), cursors=cursors, index=i) for i, item in enumerate(page.items)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        count=total,
    )
