"""Resolvers for the signed-in user and their dealership."""

from __future__ import annotations

import strawberry

from db.errors import Unauthenticated
from resolvers.context import Info
from resolvers.permissions import requires
from schema.dealerships import Dealership
from schema.viewer import Viewer


async def viewer(info: Info) -> Viewer:
    principal = info.context.require_principal()
    loaders = info.context.loaders
    user = await loaders.user.load(principal.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("this account no longer exists or is deactivated")
    dealership = await loaders.dealership.load_one(principal.dealership_id)
    return Viewer(user=user, dealership=dealership, role=user.role)


async def dealership(info: Info) -> Dealership:
    principal = info.context.require_principal()
    return await info.context.loaders.dealership.load_one(principal.dealership_id)


@strawberry.type
class ViewerQuery:
    viewer: Viewer = strawberry.field(
        resolver=viewer,
        description="The signed-in user and their dealership.",
        extensions=requires("viewer.read"),
    )
    dealership: Dealership = strawberry.field(
        resolver=dealership,
        description="The signed-in user's dealership.",
        extensions=requires("viewer.read"),
    )
