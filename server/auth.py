"""Sign-in, sessions and the caller of each request.

- `login`: the password is tried against every account the e-mail names (in the dealership
  given, if one is); it succeeds only if exactly one usable account matches. Every failure
  looks the same to the client (InvalidCredentials); the audit log says which it was.
  Argon2 runs off the event loop, and an unknown e-mail still costs one verification (of a
  dummy hash), so timing does not tell whether an address exists.
- Lockout: the `max_failed_logins`th wrong password in a row locks the account for
  `lockout`; a locked account is answered like a wrong password. Failures are counted, and
  sign-ins completed, by single conditional writes *after* the (slow) verification, so a
  burst of parallel guesses cannot get past the lock: a guess that finishes after the lock
  is refused even if it was right.
- `refresh` rotates the refresh token (the old one revoked, a new one of the same family);
  a revoked token presented again is taken as stolen and revokes the whole family.
  `logout` revokes the family.
- `authenticate` turns a bearer token into the request's caller: verified by the verifier
  of its algorithm (ours, HS256; or an external provider's, RS256/ES256 via JWKS), then
  confirmed in the database - one statement - as still active, with the role they have now
  and that role's actions, and (for tokens of a sign-in) the session still going: logging
  out, or a detected reuse, ends the access tokens of the session too, not only its refresh
  tokens. Whatever fails is a 401, and a row in the security audit log.

Every outcome is in the security audit log with the time, user, dealership (0 if unknown),
client address, user agent and request id; passwords and tokens never are.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.errors import ValidationFailed
from db.models import User
from db.storage import auth as storage
from db.storage.auth import (
    CallerAccess,
    ClientInfo,
    InvalidCredentials,
    InvalidRefreshToken,
    LoginCandidate,
)
from db.tenant import TenantDB
from db.types import JSONObject
from server.config import Settings
from server.passwords import hash_password, needs_rehash, verify_password
from server.tokens import (
    InvalidToken,
    Principal,
    TokenIdentity,
    TokenSigner,
    TokenVerifier,
    unverified_algorithm,
)

log = logging.getLogger("dealerdesk.auth")

T = TypeVar("T")


@dataclass(frozen=True)
class AuthPolicy:
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)
    max_failed_logins: int = 5
    lockout: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthPolicy:
        return cls(
            access_ttl=timedelta(seconds=settings.auth_access_token_ttl_seconds),
            refresh_ttl=timedelta(seconds=settings.auth_refresh_token_ttl_seconds),
            max_failed_logins=settings.auth_max_failed_logins,
            lockout=timedelta(seconds=settings.auth_lockout_seconds),
        )


@dataclass(frozen=True)
class SignedIn:
    """A new session: tokens for the client, and the caller for the rest of the request."""

    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    user: User
    principal: Principal
    actions: frozenset[str]


class _Refused(Enum):
    """A refresh or logout that must be refused after its writes are committed."""

    REFUSED = "refused"


class AuthService:
    def __init__(
        self,
        engine: AsyncEngine,
        signer: TokenSigner,
        verifiers: Sequence[TokenVerifier],
        policy: AuthPolicy,
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.verifiers = list(verifiers)
        self.policy = policy
        # Verified in place of a missing account's hash: same parameters, same cost.
        self._dummy_hash = hash_password(secrets.token_urlsafe(24))

    # --- helpers -------------------------------------------------------------------------

    async def _in(
        self, dealership_id: int | None, work: Callable[[AsyncSession], Awaitable[T]]
    ) -> T:
        """One unit of work bound to `dealership_id` (None: no dealership, e.g. the lookup
        of an e-mail, or an event filed under dealership 0)."""
        db = TenantDB(self.engine, dealership_id)
        try:
            return await db.transaction(work)
        finally:
            await db.close()

    async def record(
        self,
        client: ClientInfo,
        *,
        dealership_id: int | None,
        user_id: int | None,
        event: str,
        outcome: str,
        details: JSONObject | None = None,
    ) -> None:
        """A security event in a transaction of its own. Losing it must not turn the
        answer into a 500: it is logged instead."""

        async def work(session: AsyncSession) -> None:
            await storage.record_event(
                session,
                client,
                dealership_id=dealership_id,
                user_id=user_id,
                event=event,
                outcome=outcome,
                details=details,
            )

        try:
            # Events of no known dealership are filed under 0, by a session bound to 0 (a
            # row must be readable by its writer: the ORM reads back its id).
            await self._in(dealership_id or 0, work)
        except Exception:
            log.exception("could not record a security event", extra={"event": event})

    async def _verify_password(self, password_hash: str | None, password: str) -> bool:
        """Argon2 off the event loop; an account without a password costs the same."""
        if password_hash is None:
            await asyncio.to_thread(verify_password, self._dummy_hash, password)
            return False
        return await asyncio.to_thread(verify_password, password_hash, password)

    def _access_token(self, user: User, session_id: uuid.UUID) -> tuple[str, datetime]:
        now = datetime.now(UTC)
        token = self.signer.issue(
            user_id=user.id,
            dealership_id=user.dealership_id,
            role=user.role,
            ttl=self.policy.access_ttl,
            now=now,
            session_id=session_id,
        )
        return token, now + self.policy.access_ttl

    async def _open_session(
        self,
        session: AsyncSession,
        client: ClientInfo,
        user: User,
        *,
        family_id: uuid.UUID | None = None,
    ) -> tuple[storage.IssuedRefreshToken, CallerAccess]:
        """A refresh token (of a new family, or of `family_id`) and the user's actions."""
        issued = await storage.issue_refresh_token(
            session, client, user=user, ttl=self.policy.refresh_ttl, family_id=family_id
        )
        access = await storage.role_access(session, user=user)
        return issued, access

    def _signed_in(
        self, user: User, issued: storage.IssuedRefreshToken, access: CallerAccess
    ) -> SignedIn:
        token, expires_at = self._access_token(user, issued.row.family_id)
        return SignedIn(
            access_token=token,
            access_token_expires_at=expires_at,
            refresh_token=issued.token,
            refresh_token_expires_at=issued.expires_at,
            user=user,
            principal=Principal(
                user_id=user.id, dealership_id=user.dealership_id, role=user.role, token_id=""
            ),
            actions=access.actions,
        )

    # --- sign-in -------------------------------------------------------------------------

    async def login(
        self, *, email: str, password: str, dealership_code: str | None, client: ClientInfo
    ) -> SignedIn:
        address = email.strip()
        if not address:
            raise ValidationFailed(
                "enter your e-mail address", field=("input", "email"), code="REQUIRED"
            )
        if not password:
            raise ValidationFailed(
                "enter your password", field=("input", "password"), code="REQUIRED"
            )
        code = (dealership_code or "").strip() or None
        attempted: JSONObject = {"email": address[: storage.MAX_EMAIL_LENGTH].lower()}
        if code is not None:
            attempted["dealership_code"] = code[:100]
        if len(address) > storage.MAX_EMAIL_LENGTH or len(password) > storage.MAX_PASSWORD_LENGTH:
            await self._failed(client, None, {**attempted, "reason": "too_long"})
            raise InvalidCredentials()

        candidates = await self._in(None, lambda s: storage.find_logins(s, email=address))
        if code is not None:
            candidates = [c for c in candidates if c.dealership_code == code]
        if not candidates:
            await self._verify_password(None, password)
            await self._failed(client, None, {**attempted, "reason": "unknown_email"})
            raise InvalidCredentials()

        matched = [await self._verify_password(c.password_hash, password) for c in candidates]
        now = datetime.now(UTC)
        usable = [
            c
            for c, ok in zip(candidates, matched, strict=True)
            if ok and c.is_active and c.dealership_active and not c.locked_at(now)
        ]
        if len(usable) > 1:
            await self._failed(client, None, {**attempted, "reason": "dealership_required"})
            raise ValidationFailed(
                "this e-mail address signs in at several dealerships: choose one (dealershipCode)",
                field=("input", "dealershipCode"),
                code="DEALERSHIP_REQUIRED",
            )
        if len(usable) == 1:
            signed_in = await self._complete(usable[0], password, client, attempted)
            if signed_in is not None:
                return signed_in
            raise InvalidCredentials()
        for candidate, ok in zip(candidates, matched, strict=True):
            await self._refuse(candidate, ok, now, client, attempted)
        raise InvalidCredentials()

    async def _failed(
        self, client: ClientInfo, candidate: LoginCandidate | None, details: JSONObject
    ) -> None:
        await self.record(
            client,
            dealership_id=candidate.dealership_id if candidate else None,
            user_id=candidate.user_id if candidate else None,
            event="auth.login_failed",
            outcome="failure",
            details=details,
        )

    async def _refuse(
        self,
        candidate: LoginCandidate,
        password_ok: bool,
        now: datetime,
        client: ClientInfo,
        attempted: JSONObject,
    ) -> None:
        """File one account's failed sign-in; a wrong password of an active account counts
        towards its lock."""
        if not candidate.dealership_active:
            reason = "dealership_inactive"
        elif not candidate.is_active:
            reason = "user_inactive"
        elif candidate.locked_at(now):
            reason = "locked"
        elif candidate.password_hash is None:
            reason = "no_password"
        elif password_ok:
            reason = "locked"  # can only be: the lock ran out between the two looks
        else:
            reason = "bad_password"
        if reason != "bad_password":
            await self._failed(client, candidate, {**attempted, "reason": reason})
            return

        async def work(session: AsyncSession) -> storage.FailedLogin:
            outcome = await storage.record_failed_login(
                session,
                user_id=candidate.user_id,
                max_failures=self.policy.max_failed_logins,
                lockout=self.policy.lockout,
            )
            details: JSONObject = {
                **attempted,
                "reason": "bad_password" if outcome.counted else "locked",
                "failed_count": outcome.failed_count,
            }
            await storage.record_event(
                session,
                client,
                dealership_id=candidate.dealership_id,
                user_id=candidate.user_id,
                event="auth.login_failed",
                outcome="failure",
                details=details,
            )
            if outcome.locked_until is not None:
                await storage.record_event(
                    session,
                    client,
                    dealership_id=candidate.dealership_id,
                    user_id=candidate.user_id,
                    event="auth.lockout",
                    outcome="failure",
                    details={
                        "failed_count": outcome.failed_count,
                        "locked_until": outcome.locked_until.isoformat(),
                    },
                )
            return outcome

        await self._in(candidate.dealership_id, work)

    async def _complete(
        self, candidate: LoginCandidate, password: str, client: ClientInfo, attempted: JSONObject
    ) -> SignedIn | None:
        assert candidate.password_hash is not None
        verified_hash = candidate.password_hash
        new_hash = None
        if needs_rehash(verified_hash):
            new_hash = await asyncio.to_thread(hash_password, password)

        async def work(
            session: AsyncSession,
        ) -> tuple[User, storage.IssuedRefreshToken, CallerAccess] | None:
            user = await storage.record_login(
                session, user_id=candidate.user_id, verified_hash=verified_hash, new_hash=new_hash
            )
            if user is None:
                return None
            issued, access = await self._open_session(session, client, user)
            await storage.record_event(
                session,
                client,
                dealership_id=user.dealership_id,
                user_id=user.id,
                event="auth.login",
                outcome="success",
                details={"family": issued.row.family_id.hex},
            )
            return user, issued, access

        done = await self._in(candidate.dealership_id, work)
        if done is None:
            # Locked, deactivated or changed between the look-up and now.
            await self._failed(client, candidate, {**attempted, "reason": "changed"})
            return None
        return self._signed_in(*done)

    # --- sessions ------------------------------------------------------------------------

    async def refresh(self, *, token: str, client: ClientInfo) -> SignedIn:
        dealership_id = storage.token_dealership(token)
        if dealership_id is None:
            await self._session_failed(client, "auth.refresh_failed", "malformed")
            raise InvalidRefreshToken()

        async def work(
            session: AsyncSession,
        ) -> tuple[User, storage.IssuedRefreshToken, CallerAccess] | _Refused | None:
            row = await storage.lock_refresh_token(session, token=token)
            if row is None:
                return None
            who = {"dealership_id": row.dealership_id, "user_id": row.user_id}
            if row.revoked_at is not None:
                # Used before (or ended): whoever holds it, the family is not safe any more.
                revoked = await storage.revoke_family(
                    session, family_id=row.family_id, reason="reuse"
                )
                await storage.record_event(
                    session,
                    client,
                    **who,
                    event="auth.refresh_reuse",
                    outcome="denied",
                    details={
                        "family": row.family_id.hex,
                        "revoked_before": row.revoked_reason,
                        "revoked_now": revoked,
                    },
                )
                return _Refused.REFUSED
            now = await session.scalar(storage.NOW)
            assert now is not None
            if row.expires_at <= now:
                await storage.record_event(
                    session,
                    client,
                    **who,
                    event="auth.refresh_failed",
                    outcome="failure",
                    details={"family": row.family_id.hex, "reason": "expired"},
                )
                return _Refused.REFUSED
            user = await storage.session_user(session, user_id=row.user_id)
            if user is None:
                await storage.revoke_family(
                    session, family_id=row.family_id, reason="user_inactive"
                )
                await storage.record_event(
                    session,
                    client,
                    **who,
                    event="auth.refresh_failed",
                    outcome="failure",
                    details={"family": row.family_id.hex, "reason": "user_inactive"},
                )
                return _Refused.REFUSED
            issued, access = await self._open_session(
                session, client, user, family_id=row.family_id
            )
            row.revoked_at = now
            row.revoked_reason = "rotated"
            row.replaced_by_id = issued.row.id
            await session.flush()
            await storage.record_event(
                session,
                client,
                **who,
                event="auth.refresh",
                outcome="success",
                details={"family": row.family_id.hex},
            )
            return user, issued, access

        done = await self._in(dealership_id, work)
        if done is None:
            await self._session_failed(client, "auth.refresh_failed", "unknown")
            raise InvalidRefreshToken()
        if isinstance(done, _Refused):
            raise InvalidRefreshToken()
        return self._signed_in(*done)

    async def logout(self, *, token: str, client: ClientInfo) -> datetime:
        """End the session (the token's whole family). Returns when."""
        dealership_id = storage.token_dealership(token)
        if dealership_id is None:
            await self._session_failed(client, "auth.logout_failed", "malformed")
            raise InvalidRefreshToken()

        async def work(session: AsyncSession) -> datetime | None:
            row = await storage.lock_refresh_token(session, token=token)
            if row is None:
                return None
            revoked = await storage.revoke_family(session, family_id=row.family_id, reason="logout")
            await storage.record_event(
                session,
                client,
                dealership_id=row.dealership_id,
                user_id=row.user_id,
                event="auth.logout",
                outcome="success",
                details={"family": row.family_id.hex, "revoked": revoked},
            )
            now = await session.scalar(storage.NOW)
            assert now is not None
            return now

        ended = await self._in(dealership_id, work)
        if ended is None:
            await self._session_failed(client, "auth.logout_failed", "unknown")
            raise InvalidRefreshToken()
        return ended

    async def _session_failed(self, client: ClientInfo, event: str, reason: str) -> None:
        # The token's prefix is the client's word, not a fact: filed under dealership 0.
        await self.record(
            client,
            dealership_id=None,
            user_id=None,
            event=event,
            outcome="failure",
            details={"reason": reason},
        )

    # --- the caller of a request ---------------------------------------------------------

    async def verify_header(self, header: str, client: ClientInfo) -> TokenIdentity:
        """Check an `Authorization` header's token (signature, issuer, audience, expiry) -
        no database work. InvalidToken (already audited) otherwise."""
        try:
            scheme, _, token = header.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise InvalidToken(
                    "use an `Authorization: Bearer <token>` header", reason="malformed_header"
                )
            return await self._verify(token)
        except InvalidToken as exc:
            await self._rejected(client, exc)
            raise

    async def confirm(
        self, db: TenantDB, identity: TokenIdentity, client: ClientInfo
    ) -> tuple[Principal, frozenset[str]]:
        """The caller a verified token names, confirmed in the database (active, session
        live, the role they have now and its actions); `db` (the request's) ends up bound
        to them. It runs once the operation has passed validation and the query limits, so
        a refused operation costs no SQL. InvalidToken (already audited) otherwise."""
        try:
            return await self._confirm(db, identity)
        except InvalidToken as exc:
            await self._rejected(client, exc)
            raise

    async def authenticate(
        self, db: TenantDB, header: str, client: ClientInfo
    ) -> tuple[Principal, frozenset[str]]:
        """verify_header, then confirm."""
        return await self.confirm(db, await self.verify_header(header, client), client)

    async def _rejected(self, client: ClientInfo, exc: InvalidToken) -> None:
        await self.record(
            client,
            dealership_id=exc.dealership_id,
            user_id=exc.user_id,
            event="auth.token_rejected",
            outcome="denied",
            details={"reason": exc.reason},
        )

    async def _confirm(
        self, db: TenantDB, identity: TokenIdentity
    ) -> tuple[Principal, frozenset[str]]:
        if identity.email is not None:
            identity = await self._external_user(db, identity)
        assert identity.user_id is not None
        assert identity.dealership_id is not None
        claimed = identity.role.value if identity.role is not None else None
        access = await storage.confirm_caller(
            db,
            dealership_id=identity.dealership_id,
            user_id=identity.user_id,
            role=claimed,
            session_id=identity.session_id,
        )
        if access is None or not access.session_live:
            raise InvalidToken(
                reason="user_inactive" if access is None else "session_ended",
                user_id=identity.user_id,
                dealership_id=identity.dealership_id,
            )
        # The role the database gives the user now, not the one in the token.
        await db.bind(access.dealership_id, user_id=access.user_id, role=access.role.value)
        principal = Principal(
            user_id=access.user_id,
            dealership_id=access.dealership_id,
            role=access.role,
            token_id=identity.token_id,
        )
        return principal, access.actions

    async def _verify(self, token: str) -> TokenIdentity:
        algorithm = unverified_algorithm(token)
        for verifier in self.verifiers:
            if algorithm in verifier.algorithms:
                return await verifier.verify(token)
        raise InvalidToken(reason="bad_token" if algorithm is None else "unsupported_algorithm")

    async def _external_user(self, db: TenantDB, identity: TokenIdentity) -> TokenIdentity:
        """An external provider's token names an e-mail: it must be exactly one active user."""
        assert identity.email is not None
        async with db.session() as session:
            candidates = await storage.find_logins(session, email=identity.email)
        active = [c for c in candidates if c.is_active and c.dealership_active]
        if len(active) > 1:
            raise InvalidToken(reason="ambiguous_user")
        if not active and len(candidates) == 1:
            (known,) = candidates
            raise InvalidToken(
                reason="user_inactive", user_id=known.user_id, dealership_id=known.dealership_id
            )
        if not active:
            raise InvalidToken(reason="unknown_user")
        (user,) = active
        return TokenIdentity(
            token_id=identity.token_id,
            issuer=identity.issuer,
            user_id=user.user_id,
            dealership_id=user.dealership_id,
            role=user.role,
        )
