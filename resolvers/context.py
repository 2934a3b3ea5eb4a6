"""The per-request context every resolver receives: caller, tenant session, loaders."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from db.errors import Unauthenticated
from db.storage.audit import record_security_event
from db.storage.auth import ClientInfo
from db.tenant import TenantDB
from db.types import JSONObject
from server.tokens import Principal

if TYPE_CHECKING:
    # Loaders build schema types, and schema types take this module's Info: import lazily.
    from resolvers.loaders import Loaders

log = logging.getLogger("dealerdesk.context")


@dataclass(frozen=True)
class SecurityEvent:
    event: str
    outcome: str
    details: JSONObject


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    request_id: str
    principal: Principal | None
    db: TenantDB
    loaders: Loaders
    # What the caller's role may do in their dealership now (resolvers/permissions.py).
    actions: frozenset[str] = frozenset()
    extra: dict[str, object] = field(default_factory=dict)
    # Refusals noted while the operation runs; written once it has ended.
    security_events: list[SecurityEvent] = field(default_factory=list)
    # Set by the HTTP layer for a verified token: confirms its caller in the database, run by
    # the request pipeline (schema/extensions.py) once the operation has passed validation and
    # limits.
    confirm_caller: Callable[[], Awaitable[None]] | None = None
    # The operation run, noted by the request pipeline (schema/extensions.py) for the log and
    # metrics: its name (None when anonymous) and type ("query", "mutation").
    operation_name: str | None = None
    operation_type: str | None = None

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated("sign in first: send an `Authorization: Bearer <token>` header")
        return self.principal

    @property
    def client(self) -> ClientInfo:
        request = self.request
        return ClientInfo(
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            request_id=self.request_id or None,
        )

    async def sign_in(self, principal: Principal, actions: frozenset[str]) -> None:
        """The rest of the request runs as a user who has just signed in (login, refresh):
        their dealership's session, fresh loaders."""
        from resolvers.loaders import Loaders

        await self.db.bind(
            principal.dealership_id, user_id=principal.user_id, role=principal.role.value
        )
        self.principal = principal
        self.actions = actions
        self.loaders = Loaders(self.db)

    def note_security_event(self, event: str, outcome: str, details: JSONObject) -> None:
        """File a refusal in the security audit log (once per request and kind)."""
        entry = SecurityEvent(event, outcome, details)
        if entry not in self.security_events:
            self.security_events.append(entry)

    async def flush_security_events(self) -> None:
        """Write the noted events, in one transaction of their own: the refused work was
        not done, but the refusal is kept. A failure to write is logged, never raised."""
        events, self.security_events = self.security_events, []
        if not events:
            return
        principal = self.principal
        client = self.client

        async def work(session: AsyncSession) -> None:
            for entry in events:
                await record_security_event(
                    session,
                    dealership_id=principal.dealership_id if principal else None,
                    user_id=principal.user_id if principal else None,
                    event=entry.event,
                    outcome=entry.outcome,
                    client_ip=client.ip,
                    user_agent=client.user_agent,
                    request_id=client.request_id,
                    details=entry.details,
                )

        try:
            if principal is None:
                await self.db.bind(0, user_id=None, role=None)  # filed under dealership 0
            await self.db.transaction(work)
        except Exception:
            log.exception("could not record security events")


Info: TypeAlias = strawberry.Info[Context, None]
