"""Signed access tokens (JWT, HS256): what they carry and how they are checked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from db.models.enums import Role

ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The bearer token is malformed, forged, expired or for another audience."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified claims of an access token."""

    user_id: int
    dealership_id: int
    role: Role
    token_id: str


@dataclass(frozen=True)
class TokenSigner:
    secret: str
    issuer: str
    audience: str

    def issue(
        self,
        *,
        user_id: int,
        dealership_id: int,
        role: Role,
        ttl: timedelta,
        now: datetime | None = None,
    ) -> str:
        issued = now or datetime.now(UTC)
        claims = {
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
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                leeway=10,
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the access token has expired") from None
        except jwt.PyJWTError:
            raise InvalidToken("the access token is invalid") from None
        try:
            return Principal(
                user_id=int(claims["sub"]),
                dealership_id=int(claims["dealership_id"]),
                role=Role(claims["role"]),
                token_id=str(claims.get("jti", "")),
            )
        except (KeyError, ValueError, TypeError):
            raise InvalidToken("the access token is invalid") from None
