"""GraphQL types of staff users: the user, the list's filter and order, and the inputs and
results of the user mutations (invitation, profile, role, preferences, activation and
password resets)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from db.storage.users import UserOrderField
from resolvers.context import Info
from schema.enums import Role
from schema.errors import CommonErrors
from schema.relay import Node, OrderDirection

if TYPE_CHECKING:
    from schema.dealerships import Dealership


@strawberry.type(description="A staff member of a dealership.")
class User(Node):
    pk: strawberry.Private[int]
    dealership_id: strawberry.Private[int]
    email: str
    first_name: str
    last_name: str
    phone: str | None
    title: str | None
    role: Role
    is_active: bool
    deactivated_at: datetime | None
    last_login_at: datetime | None
    preferences: JSON = strawberry.field(
        description="Screen settings the user's clients keep (a JSON object)."
    )
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @strawberry.field
    async def dealership(
        self, info: Info
    ) -> Annotated[Dealership, strawberry.lazy("schema.dealerships")]:
        return await info.context.loaders.dealership.load_one(self.dealership_id)


strawberry.enum(UserOrderField, description="What users can be sorted by.")


@strawberry.input(description="Narrow a user list. All given conditions must hold.")
class UserFilter:
    search: str | None = strawberry.field(
        default=None, description="Partial match on first or last name, or e-mail."
    )
    role: Role | None = None
    is_active: bool | None = None


@strawberry.input
class UserOrder:
    field: UserOrderField = UserOrderField.LAST_NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class InviteUserInput:
    email: str = strawberry.field(description="Unique within the dealership, in any case.")
    first_name: str
    last_name: str
    role: Role
    phone: str | None = strawberry.field(
        default=None, description="Any common format; stored as E.164."
    )
    title: str | None = None


@strawberry.input(description="Only the fields you send are changed; null clears phone/title.")
class UpdateUserProfileInput:
    id: strawberry.ID
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET


@strawberry.input
class ChangeUserRoleInput:
    id: strawberry.ID
    role: Role


@strawberry.input
class UpdateUserPreferencesInput:
    id: strawberry.ID
    preferences: JSON = strawberry.field(
        description="Replaces the stored preferences: a JSON object, at most 50 keys and 8 KB."
    )


@strawberry.input
class DeactivateUserInput:
    id: strawberry.ID


@strawberry.input
class ReactivateUserInput:
    id: strawberry.ID


@strawberry.input
class RequestPasswordResetInput:
    user_id: strawberry.ID


@strawberry.input
class ResetPasswordInput:
    token: str = strawberry.field(description="The token from the invitation or reset.")
    new_password: str = strawberry.field(description="At least 12 characters.")


@strawberry.type
class InviteUserSuccess:
    user: User
    password_set_token: str = strawberry.field(
        description=(
            "Single-use token the invitee sets a password with (resetPassword). Shown only "
            "here; in production it is e-mailed instead."
        )
    )
    password_set_token_expires_at: datetime


@strawberry.type
class UpdateUserProfileSuccess:
    user: User


@strawberry.type
class ChangeUserRoleSuccess:
    user: User


@strawberry.type
class UpdateUserPreferencesSuccess:
    user: User


@strawberry.type
class DeactivateUserSuccess:
    user: User


@strawberry.type
class ReactivateUserSuccess:
    user: User


@strawberry.type
class RequestPasswordResetSuccess:
    user: User
    token: str = strawberry.field(
        description=(
            "Single-use token for resetPassword, valid for an hour. Shown only here; in "
            "production it is e-mailed to the user instead. Earlier tokens stop working."
        )
    )
    expires_at: datetime


@strawberry.type
class ResetPasswordSuccess:
    email: str = strawberry.field(description="The account's e-mail, to sign in with.")


InviteUserResult = Annotated[InviteUserSuccess | CommonErrors, strawberry.union("InviteUserResult")]
UpdateUserProfileResult = Annotated[
    UpdateUserProfileSuccess | CommonErrors, strawberry.union("UpdateUserProfileResult")
]
ChangeUserRoleResult = Annotated[
    ChangeUserRoleSuccess | CommonErrors, strawberry.union("ChangeUserRoleResult")
]
UpdateUserPreferencesResult = Annotated[
    UpdateUserPreferencesSuccess | CommonErrors, strawberry.union("UpdateUserPreferencesResult")
]
DeactivateUserResult = Annotated[
    DeactivateUserSuccess | CommonErrors, strawberry.union("DeactivateUserResult")
]
ReactivateUserResult = Annotated[
    ReactivateUserSuccess | CommonErrors, strawberry.union("ReactivateUserResult")
]
RequestPasswordResetResult = Annotated[
    RequestPasswordResetSuccess | CommonErrors, strawberry.union("RequestPasswordResetResult")
]
ResetPasswordResult = Annotated[
    ResetPasswordSuccess | CommonErrors, strawberry.union("ResetPasswordResult")
]
