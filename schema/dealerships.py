"""GraphQL types of dealerships and their settings."""

from __future__ import annotations

import strawberry

from schema.relay import Node


@strawberry.type(description="A dealership: the tenant every other record belongs to.")
class Dealership(Node):
    pk: strawberry.Private[int]
    code: str
    name: str
    legal_name: str | None
    phone: str | None
    email: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    is_active: bool
