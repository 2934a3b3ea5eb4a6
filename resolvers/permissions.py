"""Authorization in one place: every root field declares the action it performs with
`extensions=[Requires("<entity>.<verb>")]`, and this extension checks it before the
resolver runs. Resolvers never check roles themselves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension

from resolvers.context import Context, Info

Resolver = Callable[..., Any]


class Requires(FieldExtension):
    """The caller must be signed in (and, once roles are enforced, allowed `action`)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action

    def _check(self, context: Context) -> None:
        context.require_principal()

    def resolve(self, next_: Resolver, source: Any, info: Info, **kwargs: Any) -> Any:
        self._check(info.context)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        self._check(info.context)
        return await next_(source, info, **kwargs)


class Public(Requires):
    """A field anyone may call, signed in or not (e.g. resetPassword, which its token
    authorises). Same interface as Requires, so the action is still declared."""

    def _check(self, context: Context) -> None:
        pass


def requires(action: str) -> list[FieldExtension]:
    """`strawberry.field(..., extensions=requires("deal.write"))`: a fresh extension per field."""
    return [Requires(action)]


def public(action: str) -> list[FieldExtension]:
    """`strawberry.field(..., extensions=public("password.reset"))`: no sign-in needed."""
    return [Public(action)]
