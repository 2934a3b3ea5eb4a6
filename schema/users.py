"""GraphQL types of staff users and the viewer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers.context import Info
from schema.enums import Role
from schema.relay import Node

if TYPE_CHECKING:
    from schema.dealerships import Dealership


@strawberry.type(description="A staff member of a dealership.")
class User(Node):
    pk: strawberry.Private[int]
    dealership_id: strawberry.Private[int]
    email: str
    first_name: str
    last_name: str
    phone: str | None
    title: str | None
    role: Role
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime

    @strawberry.field
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @strawberry.field
    async def dealership(
        self, info: Info
    ) -> Annotated[Dealership, strawberry.lazy("schema.dealerships")]:
        return await info.context.loaders.dealership.load_one(self.dealership_id)
