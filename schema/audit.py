"""GraphQL types of the audit trails. Read-only: no mutation changes or removes an entry."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from resolvers.context import Info
from schema.relay import Node, OrderDirection, to_global_id

if TYPE_CHECKING:
    from schema.users import User


@strawberry.type(description="One change to a business record: who, when, what changed.")
class AuditLog(Node):
    pk: strawberry.Private[int]
    user_id: strawberry.Private[int | None]
    entity_id: strawberry.Private[int]
    occurred_at: datetime
    action: str = strawberry.field(description='"<entity>.<verb>", e.g. "customer.update".')
    entity_type: str = strawberry.field(description="GraphQL type name, e.g. Customer.")
    changes: JSON = strawberry.field(
        description='{"field": {"before": .., "after": ..}} for each field that changed.'
    )
    request_id: str | None = strawberry.field(description="The API request that made it.")

    @strawberry.field(name="entityId", description="Global id of the changed record.")
    def entity_global_id(self) -> strawberry.ID:
        return to_global_id(self.entity_type, self.entity_id)

    @strawberry.field(description="Who made the change; null for system changes.")
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")] | None:
        return None if self.user_id is None else await info.context.loaders.user.load(self.user_id)


@strawberry.type(description="A security event: a sign-in, a refusal, a cross-tenant attempt.")
class SecurityAuditLog(Node):
    pk: strawberry.Private[int]
    user_id: strawberry.Private[int | None]
    client_ip: strawberry.Private[IPv4Address | IPv6Address | str | None]
    occurred_at: datetime
    event: str = strawberry.field(description='e.g. "tenant.cross_tenant_write".')
    outcome: str = strawberry.field(description="success, failure or denied.")
    user_agent: str | None
    details: JSON
    request_id: str | None

    @strawberry.field(name="clientIp")
    def client_ip_text(self) -> str | None:
        return None if self.client_ip is None else str(self.client_ip)

    @strawberry.field(description="The user concerned, when known.")
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")] | None:
        return None if self.user_id is None else await info.context.loaders.user.load(self.user_id)


@strawberry.enum(description="What audit entries can be sorted by.")
class AuditLogOrderField(Enum):
    OCCURRED_AT = "occurred_at"


@strawberry.input
class AuditLogOrder:
    field: AuditLogOrderField = AuditLogOrderField.OCCURRED_AT
    direction: OrderDirection = OrderDirection.DESC


@strawberry.input
class SecurityAuditLogOrder:
    field: AuditLogOrderField = AuditLogOrderField.OCCURRED_AT
    direction: OrderDirection = OrderDirection.DESC


@strawberry.input(description="Narrow the audit trail. All given conditions must hold.")
class AuditLogFilter:
    entity_type: str | None = strawberry.field(default=None, description="e.g. Customer.")
    entity_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of any record: its entries only."
    )
    user_id: strawberry.ID | None = None
    action: str | None = strawberry.field(
        default=None, description='Exact, or a prefix ending in "." such as "deal.".'
    )
    occurred_after: datetime | None = strawberry.field(
        default=None, description="At or after this time (with a time zone offset)."
    )
    occurred_before: datetime | None = strawberry.field(
        default=None, description="Before this time (with a time zone offset)."
    )


@strawberry.input(description="Narrow the security trail. All given conditions must hold.")
class SecurityAuditLogFilter:
    event: str | None = strawberry.field(
        default=None, description='Exact, or a prefix ending in "." such as "auth.".'
    )
    outcome: str | None = None
    user_id: strawberry.ID | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
