"""GraphQL type of inventory vehicles.

A minimal version, enough for deals to point at their vehicle; the vehicles domain replaces
this module with the full type (keeping `deals`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers.context import Info
from schema.enums import VehicleStatus
from schema.relay import Node

# The Money scalar is a value, not a type mypy accepts: type checkers see the Decimal it
# carries, the schema sees the scalar.
if TYPE_CHECKING:
    from decimal import Decimal as Money

    from schema.deals import Deal
else:
    from schema.scalars import Money


@strawberry.type(description="A vehicle in the dealership's inventory.")
class Vehicle(Node):
    pk: strawberry.Private[int]
    vin: str
    stock_number: str
    year: int
    make: str
    model: str
    trim: str | None
    list_price: Money
    status: VehicleStatus

    @strawberry.field(description="Deals on this vehicle, newest first.")
    async def deals(self, info: Info) -> list[Annotated[Deal, strawberry.lazy("schema.deals")]]:
        return await info.context.loaders.vehicle_deals.load(self.pk)
