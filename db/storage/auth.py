"""Sign-in state in the database.

- Finding the accounts an e-mail names, before any dealership is known (the one door past
  row-level security, `dealerdesk_find_login`).
- Counting failed sign-ins and locking an account, and recording a successful one; both are
  single conditional writes, so concurrent attempts cannot slip past a lock.
- Refresh tokens: "<dealership_id>.<random>" (the prefix binds the tenant session before the
  lookup; the hash decides), stored only as SHA-256, rotated on every use within a family;
  a revoked token presented again revokes its whole family.
- Confirming the caller of an access token on each request: still active, in an active
  dealership, with the role they have now and that role's actions - in the statement that
  binds the request's transaction (db.tenant bind_caller).
- Security events of sign-in, with the client's address, user agent and request id.

Passwords and tokens are never written anywhere but as hashes, and never logged.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import DomainError
from db.models import Dealership, Permission, RefreshToken, User
from db.models.enums import Role
from db.storage.audit import record_security_event
from db.tenant import TenantDB
from db.types import JSONObject

NOW = select(func.now())  # the database's clock, which the expiry columns are written by

# Longer than any real password, short enough that hashing it costs nothing unusual.
MAX_PASSWORD_LENGTH = 1000
MAX_EMAIL_LENGTH = 320


class InvalidCredentials(DomainError):
    """One answer for a wrong password, an unknown e-mail, a locked or deactivated account
    and an inactive dealership: which one it was is only in the security audit log."""

    code = "INVALID_CREDENTIALS"

    def __init__(self) -> None:
        super().__init__("the e-mail address or the password is not right")


class InvalidRefreshToken(DomainError):
    """Unknown, expired, revoked or reused: the client must sign in again."""

    code = "INVALID_REFRESH_TOKEN"

    def __init__(self) -> None:
        super().__init__("this session has ended; sign in again", field=("input", "refreshToken"))


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, for the security audit log."""

    ip: str | None
    user_agent: str | None
    request_id: str | None


async def record_event(
    session: AsyncSession,
    client: ClientInfo,
    *,
    dealership_id: int | None,
    user_id: int | None,
    event: str,
    outcome: str,
    details: JSONObject | None = None,
) -> None:
    await record_security_event(
        session,
        dealership_id=dealership_id,
        user_id=user_id,
        event=event,
        outcome=outcome,
        client_ip=client.ip,
        user_agent=client.user_agent,
        request_id=client.request_id,
        details=details,
    )


# --- sign-in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginCandidate:
    """An account an e-mail names, as dealerdesk_find_login reports it."""

    user_id: int
    dealership_id: int
    dealership_code: str
    role: Role
    is_active: bool
    dealership_active: bool
    password_hash: str | None
    failed_login_count: int
    locked_until: datetime | None

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


async def find_logins(session: AsyncSession, *, email: str) -> list[LoginCandidate]:
    """Every account with this e-mail (any case), in any dealership, oldest dealership first."""
    result = await session.execute(
        text(
            "SELECT user_id, dealership_id, dealership_code, role, is_active, dealership_active,"
            " password_hash, failed_login_count, locked_until"
            " FROM dealerdesk_find_login(:email)"
        ),
        {"email": email},
    )
    return [
        LoginCandidate(
            user_id=int(row.user_id),
            dealership_id=int(row.dealership_id),
            dealership_code=str(row.dealership_code),
            role=Role(row.role),
            is_active=bool(row.is_active),
            dealership_active=bool(row.dealership_active),
            password_hash=row.password_hash,
            failed_login_count=int(row.failed_login_count),
            locked_until=row.locked_until,
        )
        for row in result.all()
    ]


@dataclass(frozen=True)
class FailedLogin:
    counted: bool  # False: the account was locked already, nothing was counted
    failed_count: int
    locked_until: datetime | None  # set when this failure locked the account


# A lock that has run out starts the count again.
_FAILED_LOGIN = text("""
    UPDATE users SET
      failed_login_count = CASE WHEN locked_until IS NULL THEN failed_login_count ELSE 0 END + 1,
      locked_until = CASE
        WHEN CASE WHEN locked_until IS NULL THEN failed_login_count ELSE 0 END + 1 >= :max
        THEN now() + make_interval(secs => :lockout)
      END
    WHERE id = :user_id AND (locked_until IS NULL OR locked_until <= now())
    RETURNING failed_login_count, locked_until""")


async def record_failed_login(
    session: AsyncSession, *, user_id: int, max_failures: int, lockout: timedelta
) -> FailedLogin:
    """Count a wrong password; the `max_failures`th in a row locks the account for `lockout`.
    One statement, so concurrent attempts are counted exactly."""
    row = (
        await session.execute(
            _FAILED_LOGIN,
            {"user_id": user_id, "max": max_failures, "lockout": lockout.total_seconds()},
        )
    ).one_or_none()
    if row is None:
        return FailedLogin(counted=False, failed_count=max_failures, locked_until=None)
    return FailedLogin(
        counted=True, failed_count=int(row.failed_login_count), locked_until=row.locked_until
    )


async def record_login(
    session: AsyncSession, *, user_id: int, verified_hash: str, new_hash: str | None
) -> User | None:
    """Complete a sign-in whose password matched `verified_hash`: the failure count is reset
    and the time kept. None if, by now, the account is locked or deactivated, its dealership
    inactive, or its password changed (the row is locked while this is decided)."""
    found = (
        await session.execute(
            select(User, Dealership.is_active, func.now())
            .join(Dealership, Dealership.id == User.dealership_id)
            .where(User.id == user_id)
            .with_for_update(of=User)
        )
    ).one_or_none()
    if found is None:
        return None
    user, dealership_active, now = found
    if (
        not user.is_active
        or not dealership_active
        or user.password_hash != verified_hash
        or (user.locked_until is not None and user.locked_until > now)
    ):
        return None
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = now
    if new_hash is not None:
        user.password_hash = new_hash  # the same password, hashed with today's parameters
    await session.flush()
    return user


# --- the caller of a request ---------------------------------------------------------------


@dataclass(frozen=True)
class CallerAccess:
    """What the database says about a token's user now."""

    user_id: int
    dealership_id: int
    role: Role
    actions: frozenset[str]
    # False when the token belongs to a session that has ended (logout, reuse, reset).
    session_live: bool = True


async def confirm_caller(
    db: TenantDB,
    *,
    dealership_id: int,
    user_id: int,
    role: str | None,
    session_id: uuid.UUID | None = None,
) -> CallerAccess | None:
    """Bind `db` to a token's caller and confirm them in the same statement (db.tenant
    bind_caller): the user of that dealership with this id, if they and the dealership are
    active - their current role and its actions, and whether the sign-in session the token
    came from (if it names one) still has a refresh token that works.

    A caller confirmed before is confirmed again in the database all the same, by a statement
    that checks that nothing of the above has changed (bind_known_caller), sent with BEGIN:
    what is remembered here only spares the round trip that would bring it back."""
    key = (dealership_id, user_id, role, session_id)
    known = _KNOWN.get(key)
    if known is not None:
        access, version = known
        if await db.bind_known_caller(
            dealership_id,
            user_id=user_id,
            role=access.role.value,
            session_id=session_id,
            permissions_version=version,
        ):
            return access
        _KNOWN.pop(key, None)
    row = await db.bind_caller(dealership_id, user_id=user_id, role=role, session_id=session_id)
    if row is None:
        return None
    access = CallerAccess(
        user_id=row.user_id,
        dealership_id=row.dealership_id,
        role=Role(row.role),
        actions=row.actions,
        session_live=row.session_live,
    )
    if access.session_live and access.role.value == role:
        _KNOWN[key] = (access, row.permissions_version)
        if len(_KNOWN) > _KNOWN_MAX:
            del _KNOWN[next(iter(_KNOWN))]
    return access


# Callers confirmed before, by what their tokens claim (dealership, user, role, sign-in
# session): their access as the database last gave it, and the dealership's permissions
# version then (migration 0009).
_KNOWN: dict[tuple[int, int, str | None, uuid.UUID | None], tuple[CallerAccess, int]] = {}
_KNOWN_MAX = 10_000


async def role_access(session: AsyncSession, *, user: User) -> CallerAccess:
    """The actions of a user just loaded (e.g. signed in) in the session's dealership."""
    found = await session.scalars(select(Permission.action).where(Permission.role == user.role))
    return CallerAccess(
        user_id=user.id,
        dealership_id=user.dealership_id,
        role=user.role,
        actions=frozenset(found.all()),
    )


# --- refresh tokens ------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_dealership(token: str) -> int | None:
    """The dealership a "<dealership_id>.<random>" token names, or None if it is not of
    that shape. The prefix only routes the lookup: the hash decides."""
    prefix, dot, secret = token.strip().partition(".")
    if not dot or not secret or not prefix.isascii() or not prefix.isdigit():
        return None
    value = int(prefix)
    return value if 0 < value < 2**63 and str(value) == prefix else None


@dataclass(frozen=True)
class IssuedRefreshToken:
    """A new refresh token: the raw value exists only here and in the client's hands."""

    token: str
    expires_at: datetime
    row: RefreshToken


async def issue_refresh_token(
    session: AsyncSession,
    client: ClientInfo,
    *,
    user: User,
    ttl: timedelta,
    family_id: uuid.UUID | None = None,
) -> IssuedRefreshToken:
    """A refresh token for `user`: of a new family (a sign-in), or of `family_id` (a
    rotation)."""
    raw = f"{user.dealership_id}.{secrets.token_urlsafe(32)}"
    now = await session.scalar(NOW)
    assert now is not None
    row = RefreshToken(
        dealership_id=user.dealership_id,
        user_id=user.id,
        token_hash=hash_token(raw),
        family_id=family_id or uuid.uuid4(),
        issued_at=now,
        expires_at=now + ttl,
        client_ip=client.ip,
        user_agent=(client.user_agent or "")[:500] or None,
    )
    session.add(row)
    await session.flush()
    return IssuedRefreshToken(token=raw, expires_at=row.expires_at, row=row)


async def lock_refresh_token(session: AsyncSession, *, token: str) -> RefreshToken | None:
    """The token's row (in the session's dealership), locked: concurrent uses of one token
    queue here, and all but the first find it revoked."""
    return await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(token)).with_for_update()
    )


async def revoke_family(session: AsyncSession, *, family_id: uuid.UUID, reason: str) -> int:
    """End every still-valid token of the family. Returns how many."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def revoke_user_sessions(session: AsyncSession, *, user_id: int, reason: str) -> int:
    """End every session of the user (deactivated, or their password was reset)."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def session_user(session: AsyncSession, *, user_id: int) -> User | None:
    """The user of a refresh token, if they and their dealership are still active."""
    return await session.scalar(
        select(User)
        .join(Dealership, Dealership.id == User.dealership_id)
        .where(User.id == user_id, User.is_active.is_(True), Dealership.is_active.is_(True))
    )
