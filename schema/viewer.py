"""The Viewer: who is signed in, and where."""

from __future__ import annotations

import strawberry

from schema.dealerships import Dealership
from schema.enums import Role
from schema.users import User


@strawberry.type(description="The signed-in user, their dealership and role.")
class Viewer:
    user: User
    dealership: Dealership
    role: Role
