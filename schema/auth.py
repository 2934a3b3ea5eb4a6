"""GraphQL types of signing in: the inputs, the tokens a session is made of, and the errors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from db.storage.auth import InvalidCredentials, InvalidRefreshToken
from schema.errors import CommonErrors, Error, field_path, register_error
from schema.users import User


@strawberry.input(description="Sign in with an e-mail address and a password.")
class LoginInput:
    email: str
    password: str
    dealership_code: str | None = strawberry.field(
        default=None,
        description=(
            "Needed only when the e-mail address signs in at several dealerships (the answer "
            "is then a ValidationError with code DEALERSHIP_REQUIRED)."
        ),
    )


@strawberry.input
class RefreshTokenInput:
    refresh_token: str = strawberry.field(description="The refresh token of the session.")


@strawberry.input
class LogoutInput:
    refresh_token: str = strawberry.field(description="The refresh token of the session.")


@strawberry.type(
    description=(
        "A session: send `accessToken` as `Authorization: Bearer <accessToken>`; before it "
        "expires, trade `refreshToken` for new ones (refreshToken). Each refresh token works "
        "once: using one twice ends the session."
    )
)
class LoginSuccess:
    access_token: str = strawberry.field(description="A signed JWT; short-lived.")
    access_token_expires_at: datetime
    refresh_token: str = strawberry.field(
        description="Keep it secret; it is shown only here and stored only as a hash."
    )
    refresh_token_expires_at: datetime
    user: User


@strawberry.type(description="The session goes on with new tokens; the old refresh token is spent.")
class RefreshTokenSuccess:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    user: User


@strawberry.type
class LogoutSuccess:
    signed_out_at: datetime = strawberry.field(
        description="When the session ended: its refresh tokens no longer work."
    )


@strawberry.type(
    description=(
        "The e-mail address or the password is not right, or the account cannot sign in "
        "now. For your safety it does not say which."
    )
)
class InvalidCredentialsError(Error):
    pass


@strawberry.type(description="The session has ended (or never was): sign in again.")
class InvalidRefreshTokenError(Error):
    pass


register_error(
    InvalidCredentials,
    lambda e: InvalidCredentialsError(message=e.message, code=e.code, field=field_path(e.field)),
)
register_error(
    InvalidRefreshToken,
    lambda e: InvalidRefreshTokenError(message=e.message, code=e.code, field=field_path(e.field)),
)

LoginResult = Annotated[
    LoginSuccess | InvalidCredentialsError | CommonErrors, strawberry.union("LoginResult")
]
RefreshTokenResult = Annotated[
    RefreshTokenSuccess | InvalidRefreshTokenError | CommonErrors,
    strawberry.union("RefreshTokenResult"),
]
LogoutResult = Annotated[
    LogoutSuccess | InvalidRefreshTokenError | CommonErrors, strawberry.union("LogoutResult")
]
