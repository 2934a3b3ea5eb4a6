"""The per-request context every resolver receives: caller, tenant session, loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from db.errors import Unauthenticated
from db.tenant import TenantDB
from server.tokens import Principal

if TYPE_CHECKING:
    # Loaders build schema types, and schema types take this module's Info: import lazily.
    from resolvers.loaders import Loaders


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    request_id: str
    principal: Principal | None
    db: TenantDB
    loaders: Loaders
    extra: dict[str, object] = field(default_factory=dict)

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated("sign in first: send an `Authorization: Bearer <token>` header")
        return self.principal


Info: TypeAlias = strawberry.Info[Context, None]
