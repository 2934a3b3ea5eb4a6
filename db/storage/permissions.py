"""Role permissions: the catalogue of actions, each role's defaults, and a dealership's own
choice of which role may take which action (one `permissions` row per allowed pair).

Every root GraphQL field declares its action with `requires("<entity>.<verb>")`; this module
names them all. Storing and editing the sets is all it does: enforcing them at request time
is the permission extension's job (resolvers/permissions.py).

Editing cannot escalate: only admins change what admins may do, and no one grants an action
they do not have themselves (a sales manager cannot give anyone user.manage).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import PermissionDenied, ValidationFailed
from db.models import Dealership, Permission
from db.models.enums import Role
from db.storage.audit import Actor, record_change

ENTITY = "RolePermissions"

# The action a role needs to change permissions; an admin can never lose it.
PERMISSION_MANAGE = "permission.manage"
# Cost, gross profit and dealer reserve are shown only to roles with this action.
VIEW_GROSS = "deal.view_gross"

# action -> what it allows, in the order screens should list them.
ACTIONS: dict[str, str] = {
    "viewer.read": "See who you are signed in as, and your dealership.",
    "node.read": "Look up any record by its global id (node / nodes).",
    "customer.read": "See customers, their notes and history.",
    "customer.write": "Create, edit, archive and restore customers; add notes.",
    "customer.sensitive.read": "See customers' date of birth, driver's licence, SSN last "
    "four and income (masked otherwise).",
    "customer.sensitive.write": "Record or change customers' date of birth, driver's "
    "licence, SSN last four and income.",
    "user.read": "See the dealership's staff.",
    "user.manage": "Invite staff, change their profiles and roles, (de)activate them and "
    "start password resets.",
    "permission.read": "See what each role may do.",
    "permission.manage": "Change what each role may do.",
    "settings.read": "See the dealership's settings.",
    "settings.manage": "Change the dealership's profile and settings.",
    "fee.read": "See fee templates.",
    "fee.manage": "Create, edit and delete fee templates.",
    "vehicle.read": "See inventory.",
    "vehicle.write": "Add and edit inventory.",
    "vehicle.delete": "Delete a vehicle no deal or quote refers to.",
    "deal.read": "See deals.",
    "deal.write": "Create and work deals.",
    "deal.assign": "Hand a deal to another salesperson.",
    "deal.approve": "Approve deals.",
    "deal.unwind": "Unwind delivered deals.",
    "deal.view_gross": "See cost, gross profit and dealer reserve.",
    "scenario.write": "Create and edit deal scenarios (cash, finance, lease).",
    "appointment.read": "See appointments.",
    "appointment.write": "Book, change and cancel appointments.",
    "quote.read": "See quick quotes.",
    "quote.write": "Create, send and convert quick quotes.",
    "tax.read": "See tax jurisdictions.",
    "tax.manage": "Create and edit tax jurisdictions.",
    "lender.read": "See lenders and their programs.",
    "lender.manage": "Create and edit lenders and their programs.",
    "rate_request.read": "See rate requests and lender decisions.",
    "rate_request.write": "Submit rate requests and record lender decisions.",
    "audit.read": "Read the audit trail of changes.",
    "security_audit.read": "Read the security audit trail (sign-ins, refusals).",
}

_ALL = frozenset(ACTIONS)
_MANAGE_ADMIN = frozenset({"user.manage", "permission.manage", "settings.manage"})
_READS = frozenset(a for a in ACTIONS if a.endswith(".read"))
# Customer information that identifies a person for credit: managers and admins only.
_SENSITIVE = frozenset({"customer.sensitive.read", "customer.sensitive.write"})

DEFAULT_ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: _ALL,
    # Runs the floor: everything but staff and settings (which it may read). It may edit
    # permissions, but grant no one an action it does not have (set_role_actions).
    Role.SALES_MANAGER: _ALL - {"user.manage", "settings.manage"},
    # Like the sales manager (lenders, rate requests and gross included), but unwinding a
    # delivered deal stays with sales management.
    Role.FINANCE_MANAGER: _ALL - _MANAGE_ADMIN - {"deal.unwind"},
    Role.SALESPERSON: frozenset(
        {
            "viewer.read",
            "node.read",
            "customer.read",
            "customer.write",
            "user.read",
            "settings.read",
            "fee.read",
            "vehicle.read",
            "deal.read",
            "deal.write",
            "scenario.write",
            "appointment.read",
            "appointment.write",
            "quote.read",
            "quote.write",
            "tax.read",
            "lender.read",
            "rate_request.read",
            "rate_request.write",
        }
    ),
    Role.READ_ONLY: _READS - {"audit.read", "security_audit.read"} - _SENSITIVE,
}


def in_catalogue_order(actions: Iterable[str]) -> list[str]:
    wanted = set(actions)
    return [a for a in ACTIONS if a in wanted]


async def seed_default_permissions(session: AsyncSession, dealership_id: int) -> None:
    """Give a new dealership the default permissions of every role (idempotent)."""
    values = [
        {"dealership_id": dealership_id, "role": role, "action": action}
        for role, actions in DEFAULT_ROLE_PERMISSIONS.items()
        for action in in_catalogue_order(actions)
    ]
    await session.execute(insert(Permission).values(values).on_conflict_do_nothing())


async def role_actions(session: AsyncSession, *, role: Role) -> list[str]:
    """The actions `role` may take in the session's dealership, in catalogue order."""
    stmt = select(Permission.action).where(Permission.role == role)
    return in_catalogue_order((await session.scalars(stmt)).all())


async def all_role_actions(session: AsyncSession) -> dict[Role, list[str]]:
    """Every role's actions (one statement), roles in their declared order."""
    found: dict[Role, set[str]] = {role: set() for role in Role}
    for role, action in (await session.execute(select(Permission.role, Permission.action))).all():
        found[role].add(action)
    return {role: in_catalogue_order(actions) for role, actions in found.items()}


def clean_actions(actions: Sequence[str], *, role: Role, path: tuple[str, ...]) -> list[str]:
    for index, action in enumerate(actions):
        if action not in ACTIONS:
            raise ValidationFailed(
                f"{action!r} is not an action; see permissionCatalog",
                field=(*path, "actions", str(index)),
                code="UNKNOWN_ACTION",
            )
    if role is Role.ADMIN and PERMISSION_MANAGE not in actions:
        raise ValidationFailed(
            f"admins must keep {PERMISSION_MANAGE}, or no one could change permissions again",
            field=(*path, "actions"),
            code="CANNOT_REMOVE_ADMIN_ACCESS",
        )
    return in_catalogue_order(actions)


async def set_role_actions(
    session: AsyncSession,
    actor: Actor,
    *,
    role: Role,
    actions: Sequence[str],
    path: tuple[str, ...],
) -> list[str]:
    """Replace the set of actions `role` may take. Returns the new set in catalogue order."""
    wanted = clean_actions(actions, role=role, path=path)
    if role is Role.ADMIN and actor.role is not Role.ADMIN:
        raise PermissionDenied("only admins change what admins may do", field=(*path, "role"))
    # Serialise permission changes of a dealership, so the audit row's "before" is true.
    await session.execute(
        select(Dealership.id).where(Dealership.id == actor.dealership_id).with_for_update()
    )
    before = await role_actions(session, role=role)
    if before == wanted:
        return wanted
    removed = set(before) - set(wanted)
    added = [a for a in wanted if a not in set(before)]
    for action in added:
        if not actor.may(action):
            raise PermissionDenied(
                f"you cannot grant {action}: your own role does not have it",
                field=(*path, "actions", str(list(actions).index(action))),
            )
    if removed:
        await session.execute(
            delete(Permission).where(Permission.role == role, Permission.action.in_(removed))
        )
    if added:
        await session.execute(
            insert(Permission)
            .values(
                [{"dealership_id": actor.dealership_id, "role": role, "action": a} for a in added]
            )
            .on_conflict_do_nothing()
        )
    await record_change(
        session,
        actor,
        action="permission.update",
        entity_type=ENTITY,
        entity_id=actor.dealership_id,
        before={role.value: list(before)},
        after={role.value: list(wanted)},
    )
    return wanted
