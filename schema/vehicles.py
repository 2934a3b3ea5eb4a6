"""GraphQL type of inventory vehicles: the fields appointments and quick quotes show."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry

from schema.enums import VehicleStatus
from schema.relay import Node

if TYPE_CHECKING:
    from decimal import Decimal as Money
else:
    # The Money scalar, typed for mypy as the Decimal it carries.
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
