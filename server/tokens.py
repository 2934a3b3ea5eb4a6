"""Access tokens: the ones we sign (JWT, HS256), and - optionally - those of an external
identity provider (RS256/ES256, keys from its JWKS).

A token only says who claims to be calling. server.auth then confirms the caller against
the database on every request (still active, the role they have now).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol

import jwt

from db.models.enums import Role

ALGORITHM = "HS256"
EXTERNAL_ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 10
# Verified tokens remembered per signer (see TokenSigner._check).
VERIFIED_TOKENS_CACHED = 4096


class InvalidToken(Exception):
    """The bearer token is malformed, forged, expired, for another audience, or names a
    user who cannot sign in. `reason` is for the security audit log, never the client."""

    def __init__(
        self,
        message: str = "the access token is invalid",
        *,
        reason: str = "invalid",
        user_id: int | None = None,
        dealership_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.user_id = user_id
        self.dealership_id = dealership_id


@dataclass(frozen=True)
class Principal:
    """Who is calling: a confirmed user, with the role the database gives them now."""

    user_id: int
    dealership_id: int
    role: Role
    token_id: str


@dataclass(frozen=True)
class TokenIdentity:
    """What a verified token says about its bearer, before the database confirms it: our
    own tokens name the user and dealership, an external provider's an e-mail address."""

    token_id: str
    issuer: str
    user_id: int | None = None
    dealership_id: int | None = None
    role: Role | None = None  # our tokens' claim; the database has the last word
    email: str | None = None
    session_id: uuid.UUID | None = None  # the sign-in session it belongs to, if any


class TokenVerifier(Protocol):
    """One kind of access token. Each verifier pins its own algorithms, so a token cannot
    be verified with a key of another kind (no algorithm confusion)."""

    @property
    def algorithms(self) -> Sequence[str]: ...

    async def verify(self, token: str) -> TokenIdentity: ...


@dataclass(frozen=True)
class TokenSigner:
    """Our own tokens: signs them (sign-in, `dealerdesk token`) and verifies them."""

    secret: str
    issuer: str
    audience: str
    algorithms: Sequence[str] = (ALGORITHM,)

    def issue(
        self,
        *,
        user_id: int,
        dealership_id: int,
        role: Role,
        ttl: timedelta,
        now: datetime | None = None,
        session_id: uuid.UUID | None = None,
    ) -> str:
        """`session_id`: the sign-in session (refresh-token family) the token belongs to; it
        stops working when that session ends. Development tokens have none."""
        issued = now or datetime.now(UTC)
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "dealership_id": dealership_id,
            "role": role.value,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl,
            "jti": uuid.uuid4().hex,
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def __post_init__(self) -> None:
        # Checking a signature costs more than the rest of a small request, and a client
        # sends the same token with every request for the token's lifetime: tokens that
        # passed are remembered by their exact text. Expiry is checked on every use; only
        # tokens that passed are kept (a failure raises, and lru_cache keeps no exception),
        # so made-up tokens cannot fill the cache.
        checked = lru_cache(maxsize=VERIFIED_TOKENS_CACHED)(self._check)
        object.__setattr__(self, "_checked", checked)

    def decode(self, token: str) -> TokenIdentity:
        identity, expires_at = self._checked(token)  # type: ignore[attr-defined]
        if time.time() >= expires_at + LEEWAY_SECONDS:  # as PyJWT's own expiry check
            raise self._expired(token)
        assert isinstance(identity, TokenIdentity)
        return identity

    def _check(self, token: str) -> tuple[TokenIdentity, float]:
        """Signature, issuer, audience, required claims and not-before: everything but the
        expiry, which changes with the clock."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"], "verify_exp": False},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.PyJWTError:
            raise InvalidToken(reason="bad_token") from None
        try:
            sid = claims.get("sid")
            identity = TokenIdentity(
                token_id=str(claims.get("jti", "")),
                issuer=self.issuer,
                user_id=int(claims["sub"]),
                dealership_id=int(claims["dealership_id"]),
                role=Role(claims["role"]),
                session_id=None if sid is None else uuid.UUID(str(sid)),
            )
            return identity, float(claims["exp"])
        except (KeyError, ValueError, TypeError):
            raise InvalidToken(reason="bad_claims") from None

    def _expired(self, token: str) -> InvalidToken:
        """The signature held (PyJWT checks it first), so the expired token's user and
        dealership can be named in the audit log."""
        user_id = dealership_id = None
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"verify_exp": False},
            )
            user_id = int(claims["sub"])
            dealership_id = int(claims["dealership_id"])
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            pass
        return InvalidToken(
            "the access token has expired",
            reason="expired",
            user_id=user_id,
            dealership_id=dealership_id,
        )

    def verify(self, token: str) -> Principal:
        """The token's claims as a Principal, unconfirmed (for tools and tests)."""
        identity = self.decode(token)
        assert identity.user_id is not None
        assert identity.dealership_id is not None
        assert identity.role is not None
        return Principal(
            user_id=identity.user_id,
            dealership_id=identity.dealership_id,
            role=identity.role,
            token_id=identity.token_id,
        )


@dataclass(frozen=True)
class LocalTokenVerifier:
    """Verifies the tokens we sign (HS256)."""

    signer: TokenSigner
    algorithms: Sequence[str] = (ALGORITHM,)

    async def verify(self, token: str) -> TokenIdentity:
        return self.signer.decode(token)


class JWKSTokenVerifier:
    """Tokens of an external identity provider, verified with a key of its JWKS.

    The key set is fetched by PyJWT's PyJWKClient (cached), off the event loop. A token
    whose key id is not in the cached set makes it fetch the set again, at most once every
    `min_refresh_seconds`, so tokens with made-up key ids cannot hammer the provider.
    The user is the one whose e-mail the `email` claim names (server.auth finds them).
    """

    def __init__(
        self,
        client: jwt.PyJWKClient,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] = EXTERNAL_ALGORITHMS,
        min_refresh_seconds: float = 30.0,
    ) -> None:
        self.client = client
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.min_refresh_seconds = min_refresh_seconds
        self._refreshed_at = float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def from_url(
        cls, url: str, *, issuer: str, audience: str, timeout: float = 5.0
    ) -> JWKSTokenVerifier:
        client = jwt.PyJWKClient(url, lifespan=300, timeout=timeout)
        return cls(client, issuer=issuer, audience=audience)

    def _signing_key(self, kid: str) -> jwt.PyJWK:
        for key in self.client.get_signing_keys():
            if key.key_id == kid:
                return key
        with self._lock:
            if time.monotonic() - self._refreshed_at < self.min_refresh_seconds:
                raise InvalidToken(reason="unknown_key")
            self._refreshed_at = time.monotonic()
        for key in self.client.get_signing_keys(refresh=True):
            if key.key_id == kid:
                return key
        raise InvalidToken(reason="unknown_key")

    def _decode(self, token: str) -> Mapping[str, object]:
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise InvalidToken(reason="no_key_id")
            key = self._signing_key(kid)
            claims: Mapping[str, object] = jwt.decode(
                token,
                key.key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud"]},
                leeway=LEEWAY_SECONDS,
            )
            return claims
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the access token has expired", reason="expired") from None
        except jwt.PyJWKClientError:
            raise InvalidToken(reason="jwks_unavailable") from None
        except jwt.PyJWTError:
            raise InvalidToken(reason="bad_token") from None

    async def verify(self, token: str) -> TokenIdentity:
        claims = await asyncio.to_thread(self._decode, token)
        email = claims.get("email")
        if not isinstance(email, str) or not email.strip():
            raise InvalidToken(reason="no_email")
        if claims.get("email_verified") is False:
            raise InvalidToken(reason="email_not_verified")
        return TokenIdentity(
            token_id=str(claims.get("jti", "")), issuer=self.issuer, email=email.strip()
        )


def unverified_algorithm(token: str) -> str | None:
    """The `alg` a token's header names - only to pick the verifier that will check the
    token, with its own pinned algorithms. Just the header segment is decoded: PyJWT's
    get_unverified_header checks every segment, character by character, and that cost more
    than the rest of a small request (the chosen verifier checks them all anyway)."""
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # RecursionError: absurd nesting
        return None
    alg = header.get("alg") if isinstance(header, dict) else None
    return alg if isinstance(alg, str) else None
