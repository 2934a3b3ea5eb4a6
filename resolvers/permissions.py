"""Authorization in one place.

- Every root field declares the action it performs with `extensions=requires("<entity>.<verb>")`
  (or `public(...)` for the few that need no sign-in). `Requires` checks, before the resolver
  runs, that the caller's role has that action in their dealership's permissions table (the
  actions were loaded with the caller, once per request: server.auth). A denied mutation
  answers with the PermissionDeniedError member of its payload union; a denied query field
  is a GraphQL error with `extensions.code` FORBIDDEN.
- `node` / `nodes` ask `allows(info, <the type's read action>)` (resolvers/nodes.py).
- Sensitive fields (cost, gross, dealer reserve) carry `extensions=sensitive("deal.view_gross")`:
  null for roles without the action.
- Rows: a salesperson's deals are kept to their own by row-level security in the database
  (db.tenant binds the caller's user and role into every transaction).

Every denial is noted in the security audit log ("authz.denied": action, field), written
when the operation ends. Resolvers never check roles themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types.base import StrawberryOptional
from strawberry.types.field import StrawberryField
from strawberry.types.union import StrawberryUnion

from db.errors import PermissionDenied
from resolvers.context import Context, Info
from schema.errors import PermissionDeniedError

Resolver = Callable[..., Any]

DENIED = "authz.denied"


def _coordinate(info: Info) -> str:
    """The field being resolved, e.g. "Mutation.approveDeal"."""
    return f"{info._raw_info.parent_type.name}.{info.field_name}"


def note_denial(context: Context, *, action: str, field: str, **details: str) -> None:
    """Record a refusal in the security audit log (written when the operation ends)."""
    role = context.principal.role.value if context.principal else None
    context.note_security_event(
        DENIED, "denied", {"action": action, "field": field, "role": role, **details}
    )


def note_refusal(info: Info, exc: PermissionDenied) -> None:
    """Record a refusal that depended on the row (a deal a policy hides from the caller, an
    approved deal only a manager may close...): the field's declared action, and why."""
    field: StrawberryField = info._field
    action = next((e.action for e in field.extensions if isinstance(e, Requires)), "")
    note_denial(
        info.context,
        action=action,
        field=_coordinate(info),
        input=".".join(exc.field or ()),
        reason=exc.message,
    )


def allows(info: Info, action: str, **details: str) -> bool:
    """Whether the caller may take `action`; a refusal is noted in the security audit log.
    For checks that depend on what is asked for (e.g. the type a global id names)."""
    context = info.context
    if context.principal is not None and action in context.actions:
        return True
    note_denial(context, action=action, field=_coordinate(info), **details)
    return False


def _answers_with_error(field: StrawberryField) -> bool:
    """Whether the field's type is a payload union with a PermissionDeniedError member."""
    kind = field.type
    if isinstance(kind, StrawberryOptional):
        kind = kind.of_type
    return isinstance(kind, StrawberryUnion) and PermissionDeniedError in kind.types


class Requires(FieldExtension):
    """The caller must be signed in, and their role allowed `action`."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.error_in_payload = False

    def apply(self, field: StrawberryField) -> None:
        self.error_in_payload = _answers_with_error(field)

    def check(self, info: Info) -> PermissionDeniedError | None:
        """None when allowed; the payload's error when refused (or raises, for queries)."""
        context = info.context
        principal = context.require_principal()
        if self.action in context.actions:
            return None
        note_denial(context, action=self.action, field=_coordinate(info))
        message = f"your role ({principal.role.value}) may not do this ({self.action})"
        if self.error_in_payload:
            return PermissionDeniedError(message=message, code=PermissionDenied.code)
        raise PermissionDenied(message)

    def resolve(self, next_: Resolver, source: Any, info: Info, **kwargs: Any) -> Any:
        refused = self.check(info)
        if refused is not None:
            return refused
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        refused = self.check(info)
        if refused is not None:
            return refused
        return await next_(source, info, **kwargs)


class Public(Requires):
    """A field anyone may call, signed in or not (sign-in itself, resetPassword). Same
    interface as Requires, so the action is still declared."""

    def check(self, info: Info) -> PermissionDeniedError | None:
        return None


class Sensitive(FieldExtension):
    """A field only roles with `action` may see in the clear (cost and gross:
    deal.view_gross; customers' credit data: customer.sensitive.read). Everyone else gets
    null without the resolver running, or, with a `mask`, the masked value (e.g. the last
    four characters of a licence). The field must be nullable. The one mechanism for every
    such field."""

    def __init__(self, action: str, mask: Callable[[Any], Any] | None = None) -> None:
        super().__init__()
        self.action = action
        self.mask = mask

    def apply(self, field: StrawberryField) -> None:
        if not isinstance(field.type, StrawberryOptional):
            raise TypeError(f"{field.python_name} is sensitive, so it must be nullable")

    def _allowed(self, info: Info) -> bool:
        context = info.context
        if context.principal is not None and self.action in context.actions:
            return True
        note_denial(context, action=self.action, field=_coordinate(info), result="null")
        return False

    def _masked(self, value: Any) -> Any:
        return None if value is None or self.mask is None else self.mask(value)

    def resolve(self, next_: Resolver, source: Any, info: Info, **kwargs: Any) -> Any:
        if self._allowed(info):
            return next_(source, info, **kwargs)
        return None if self.mask is None else self._masked(next_(source, info, **kwargs))

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        if self._allowed(info):
            return await next_(source, info, **kwargs)
        return None if self.mask is None else self._masked(await next_(source, info, **kwargs))


def direct_checks(field: StrawberryField) -> list[Callable[[Info], object]] | None:
    """The checks of a field whose extensions are all Requires (or Public), to run without
    Strawberry's extension chain (schema/execution.py install_lean_resolvers); None for a
    field with any other extension."""
    extensions = field.extensions or []
    if not all(isinstance(e, Requires) for e in extensions):
        return None
    return [e.check for e in extensions if isinstance(e, Requires)]


def requires(action: str) -> list[FieldExtension]:
    """`strawberry.field(..., extensions=requires("deal.write"))`: a fresh extension per field."""
    return [Requires(action)]


def public(action: str) -> list[FieldExtension]:
    """`strawberry.field(..., extensions=public("password.reset"))`: no sign-in needed."""
    return [Public(action)]


def sensitive(action: str, mask: Callable[[Any], Any] | None = None) -> list[FieldExtension]:
    """`strawberry.field(..., extensions=sensitive("deal.view_gross"))` on a nullable field."""
    return [Sensitive(action, mask)]
