"""User queries and mutations, password resets included."""

from __future__ import annotations

import asyncio
from typing import cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import ValidationFailed
from db.storage import users as storage
from db.storage.audit import Actor
from db.storage.auth import token_dealership
from db.storage.pagination import PageArgs
from db.tenant import TenantDB
from resolvers.context import Info
from resolvers.ids import decode_id
from resolvers.mutations import mutation, write
from resolvers.pagination import to_connection
from resolvers.permissions import public, requires
from schema.base import from_row
from schema.inputs import provided
from schema.relay import Connection, OrderDirection
from schema.users import (
    ChangeUserRoleInput,
    ChangeUserRoleResult,
    ChangeUserRoleSuccess,
    DeactivateUserInput,
    DeactivateUserResult,
    DeactivateUserSuccess,
    InviteUserInput,
    InviteUserResult,
    InviteUserSuccess,
    ReactivateUserInput,
    ReactivateUserResult,
    ReactivateUserSuccess,
    RequestPasswordResetInput,
    RequestPasswordResetResult,
    RequestPasswordResetSuccess,
    ResetPasswordInput,
    ResetPasswordResult,
    ResetPasswordSuccess,
    UpdateUserPreferencesInput,
    UpdateUserPreferencesResult,
    UpdateUserPreferencesSuccess,
    UpdateUserProfileInput,
    UpdateUserProfileResult,
    UpdateUserProfileSuccess,
    User,
    UserFilter,
    UserOrder,
)
from server.passwords import hash_password

INPUT = ("input",)


async def user(info: Info, id: strawberry.ID) -> User | None:
    """A user of your dealership by id."""
    return await info.context.loaders.user.load(decode_id(id, "User", field=("id",)))


async def users(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: UserFilter | None = None,
    order_by: UserOrder | None = None,
) -> Connection[User]:
    """Your dealership's staff, active and deactivated (see `filter.isActive`)."""
    flt = filter or UserFilter()
    criteria = storage.UserFilter(search=flt.search, role=flt.role, is_active=flt.is_active)
    order = order_by or UserOrder()
    async with info.context.db.session() as session:
        page = await storage.list_users(
            session,
            filter=criteria,
            order=order.field,
            descending=order.direction is OrderDirection.DESC,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
    return to_connection(
        info,
        page,
        lambda row: from_row(User, row),
        lambda session: storage.count_users(session, filter=criteria),
    )


async def user_by_email(info: Info, email: str) -> User | None:
    """The user of your dealership with this e-mail, in any case."""
    async with info.context.db.session() as session:
        row = await storage.find_by_email(session, email=email)
    return None if row is None else from_row(User, row)


@mutation
async def invite_user(info: Info, input: InviteUserInput) -> InviteUserResult:
    """Add a staff member: active, without a password until they set one with the token."""
    fields = cast(storage.UserFields, provided(input, exclude=("email", "role")))

    async def work(session: AsyncSession, actor: Actor) -> InviteUserSuccess:
        invitation = await storage.invite_user(
            session, actor, email=input.email, role=input.role, fields=fields, path=INPUT
        )
        return InviteUserSuccess(
            user=from_row(User, invitation.user),
            password_set_token=invitation.token.token,
            password_set_token_expires_at=invitation.token.expires_at,
        )

    return await write(info, work)


@mutation
async def update_user_profile(info: Info, input: UpdateUserProfileInput) -> UpdateUserProfileResult:
    user_id = decode_id(input.id, "User", field=(*INPUT, "id"))
    fields = cast(storage.UserFields, provided(input, exclude=("id",)))
    row = await write(
        info,
        lambda session, actor: storage.update_profile(
            session, actor, user_id=user_id, fields=fields, path=INPUT
        ),
    )
    return UpdateUserProfileSuccess(user=from_row(User, row))


@mutation
async def change_user_role(info: Info, input: ChangeUserRoleInput) -> ChangeUserRoleResult:
    """Give a user another role; a dealership always keeps one active admin."""
    user_id = decode_id(input.id, "User", field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.change_role(
            session, actor, user_id=user_id, role=input.role, path=INPUT
        ),
    )
    return ChangeUserRoleSuccess(user=from_row(User, row))


@mutation
async def update_user_preferences(
    info: Info, input: UpdateUserPreferencesInput
) -> UpdateUserPreferencesResult:
    """Replace a user's preferences."""
    user_id = decode_id(input.id, "User", field=(*INPUT, "id"))
    preferences: object = input.preferences
    row = await write(
        info,
        lambda session, actor: storage.update_preferences(
            session, actor, user_id=user_id, preferences=preferences, path=INPUT
        ),
    )
    return UpdateUserPreferencesSuccess(user=from_row(User, row))


@mutation
async def deactivate_user(info: Info, input: DeactivateUserInput) -> DeactivateUserResult:
    """Stop a user from signing in (their records stay); their pending password links end."""
    user_id = decode_id(input.id, "User", field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.set_active(
            session, actor, user_id=user_id, active=False, path=INPUT
        ),
    )
    return DeactivateUserSuccess(user=from_row(User, row))


@mutation
async def reactivate_user(info: Info, input: ReactivateUserInput) -> ReactivateUserResult:
    user_id = decode_id(input.id, "User", field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.set_active(
            session, actor, user_id=user_id, active=True, path=INPUT
        ),
    )
    return ReactivateUserSuccess(user=from_row(User, row))


@mutation
async def request_password_reset(
    info: Info, input: RequestPasswordResetInput
) -> RequestPasswordResetResult:
    """Start a password reset for a user: a single-use token, valid for an hour."""
    user_id = decode_id(input.user_id, "User", field=(*INPUT, "userId"))

    async def work(session: AsyncSession, actor: Actor) -> RequestPasswordResetSuccess:
        row, issued = await storage.request_password_reset(
            session, actor, user_id=user_id, path=INPUT
        )
        return RequestPasswordResetSuccess(
            user=from_row(User, row), token=issued.token, expires_at=issued.expires_at
        )

    return await write(info, work)


@mutation
async def reset_password(info: Info, input: ResetPasswordInput) -> ResetPasswordResult:
    """Set a new password with a token from an invitation or a reset. No sign-in needed."""
    storage.check_new_password(input.new_password, field=(*INPUT, "newPassword"))
    dealership_id = token_dealership(input.token)
    if dealership_id is None:
        raise ValidationFailed(
            "this password link is not valid", field=(*INPUT, "token"), code="INVALID_TOKEN"
        )
    request_id = info.context.request_id or None
    # The caller has no session of their own: the token says which dealership to bind.
    db = TenantDB(info.context.request.app.state.dealerdesk.engine, dealership_id)
    try:
        async with db.session() as session:
            await storage.check_reset_token(session, token=input.token, path=INPUT)
        # Argon2 is slow on purpose: off the event loop, and outside the transaction so it
        # holds no row locks (the token is checked again, locked, in the transaction).
        password_hash = await asyncio.to_thread(hash_password, input.new_password)
        row = await db.transaction(
            lambda session: storage.reset_password(
                session,
                token=input.token,
                password_hash=password_hash,
                request_id=request_id,
                path=INPUT,
            )
        )
    finally:
        await db.close()
    return ResetPasswordSuccess(email=row.email)


@strawberry.type
class UserQuery:
    user: User | None = strawberry.field(resolver=user, extensions=requires("user.read"))
    users: Connection[User] = strawberry.field(
        resolver=users,
        description="Your dealership's staff, active and deactivated (see `filter.isActive`).",
        extensions=requires("user.read"),
    )
    user_by_email: User | None = strawberry.field(
        resolver=user_by_email,
        description="The user of your dealership with this e-mail, in any case.",
        extensions=requires("user.read"),
    )


@strawberry.type
class UserMutation:
    invite_user: InviteUserResult = strawberry.field(
        resolver=invite_user,
        description="Add a staff member: active, without a password until they set one "
        "with the returned token (resetPassword).",
        extensions=requires("user.manage"),
    )
    update_user_profile: UpdateUserProfileResult = strawberry.field(
        resolver=update_user_profile, extensions=requires("user.manage")
    )
    change_user_role: ChangeUserRoleResult = strawberry.field(
        resolver=change_user_role,
        description="Give a user another role; a dealership always keeps an active admin.",
        extensions=requires("user.manage"),
    )
    update_user_preferences: UpdateUserPreferencesResult = strawberry.field(
        resolver=update_user_preferences,
        description="Replace a user's preferences (a JSON object).",
        extensions=requires("user.manage"),
    )
    deactivate_user: DeactivateUserResult = strawberry.field(
        resolver=deactivate_user,
        description="Stop a user from signing in; their records stay and their pending "
        "password tokens end. Not yourself, nor the last active admin.",
        extensions=requires("user.manage"),
    )
    reactivate_user: ReactivateUserResult = strawberry.field(
        resolver=reactivate_user, extensions=requires("user.manage")
    )
    request_password_reset: RequestPasswordResetResult = strawberry.field(
        resolver=request_password_reset,
        description="Start a password reset for a user: a single-use token, valid for an "
        "hour, that replaces any earlier one.",
        extensions=requires("user.manage"),
    )
    reset_password: ResetPasswordResult = strawberry.field(
        resolver=reset_password,
        description="Set a new password with a token from inviteUser or "
        "requestPasswordReset. Needs no sign-in.",
        extensions=public("password.reset"),
    )
