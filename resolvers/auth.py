"""Signing in and out: login, refreshToken and logout (server.auth does the work)."""

from __future__ import annotations

import strawberry

from resolvers.context import Info
from resolvers.mutations import mutation
from resolvers.permissions import public
from schema.auth import (
    LoginInput,
    LoginResult,
    LoginSuccess,
    LogoutInput,
    LogoutResult,
    LogoutSuccess,
    RefreshTokenInput,
    RefreshTokenResult,
    RefreshTokenSuccess,
)
from schema.base import from_row
from schema.users import User
from server.auth import AuthService


def _auth(info: Info) -> AuthService:
    service: AuthService = info.context.request.app.state.dealerdesk.auth
    return service


@mutation
async def login(info: Info, input: LoginInput) -> LoginResult:
    """Sign in: an access token and a refresh token. The rest of the request runs as you."""
    signed_in = await _auth(info).login(
        email=input.email,
        password=input.password,
        dealership_code=input.dealership_code,
        client=info.context.client,
    )
    await info.context.sign_in(signed_in.principal, signed_in.actions)
    return LoginSuccess(
        access_token=signed_in.access_token,
        access_token_expires_at=signed_in.access_token_expires_at,
        refresh_token=signed_in.refresh_token,
        refresh_token_expires_at=signed_in.refresh_token_expires_at,
        user=from_row(User, signed_in.user),
    )


@mutation
async def refresh_token(info: Info, input: RefreshTokenInput) -> RefreshTokenResult:
    """New tokens for a refresh token, which is spent."""
    signed_in = await _auth(info).refresh(token=input.refresh_token, client=info.context.client)
    await info.context.sign_in(signed_in.principal, signed_in.actions)
    return RefreshTokenSuccess(
        access_token=signed_in.access_token,
        access_token_expires_at=signed_in.access_token_expires_at,
        refresh_token=signed_in.refresh_token,
        refresh_token_expires_at=signed_in.refresh_token_expires_at,
        user=from_row(User, signed_in.user),
    )


@mutation
async def logout(info: Info, input: LogoutInput) -> LogoutResult:
    """End the session of this refresh token."""
    ended = await _auth(info).logout(token=input.refresh_token, client=info.context.client)
    return LogoutSuccess(signed_out_at=ended)


@strawberry.type
class AuthMutation:
    login: LoginResult = strawberry.field(
        resolver=login,
        description=(
            "Sign in with an e-mail address and password. Any failure - a wrong password, an "
            "unknown address, a locked or deactivated account - answers InvalidCredentialsError. "
            "After 5 failures in a row the account is locked for 15 minutes."
        ),
        extensions=public("session.login"),
    )
    refresh_token: RefreshTokenResult = strawberry.field(
        resolver=refresh_token,
        description=(
            "Trade a refresh token for a new access token and a new refresh token. Each refresh "
            "token works once; presenting a spent one ends its whole session."
        ),
        extensions=public("session.refresh"),
    )
    logout: LogoutResult = strawberry.field(
        resolver=logout,
        description="End a session: its refresh tokens stop working.",
        extensions=public("session.logout"),
    )
