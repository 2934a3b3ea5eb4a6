"""Staff users: lookup, search, invitation, profile, role, preferences, (de)activation, and
password resets by single-use, expiring tokens."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal, TypedDict

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import ValidationFailed
from db.models import PasswordResetToken, User
from db.models.enums import Role
from db.storage import pagination
from db.storage.audit import Actor, flush_and_record, record_change, record_row, snapshot
from db.storage.auth import hash_token, revoke_user_sessions
from db.storage.ownership import load_owned
from db.storage.sql import like_pattern
from db.types import JSONObject
from db.validation import (
    camel,
    normalize_email,
    optional_phone,
    optional_text,
    require_text,
    required,
)

ENTITY = "User"
TOKEN_ENTITY = "PasswordResetToken"  # noqa: S105 - a type name

RESET_TOKEN_TTL = timedelta(hours=1)
# An invitation is read at the invitee's leisure; a reset is asked for by someone waiting.
INVITE_TOKEN_TTL = timedelta(days=3)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1000
MAX_PREFERENCE_KEYS = 50
MAX_PREFERENCES_BYTES = 8 * 1024

# Never written to the audit trail.
SECRET_COLUMNS = frozenset({"password_hash"})
TOKEN_SECRET_COLUMNS = frozenset({"token_hash"})


class UserFields(TypedDict, total=False):
    """Profile fields a client may set; absent keys stay as they are. Names cannot be
    cleared (None is refused)."""

    first_name: str | None
    last_name: str | None
    phone: str | None
    title: str | None


class UserOrderField(StrEnum):
    LAST_NAME = "last_name"
    CREATED_AT = "created_at"
    EMAIL = "email"


@dataclass(frozen=True)
class UserFilter:
    search: str | None = None  # partial match on name or e-mail
    role: Role | None = None
    is_active: bool | None = None


def _snapshot(user: User) -> JSONObject:
    return snapshot(user, redact=SECRET_COLUMNS)


def clean_profile(fields: UserFields, *, path: tuple[str, ...]) -> UserFields:
    clean: UserFields = {}
    names: tuple[tuple[Literal["first_name", "last_name"], str], ...] = (
        ("first_name", "firstName"),
        ("last_name", "lastName"),
    )
    for key, name in names:
        if key in fields:
            clean[key] = require_text(fields[key], field=(*path, name), max_length=100)
    if "phone" in fields:
        clean["phone"] = optional_phone(fields["phone"], field=(*path, "phone"))
    if "title" in fields:
        clean["title"] = optional_text(fields["title"], field=(*path, "title"), max_length=100)
    return clean


def _filtered(filter: UserFilter) -> Select[User]:
    stmt = select(User)
    if filter.role is not None:
        stmt = stmt.where(User.role == filter.role)
    if filter.is_active is not None:
        stmt = stmt.where(User.is_active.is_(filter.is_active))
    if filter.search and filter.search.strip():
        pattern = like_pattern(filter.search.strip())
        stmt = stmt.where(
            or_(
                User.first_name.ilike(pattern),
                User.last_name.ilike(pattern),
                (User.first_name + " " + User.last_name).ilike(pattern),
                User.email.ilike(pattern),
            )
        )
    return stmt


def _sort_keys(order: UserOrderField, descending: bool) -> list[pagination.SortKey]:
    columns: dict[UserOrderField, pagination.SortColumn] = {
        UserOrderField.LAST_NAME: User.last_name,
        UserOrderField.CREATED_AT: User.created_at,
        UserOrderField.EMAIL: User.email,
    }
    keys = [pagination.SortKey(columns[order], descending)]
    if order is UserOrderField.LAST_NAME:
        keys.append(pagination.SortKey(User.first_name, descending))
    keys.append(pagination.SortKey(User.id, descending))
    return keys


async def list_users(
    session: AsyncSession,
    *,
    filter: UserFilter,
    order: UserOrderField = UserOrderField.LAST_NAME,
    descending: bool = False,
    page: pagination.PageArgs,
) -> pagination.Page[User]:
    return await pagination.paginate(
        session, _filtered(filter), _sort_keys(order, descending), page
    )


async def count_users(session: AsyncSession, *, filter: UserFilter) -> int:
    return await pagination.count(session, _filtered(filter))


async def find_by_email(session: AsyncSession, *, email: str) -> User | None:
    """The user with this e-mail in the session's dealership, whatever its case."""
    wanted = email.strip().lower()
    if not wanted:
        return None
    return await session.scalar(select(User).where(func.lower(User.email) == wanted))


def _email_taken(field: tuple[str, ...]) -> ValidationFailed:
    return ValidationFailed(
        "a user with this e-mail address already exists", field=field, code="EMAIL_TAKEN"
    )


# --- tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued password-set token: the raw value exists only here."""

    token: str
    expires_at: datetime
    row: PasswordResetToken


async def _issue_token(
    session: AsyncSession, actor: Actor, *, user: User, ttl: timedelta, action: str
) -> IssuedToken:
    """A new single-use token for `user`; earlier unused ones stop working."""
    await session.execute(
        delete(PasswordResetToken).where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None)
        )
    )
    raw = f"{user.dealership_id}.{secrets.token_urlsafe(32)}"
    row = PasswordResetToken(
        dealership_id=user.dealership_id,
        user_id=user.id,
        token_hash=hash_token(raw),
        expires_at=datetime.now(UTC) + ttl,
    )
    session.add(row)
    await flush_and_record(
        session,
        actor,
        row,
        action=action,
        entity_type=TOKEN_ENTITY,
        before=None,
        redact=TOKEN_SECRET_COLUMNS,
    )
    return IssuedToken(token=raw, expires_at=row.expires_at, row=row)


# --- writes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    user: User
    token: IssuedToken


async def invite_user(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    role: Role,
    fields: UserFields,
    path: tuple[str, ...],
) -> Invitation:
    """Create an active user without a password, and a token to set one."""
    clean = clean_profile(fields, path=path)
    for key in ("first_name", "last_name"):
        if key not in clean:
            raise required((*path, camel(key)))
    address = normalize_email(email, field=(*path, "email"))
    if await find_by_email(session, email=address) is not None:
        raise _email_taken((*path, "email"))
    user = User(dealership_id=actor.dealership_id, email=address, role=role, **clean)
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError:
        # Someone invited the same address between our check and our insert.
        raise _email_taken((*path, "email")) from None
    await record_row(
        session,
        actor,
        user,
        action="user.invite",
        entity_type=ENTITY,
        before=None,
        redact=SECRET_COLUMNS,
    )
    token = await _issue_token(
        session, actor, user=user, ttl=INVITE_TOKEN_TTL, action="user.issue_password_token"
    )
    return Invitation(user=user, token=token)


async def _load(session: AsyncSession, user_id: int, *, field: tuple[str, ...]) -> User:
    return await load_owned(session, User, user_id, entity=ENTITY, field=field, for_update=True)


async def _change(
    session: AsyncSession,
    actor: Actor,
    user: User,
    *,
    action: str,
    apply: Callable[[User], None],
) -> User:
    """Apply a change to a (locked) user, and audit it if anything changed."""
    before = _snapshot(user)
    apply(user)
    if _snapshot(user) == before:
        return user
    await flush_and_record(
        session,
        actor,
        user,
        action=action,
        entity_type=ENTITY,
        before=before,
        redact=SECRET_COLUMNS,
    )
    return user


async def update_profile(
    session: AsyncSession,
    actor: Actor,
    *,
    user_id: int,
    fields: UserFields,
    path: tuple[str, ...],
) -> User:
    clean = clean_profile(fields, path=path)

    def apply(user: User) -> None:
        for key, value in clean.items():
            setattr(user, key, value)

    user = await _load(session, user_id, field=(*path, "id"))
    return await _change(session, actor, user, action="user.update_profile", apply=apply)


async def _other_active_admins(session: AsyncSession, *, user_id: int) -> int:
    """Locked, so two admins demoting each other at once cannot leave none: the second
    waits for the first and then sees it is no longer an admin."""
    stmt = (
        select(User.id)
        .where(User.role == Role.ADMIN, User.is_active.is_(True), User.id != user_id)
        .order_by(User.id)
        .with_for_update()
    )
    return len((await session.scalars(stmt)).all())


async def _keep_an_admin(
    session: AsyncSession, user: User, *, field: tuple[str, ...], doing: str
) -> None:
    if (
        user.role is Role.ADMIN
        and user.is_active
        and await _other_active_admins(session, user_id=user.id) == 0
    ):
        raise ValidationFailed(
            f"this is the dealership's last active admin: make someone else admin "
            f"before you {doing}",
            field=field,
            code="LAST_ADMIN",
        )


async def change_role(
    session: AsyncSession, actor: Actor, *, user_id: int, role: Role, path: tuple[str, ...]
) -> User:
    user = await _load(session, user_id, field=(*path, "id"))
    if role is not Role.ADMIN:
        await _keep_an_admin(session, user, field=(*path, "role"), doing="change their role")

    def apply(row: User) -> None:
        row.role = role

    return await _change(session, actor, user, action="user.change_role", apply=apply)


def clean_preferences(value: object, *, field: tuple[str, ...]) -> JSONObject:
    if not isinstance(value, dict):
        raise ValidationFailed(
            "preferences must be a JSON object", field=field, code="INVALID_PREFERENCES"
        )
    if len(value) > MAX_PREFERENCE_KEYS:
        raise ValidationFailed(
            f"at most {MAX_PREFERENCE_KEYS} keys", field=field, code="TOO_MANY_KEYS"
        )
    try:
        encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationFailed(
            "preferences must be plain JSON", field=field, code="INVALID_PREFERENCES"
        ) from None
    if len(encoded.encode()) > MAX_PREFERENCES_BYTES:
        raise ValidationFailed(
            f"at most {MAX_PREFERENCES_BYTES // 1024} KB of JSON", field=field, code="TOO_LARGE"
        )
    decoded: JSONObject = json.loads(encoded)
    return decoded


async def update_preferences(
    session: AsyncSession,
    actor: Actor,
    *,
    user_id: int,
    preferences: object,
    path: tuple[str, ...],
) -> User:
    """Replace the user's preferences (a JSON object the screens keep their choices in)."""
    clean = clean_preferences(preferences, field=(*path, "preferences"))

    def apply(user: User) -> None:
        user.preferences = clean

    user = await _load(session, user_id, field=(*path, "id"))
    return await _change(session, actor, user, action="user.update_preferences", apply=apply)


async def set_active(
    session: AsyncSession, actor: Actor, *, user_id: int, active: bool, path: tuple[str, ...]
) -> User:
    if not active and user_id == actor.user_id:
        raise ValidationFailed(
            "you cannot deactivate yourself", field=(*path, "id"), code="CANNOT_DEACTIVATE_SELF"
        )
    user = await _load(session, user_id, field=(*path, "id"))
    if not active:
        await _keep_an_admin(session, user, field=(*path, "id"), doing="deactivate them")
        # A deactivated user's pending password links must not bring the account back.
        await session.execute(
            delete(PasswordResetToken).where(
                PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None)
            )
        )
        # Their signed-in sessions end now (their access tokens already stop working, as
        # every request checks that the user is still active).
        await revoke_user_sessions(session, user_id=user.id, reason="user_deactivated")

    def apply(row: User) -> None:
        if row.is_active == active:
            return
        row.is_active = active
        row.deactivated_at = None if active else datetime.now(UTC)

    action = "user.reactivate" if active else "user.deactivate"
    return await _change(session, actor, user, action=action, apply=apply)


async def request_password_reset(
    session: AsyncSession, actor: Actor, *, user_id: int, path: tuple[str, ...]
) -> tuple[User, IssuedToken]:
    """A staff member starts a reset for `user_id`: a new token (returned raw, once)."""
    user = await _load(session, user_id, field=(*path, "userId"))
    if not user.is_active:
        raise ValidationFailed(
            "this user is deactivated; reactivate them first",
            field=(*path, "userId"),
            code="USER_DEACTIVATED",
        )
    token = await _issue_token(
        session, actor, user=user, ttl=RESET_TOKEN_TTL, action="user.request_password_reset"
    )
    return user, token


def check_new_password(password: str, *, field: tuple[str, ...]) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"a password has at least {MIN_PASSWORD_LENGTH} characters",
            field=field,
            code="PASSWORD_TOO_SHORT",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"a password has at most {MAX_PASSWORD_LENGTH} characters",
            field=field,
            code="PASSWORD_TOO_LONG",
        )
    return password


async def _usable_token(
    session: AsyncSession, *, token: str, field: tuple[str, ...], lock: bool
) -> PasswordResetToken:
    stmt = select(PasswordResetToken).where(
        PasswordResetToken.token_hash == hash_token(token.strip())
    )
    row = await session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise ValidationFailed("this password link is not valid", field=field, code="INVALID_TOKEN")
    if row.used_at is not None:
        raise ValidationFailed(
            "this password link was used already; ask for a new one",
            field=field,
            code="TOKEN_USED",
        )
    if row.expires_at <= datetime.now(UTC):
        raise ValidationFailed(
            "this password link has expired; ask for a new one", field=field, code="TOKEN_EXPIRED"
        )
    return row


async def check_reset_token(session: AsyncSession, *, token: str, path: tuple[str, ...]) -> None:
    """Refuse an unusable token early, before the (deliberately slow) password hashing.
    reset_password checks again under a lock."""
    await _usable_token(session, token=token, field=(*path, "token"), lock=False)


async def reset_password(
    session: AsyncSession,
    *,
    token: str,
    password_hash: str,
    request_id: str | None,
    path: tuple[str, ...],
) -> User:
    """Set a password with a token; the session must be bound to the token's dealership.
    The token is locked, so it works once even for concurrent requests. The caller is not
    signed in: the audit row names the user whose password it was."""
    field = (*path, "token")
    row = await _usable_token(session, token=token, field=field, lock=True)
    user = await session.scalar(select(User).where(User.id == row.user_id).with_for_update())
    if user is None or not user.is_active:
        raise ValidationFailed("this account is deactivated", field=field, code="USER_DEACTIVATED")
    before = _snapshot(user)
    row.used_at = datetime.now(UTC)
    user.password_hash = password_hash
    user.failed_login_count = 0
    user.locked_until = None
    # Whoever knew the old password may hold a session: a new password ends them all.
    await revoke_user_sessions(session, user_id=user.id, reason="password_reset")
    await session.flush()
    after = _snapshot(user)
    after["password_hash"] = "[changed]"  # noqa: S105 - that it changed, never to what
    await record_change(
        session,
        Actor(dealership_id=user.dealership_id, user_id=user.id, request_id=request_id),
        action="user.reset_password",
        entity_type=ENTITY,
        entity_id=user.id,
        before=before,
        after=after,
    )
    return user
