"""Queries and the mutation that show and change what each role may do. (The extension
that declares each field's action is resolvers/permissions.py.)"""

from __future__ import annotations

import strawberry

from db.storage import permissions as storage
from resolvers.context import Info
from resolvers.mutations import mutation, write
from resolvers.permissions import requires
from schema.enums import Role
from schema.permissions import (
    PermissionAction,
    RolePermissions,
    UpdateRolePermissionsInput,
    UpdateRolePermissionsResult,
    UpdateRolePermissionsSuccess,
)

INPUT = ("input",)


def permission_catalog() -> list[PermissionAction]:
    """Every action a role can be allowed, with what it allows."""
    return [PermissionAction(action=a, description=d) for a, d in storage.ACTIONS.items()]


async def role_permissions(info: Info, role: Role) -> RolePermissions:
    """What `role` may do in your dealership."""
    async with info.context.db.session() as session:
        actions = await storage.role_actions(session, role=role)
    return RolePermissions(role=role, actions=actions)


async def all_role_permissions(info: Info) -> list[RolePermissions]:
    """What each role may do in your dealership."""
    async with info.context.db.session() as session:
        found = await storage.all_role_actions(session)
    return [RolePermissions(role=role, actions=actions) for role, actions in found.items()]


@mutation
async def update_role_permissions(
    info: Info, input: UpdateRolePermissionsInput
) -> UpdateRolePermissionsResult:
    """Replace the set of actions a role may take. Admins always keep permission.manage."""
    actions = await write(
        info,
        lambda session, actor: storage.set_role_actions(
            session, actor, role=input.role, actions=input.actions, path=INPUT
        ),
    )
    return UpdateRolePermissionsSuccess(
        role_permissions=RolePermissions(role=input.role, actions=actions)
    )


@strawberry.type
class PermissionQuery:
    permission_catalog: list[PermissionAction] = strawberry.field(
        resolver=permission_catalog,
        description="Every action a role can be allowed, with what it allows.",
        extensions=requires("permission.read"),
    )
    role_permissions: RolePermissions = strawberry.field(
        resolver=role_permissions, extensions=requires("permission.read")
    )
    all_role_permissions: list[RolePermissions] = strawberry.field(
        resolver=all_role_permissions, extensions=requires("permission.read")
    )


@strawberry.type
class PermissionMutation:
    update_role_permissions: UpdateRolePermissionsResult = strawberry.field(
        resolver=update_role_permissions,
        description="Replace the set of actions a role may take in your dealership. Admins "
        "always keep permission.manage.",
        extensions=requires("permission.manage"),
    )
