"""GraphQL types of role permissions: the catalogue of actions and each role's set."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.enums import Role
from schema.errors import CommonErrors


@strawberry.type(description="Something a role may be allowed to do, e.g. deal.approve.")
class PermissionAction:
    action: str = strawberry.field(description='"<entity>.<verb>", e.g. "deal.approve".')
    description: str


@strawberry.type(description="The actions one role may take in your dealership.")
class RolePermissions:
    role: Role
    actions: list[str] = strawberry.field(description="In the catalogue's order.")


@strawberry.input
class UpdateRolePermissionsInput:
    role: Role
    actions: list[str] = strawberry.field(
        description="The role's complete new set (replaces the old one); see permissionCatalog."
    )


@strawberry.type
class UpdateRolePermissionsSuccess:
    role_permissions: RolePermissions


UpdateRolePermissionsResult = Annotated[
    UpdateRolePermissionsSuccess | CommonErrors, strawberry.union("UpdateRolePermissionsResult")
]
