"""Users through the real app: lookup, list, invitation, profile, role, preferences,
(de)activation, password resets by token, tenancy and the audit trail."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models.enums import Role
from db.tenant import TenantDB
from schema.relay import to_global_id
from server.passwords import verify_password
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import pk, rows, scalar

USER_FIELDS = "id email firstName lastName fullName phone title role isActive deactivatedAt"

INVITE = f"""
mutation($input: InviteUserInput!) {{
  inviteUser(input: $input) {{
    __typename
    ... on InviteUserSuccess {{ user {{ {USER_FIELDS} }} passwordSetToken
                               passwordSetTokenExpiresAt }}
    ... on Error {{ message code field }}
  }}
}}"""

UPDATE_PROFILE = f"""
mutation($input: UpdateUserProfileInput!) {{
  updateUserProfile(input: $input) {{
    __typename
    ... on UpdateUserProfileSuccess {{ user {{ {USER_FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

CHANGE_ROLE = """
mutation($input: ChangeUserRoleInput!) {
  changeUserRole(input: $input) {
    __typename
    ... on ChangeUserRoleSuccess { user { id role } }
    ... on Error { message code field }
  }
}"""

PREFERENCES = """
mutation($input: UpdateUserPreferencesInput!) {
  updateUserPreferences(input: $input) {
    __typename
    ... on UpdateUserPreferencesSuccess { user { id preferences } }
    ... on Error { message code field }
  }
}"""

DEACTIVATE = """
mutation($input: DeactivateUserInput!) {
  deactivateUser(input: $input) {
    __typename
    ... on DeactivateUserSuccess { user { id isActive deactivatedAt } }
    ... on Error { message code field }
  }
}"""

REACTIVATE = """
mutation($input: ReactivateUserInput!) {
  reactivateUser(input: $input) {
    __typename
    ... on ReactivateUserSuccess { user { id isActive deactivatedAt } }
    ... on Error { message code field }
  }
}"""

REQUEST_RESET = """
mutation($input: RequestPasswordResetInput!) {
  requestPasswordReset(input: $input) {
    __typename
    ... on RequestPasswordResetSuccess { user { id email } token expiresAt }
    ... on Error { message code field }
  }
}"""

RESET = """
mutation($input: ResetPasswordInput!) {
  resetPassword(input: $input) {
    __typename
    ... on ResetPasswordSuccess { email }
    ... on Error { message code field }
  }
}"""

LIST = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: UserFilter,
      $orderBy: UserOrder) {
  users(first: $first, after: $after, last: $last, before: $before, filter: $filter,
        orderBy: $orderBy) {
    totalCount
    nodes { lastName email role isActive }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

NEW_PASSWORD = "correct horse battery staple"


def _admin(tenant: Tenant) -> str:
    return tenant.tokens[Role.ADMIN]


def _gid(tenant: Tenant, role: Role) -> str:
    return to_global_id("User", tenant.users[role])


async def _sql(engine: AsyncEngine, dealership_id: int, sql: str, **params: object) -> None:
    """Run a write as the dealership, committed (test set-up the API cannot do)."""
    db = TenantDB(engine, dealership_id)

    async def work(session: AsyncSession) -> None:
        await session.execute(text(sql), params)

    try:
        await db.transaction(work)
    finally:
        await db.close()


async def _audit(engine: AsyncEngine, tenant: Tenant, action: str) -> list[dict[str, object]]:
    return await rows(
        engine,
        tenant.dealership_id,
        "SELECT action, entity_type, entity_id, user_id, changes FROM audit_logs "
        "WHERE action = :action ORDER BY id",
        action=action,
    )


async def _audit_count(engine: AsyncEngine, tenant: Tenant) -> object:
    return await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM audit_logs")


async def _invite(client: GraphQLClient, tenant: Tenant, **values: object) -> dict[str, object]:
    payload = {
        "email": "new.hire@example.com",
        "firstName": "Nia",
        "lastName": "Hart",
        "role": "SALESPERSON",
        **values,
    }
    data = await client.data(INVITE, {"input": payload}, token=_admin(tenant))
    result = data["inviteUser"]
    assert isinstance(result, dict)
    return result


# --- queries -----------------------------------------------------------------------------


async def test_user_by_id_and_by_email(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    gid = _gid(tenant, Role.SALESPERSON)
    data = await client.data(
        """query($id: ID!, $email: String!) {
             user(id: $id) { id email role isActive preferences dealership { code } }
             userByEmail(email: $email) { id }
             node(id: $id) { ... on User { email } } }""",
        {"id": gid, "email": f"  SALESPERSON.{tenant.code.upper()}@EXAMPLE.COM "},
        token=tenant.token,
    )
    assert data["user"] == {
        "id": gid,
        "email": f"salesperson.{tenant.code}@example.com",
        "role": "SALESPERSON",
        "isActive": True,
        "preferences": {},
        "dealership": {"code": tenant.code},
    }
    assert data["userByEmail"] == {"id": gid}
    assert data["node"] == {"email": f"salesperson.{tenant.code}@example.com"}
    missing = await client.data(
        '{ userByEmail(email: "nobody@example.com") { id } }', token=tenant.token
    )
    assert missing == {"userByEmail": None}


async def test_another_dealerships_users_are_invisible(
    client: GraphQLClient, factory: Factory
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    theirs = _gid(b, Role.ADMIN)
    data = await client.data(
        """query($id: ID!, $email: String!) { user(id: $id) { id } node(id: $id) { id }
             userByEmail(email: $email) { id } }""",
        {"id": theirs, "email": f"admin.{b.code}@example.com"},
        token=a.token,
    )
    assert data == {"user": None, "node": None, "userByEmail": None}
    listed = await client.data(LIST, {"filter": {"search": b.code}}, token=a.token)
    assert listed["users"]["totalCount"] == 0


async def test_user_list_filters_and_orders(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    await factory.user(tenant, first_name="Zoe", last_name="Aaron", email="zoe@example.com")
    await factory.user(
        tenant, first_name="Old", last_name="Timer", email="old@example.com", is_active=False
    )
    everyone = (await client.data(LIST, {}, token=tenant.token))["users"]
    assert everyone["totalCount"] == 7
    assert everyone["nodes"][0]["lastName"] == "Aaron"  # by last name by default
    for flt, expected in (
        ({"search": "zoe"}, 1),
        ({"search": "ZOE AAR"}, 1),
        ({"search": "old@"}, 1),
        ({"search": "tester"}, 5),
        ({"search": "100%"}, 0),
        ({"role": "ADMIN"}, 1),
        ({"role": "SALESPERSON"}, 3),
        ({"isActive": False}, 1),
        ({"isActive": True, "role": "SALESPERSON"}, 2),
    ):
        found = await client.data(LIST, {"filter": flt}, token=tenant.token)
        assert found["users"]["totalCount"] == expected, flt
    by_email = await client.data(
        LIST, {"orderBy": {"field": "EMAIL", "direction": "DESC"}}, token=tenant.token
    )
    emails = [n["email"] for n in by_email["users"]["nodes"]]
    assert emails == sorted(emails, reverse=True)
    newest = await client.data(
        LIST,
        {"first": 1, "orderBy": {"field": "CREATED_AT", "direction": "DESC"}},
        token=tenant.token,
    )
    assert newest["users"]["nodes"][0]["email"] == "old@example.com"


async def test_user_pagination_edges(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    empty = await client.data(LIST, {"filter": {"search": "no such person"}}, token=tenant.token)
    assert empty["users"]["nodes"] == []
    assert empty["users"]["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }
    order = {"field": "EMAIL", "direction": "ASC"}
    page1 = (await client.data(LIST, {"first": 2, "orderBy": order}, token=tenant.token))["users"]
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = (
        await client.data(
            LIST,
            {"first": 2, "after": page1["pageInfo"]["endCursor"], "orderBy": order},
            token=tenant.token,
        )
    )["users"]
    page3 = (
        await client.data(
            LIST,
            {"first": 2, "after": page2["pageInfo"]["endCursor"], "orderBy": order},
            token=tenant.token,
        )
    )["users"]
    assert len(page3["nodes"]) == 1  # the last page: 5 users
    assert page3["pageInfo"]["hasNextPage"] is False
    assert page3["pageInfo"]["hasPreviousPage"] is True
    emails = [n["email"] for p in (page1, page2, page3) for n in p["nodes"]]
    assert emails == sorted(emails)
    assert len(set(emails)) == 5
    back = (
        await client.data(
            LIST,
            {"last": 2, "before": page3["pageInfo"]["startCursor"], "orderBy": order},
            token=tenant.token,
        )
    )["users"]
    assert [n["email"] for n in back["nodes"]] == emails[2:4]
    bad = await client.execute(LIST, {"after": "garbage"}, token=tenant.token)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    too_many = await client.execute(LIST, {"first": 101}, token=tenant.token)
    assert too_many["errors"][0]["extensions"]["code"] == "PAGE_SIZE_OUT_OF_RANGE"


async def test_user_queries_need_sign_in(client: GraphQLClient) -> None:
    result = await client.execute("{ users { totalCount } }")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- invitation --------------------------------------------------------------------------


async def test_invite_creates_an_active_user_without_password(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    result = await _invite(
        client, tenant, email=" New.Hire@Example.COM ", phone="(614) 555-0101", title=" F&I "
    )
    assert result["__typename"] == "InviteUserSuccess"
    user = result["user"]
    assert user["email"] == "New.Hire@example.com"
    assert user["phone"] == "+16145550101"
    assert user["title"] == "F&I"
    assert user["role"] == "SALESPERSON"
    assert user["isActive"] is True
    token = result["passwordSetToken"]
    assert token.startswith(f"{tenant.dealership_id}.")
    stored = await rows(
        engine,
        tenant.dealership_id,
        "SELECT u.password_hash, t.token_hash, t.used_at FROM users u "
        "JOIN password_reset_tokens t ON t.user_id = u.id WHERE u.id = :id",
        id=pk(user["id"]),
    )
    assert stored == [
        {
            "password_hash": None,
            "token_hash": hashlib.sha256(token.encode()).hexdigest(),
            "used_at": None,
        }
    ]
    invited = await _audit(engine, tenant, "user.invite")
    assert len(invited) == 1
    assert invited[0]["entity_type"] == "User"
    assert invited[0]["entity_id"] == pk(user["id"])
    assert invited[0]["user_id"] == tenant.users[Role.ADMIN]
    assert invited[0]["changes"]["role"] == {"before": None, "after": "salesperson"}
    assert invited[0]["changes"]["password_hash"] == {"before": None, "after": "[redacted]"}
    issued = await _audit(engine, tenant, "user.issue_password_token")
    assert len(issued) == 1
    assert issued[0]["changes"]["token_hash"]["after"] == "[redacted]"
    # The invitee sets a password with the token, without signing in.
    done = await client.data(RESET, {"input": {"token": token, "newPassword": NEW_PASSWORD}})
    assert done["resetPassword"] == {
        "__typename": "ResetPasswordSuccess",
        "email": "New.Hire@example.com",
    }


async def test_invite_refuses_a_taken_email_in_any_case(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    before = await _audit_count(engine, tenant)
    result = await _invite(client, tenant, email=f"ADMIN.{tenant.code}@example.com")
    assert result["__typename"] == "ValidationError"
    assert result["code"] == "EMAIL_TAKEN"
    assert result["field"] == ["input", "email"]
    assert await _audit_count(engine, tenant) == before
    # The same address is free in another dealership.
    other = await factory.tenant()
    again = await _invite(client, other, email=f"admin.{tenant.code}@example.com")
    assert again["__typename"] == "InviteUserSuccess"


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"email": "not-an-email"}, ["input", "email"], "INVALID_EMAIL"),
        ({"firstName": "  "}, ["input", "firstName"], "REQUIRED"),
        ({"lastName": "x" * 101}, ["input", "lastName"], "TOO_LONG"),
        ({"phone": "12"}, ["input", "phone"], "INVALID_PHONE"),
        ({"title": "x" * 101}, ["input", "title"], "TOO_LONG"),
    ],
)
async def test_invite_validation_errors_name_the_field(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: list[str],
    code: str,
) -> None:
    tenant = await factory.tenant()
    result = await _invite(client, tenant, **values)
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        field,
        code,
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM users") == 5
    assert await _audit_count(engine, tenant) == 0


# --- profile, role, preferences ----------------------------------------------------------


async def test_update_profile_changes_only_what_is_sent(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    gid = _gid(tenant, Role.SALESPERSON)
    data = await client.data(
        UPDATE_PROFILE,
        {"input": {"id": gid, "lastName": " Rivera ", "phone": "614-555-0177", "title": None}},
        token=_admin(tenant),
    )
    user = data["updateUserProfile"]["user"]
    assert (user["firstName"], user["lastName"], user["phone"], user["title"]) == (
        "Salesperson",
        "Rivera",
        "+16145550177",
        None,
    )
    audit = await _audit(engine, tenant, "user.update_profile")
    assert audit[0]["changes"] == {
        "last_name": {"before": "Tester", "after": "Rivera"},
        "phone": {"before": None, "after": "+16145550177"},
    }
    # The same values again: nothing changes, no second audit row.
    await client.data(
        UPDATE_PROFILE,
        {"input": {"id": gid, "lastName": "Rivera"}},
        token=_admin(tenant),
    )
    assert len(await _audit(engine, tenant, "user.update_profile")) == 1


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"firstName": ""}, ["input", "firstName"], "REQUIRED"),
        ({"lastName": None}, ["input", "lastName"], "REQUIRED"),
        ({"phone": "555"}, ["input", "phone"], "INVALID_PHONE"),
        ({"title": "t" * 101}, ["input", "title"], "TOO_LONG"),
    ],
)
async def test_update_profile_validation(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: list[str],
    code: str,
) -> None:
    tenant = await factory.tenant()
    result = (
        await client.data(
            UPDATE_PROFILE,
            {"input": {"id": _gid(tenant, Role.SALESPERSON), **values}},
            token=_admin(tenant),
        )
    )["updateUserProfile"]
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        field,
        code,
    )
    assert await _audit_count(engine, tenant) == 0


async def test_user_writes_refuse_another_dealerships_user(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    theirs = _gid(b, Role.SALESPERSON)
    attempts = [
        (UPDATE_PROFILE, "updateUserProfile", {"id": theirs, "firstName": "Mallory"}),
        (CHANGE_ROLE, "changeUserRole", {"id": theirs, "role": "ADMIN"}),
        (PREFERENCES, "updateUserPreferences", {"id": theirs, "preferences": {"x": 1}}),
        (DEACTIVATE, "deactivateUser", {"id": theirs}),
        (REACTIVATE, "reactivateUser", {"id": theirs}),
    ]
    for query, name, payload in attempts:
        result = (await client.data(query, {"input": payload}, token=_admin(a)))[name]
        assert result["__typename"] == "MultiTenantViolationError", name
        assert result["field"] == ["input", "id"]
    reset = (await client.data(REQUEST_RESET, {"input": {"userId": theirs}}, token=_admin(a)))[
        "requestPasswordReset"
    ]
    assert reset["__typename"] == "MultiTenantViolationError"
    assert reset["field"] == ["input", "userId"]
    unchanged = await rows(
        engine,
        b.dealership_id,
        "SELECT first_name, role, is_active, preferences FROM users WHERE id = :id",
        id=pk(theirs),
    )
    assert unchanged == [
        {"first_name": "Salesperson", "role": "salesperson", "is_active": True, "preferences": {}}
    ]
    assert await scalar(engine, b.dealership_id, "SELECT count(*) FROM password_reset_tokens") == 0
    assert await _audit_count(engine, a) == 0
    assert await _audit_count(engine, b) == 0
    events = await rows(
        engine, a.dealership_id, "SELECT event, details FROM security_audit_logs ORDER BY id"
    )
    assert len(events) == len(attempts) + 1
    assert {e["details"]["entity"] for e in events} == {"User"}


async def test_unknown_and_malformed_user_ids(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    missing = (
        await client.data(
            CHANGE_ROLE,
            {"input": {"id": to_global_id("User", 999_999_999), "role": "ADMIN"}},
            token=_admin(tenant),
        )
    )["changeUserRole"]
    assert missing["__typename"] == "ResourceNotFoundError"
    wrong_type = (
        await client.data(
            CHANGE_ROLE,
            {"input": {"id": to_global_id("Customer", 1), "role": "ADMIN"}},
            token=_admin(tenant),
        )
    )["changeUserRole"]
    assert (wrong_type["code"], wrong_type["field"]) == ("INVALID_ID", ["input", "id"])


async def test_change_role_and_keep_an_admin(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    promoted = (
        await client.data(
            CHANGE_ROLE,
            {"input": {"id": _gid(tenant, Role.SALESPERSON), "role": "SALES_MANAGER"}},
            token=_admin(tenant),
        )
    )["changeUserRole"]
    assert promoted["user"]["role"] == "SALES_MANAGER"
    audit = await _audit(engine, tenant, "user.change_role")
    assert audit[0]["changes"] == {"role": {"before": "salesperson", "after": "sales_manager"}}

    last_admin = (
        await client.data(
            CHANGE_ROLE,
            {"input": {"id": _gid(tenant, Role.ADMIN), "role": "READ_ONLY"}},
            token=_admin(tenant),
        )
    )["changeUserRole"]
    assert (last_admin["code"], last_admin["field"]) == ("LAST_ADMIN", ["input", "role"])
    assert len(await _audit(engine, tenant, "user.change_role")) == 1

    # With a second admin, the first may step down.
    await client.data(
        CHANGE_ROLE,
        {"input": {"id": _gid(tenant, Role.READ_ONLY), "role": "ADMIN"}},
        token=_admin(tenant),
    )
    stepped_down = (
        await client.data(
            CHANGE_ROLE,
            {"input": {"id": _gid(tenant, Role.ADMIN), "role": "READ_ONLY"}},
            token=_admin(tenant),
        )
    )["changeUserRole"]
    assert stepped_down["user"]["role"] == "READ_ONLY"


async def test_update_preferences_replaces_the_object(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    gid = _gid(tenant, Role.SALESPERSON)
    prefs = {"theme": "dark", "columns": ["stock", "price"], "pageSize": 50, "beta": None}
    data = await client.data(
        PREFERENCES, {"input": {"id": gid, "preferences": prefs}}, token=_admin(tenant)
    )
    assert data["updateUserPreferences"]["user"]["preferences"] == prefs
    replaced = await client.data(
        PREFERENCES, {"input": {"id": gid, "preferences": {"theme": "light"}}}, token=_admin(tenant)
    )
    assert replaced["updateUserPreferences"]["user"]["preferences"] == {"theme": "light"}
    stored = await scalar(
        engine, tenant.dealership_id, "SELECT preferences FROM users WHERE id = :id", id=pk(gid)
    )
    assert stored == {"theme": "light"}
    audit = await _audit(engine, tenant, "user.update_preferences")
    assert len(audit) == 2
    assert audit[1]["changes"]["preferences"] == {"before": prefs, "after": {"theme": "light"}}


@pytest.mark.parametrize(
    ("preferences", "code"),
    [
        (["not", "an", "object"], "INVALID_PREFERENCES"),
        ("dark", "INVALID_PREFERENCES"),
        ({f"k{i}": i for i in range(51)}, "TOO_MANY_KEYS"),
        ({"blob": "x" * (8 * 1024)}, "TOO_LARGE"),
    ],
)
async def test_update_preferences_validation(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine, preferences: object, code: str
) -> None:
    tenant = await factory.tenant()
    result = (
        await client.data(
            PREFERENCES,
            {"input": {"id": _gid(tenant, Role.SALESPERSON), "preferences": preferences}},
            token=_admin(tenant),
        )
    )["updateUserPreferences"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        code,
        ["input", "preferences"],
    )
    assert await _audit_count(engine, tenant) == 0


async def test_preferences_of_exactly_the_limits_are_accepted(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    fifty = {f"k{i:02d}": i for i in range(50)}
    ok = await client.data(
        PREFERENCES,
        {"input": {"id": _gid(tenant, Role.SALESPERSON), "preferences": fifty}},
        token=_admin(tenant),
    )
    assert ok["updateUserPreferences"]["__typename"] == "UpdateUserPreferencesSuccess"
    padding = 8 * 1024 - len(json.dumps({"blob": ""}, separators=(",", ":")))
    eight_kb = {"blob": "x" * padding}
    ok = await client.data(
        PREFERENCES,
        {"input": {"id": _gid(tenant, Role.SALESPERSON), "preferences": eight_kb}},
        token=_admin(tenant),
    )
    assert ok["updateUserPreferences"]["__typename"] == "UpdateUserPreferencesSuccess"


# --- (de)activation ----------------------------------------------------------------------


async def test_deactivate_and_reactivate(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    gid = _gid(tenant, Role.SALESPERSON)
    off = (await client.data(DEACTIVATE, {"input": {"id": gid}}, token=_admin(tenant)))[
        "deactivateUser"
    ]
    assert off["__typename"] == "DeactivateUserSuccess"
    assert off["user"]["isActive"] is False
    assert off["user"]["deactivatedAt"] is not None
    # The deactivated user's token no longer gets them in: refused before anything runs.
    refused = await client.post("{ viewer { role } }", token=tenant.tokens[Role.SALESPERSON])
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # Deactivating twice changes nothing more.
    await client.data(DEACTIVATE, {"input": {"id": gid}}, token=_admin(tenant))
    assert len(await _audit(engine, tenant, "user.deactivate")) == 1

    on = (await client.data(REACTIVATE, {"input": {"id": gid}}, token=_admin(tenant)))[
        "reactivateUser"
    ]
    assert on["user"] == {"id": gid, "isActive": True, "deactivatedAt": None}
    audit = await _audit(engine, tenant, "user.reactivate")
    assert audit[0]["changes"]["is_active"] == {"before": False, "after": True}


async def test_no_one_deactivates_themselves_or_the_last_admin(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    myself = (
        await client.data(
            DEACTIVATE, {"input": {"id": _gid(tenant, Role.ADMIN)}}, token=_admin(tenant)
        )
    )["deactivateUser"]
    assert (myself["__typename"], myself["code"], myself["field"]) == (
        "ValidationError",
        "CANNOT_DEACTIVATE_SELF",
        ["input", "id"],
    )
    # Only admins manage users by default: a sales manager is refused outright...
    refused = (
        await client.data(
            DEACTIVATE, {"input": {"id": _gid(tenant, Role.ADMIN)}}, token=tenant.token
        )
    )["deactivateUser"]
    assert (refused["__typename"], refused["code"]) == ("PermissionDeniedError", "FORBIDDEN")
    # ...and, given user.manage, still cannot remove the last active admin.
    await factory.run(
        tenant.dealership_id,
        lambda s: s.execute(
            text(
                "INSERT INTO permissions (dealership_id, role, action) "
                "VALUES (:d, 'sales_manager', 'user.manage')"
            ),
            {"d": tenant.dealership_id},
        ),
    )
    last_admin = (
        await client.data(
            DEACTIVATE, {"input": {"id": _gid(tenant, Role.ADMIN)}}, token=tenant.token
        )
    )["deactivateUser"]
    assert last_admin["code"] == "LAST_ADMIN"
    assert await _audit_count(engine, tenant) == 0
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT is_active FROM users WHERE id = :id",
            id=tenant.users[Role.ADMIN],
        )
        is True
    )


# --- password reset ----------------------------------------------------------------------


async def _request_reset(client: GraphQLClient, tenant: Tenant, role: Role) -> dict[str, object]:
    data = await client.data(
        REQUEST_RESET, {"input": {"userId": _gid(tenant, role)}}, token=_admin(tenant)
    )
    result = data["requestPasswordReset"]
    assert isinstance(result, dict)
    return result


async def _reset(client: GraphQLClient, token: str, password: str = NEW_PASSWORD) -> dict:
    data = await client.data(RESET, {"input": {"token": token, "newPassword": password}})
    result = data["resetPassword"]
    assert isinstance(result, dict)
    return result


async def test_password_reset_by_single_use_token(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    user_id = tenant.users[Role.SALESPERSON]
    await _sql(
        engine,
        tenant.dealership_id,
        "UPDATE users SET failed_login_count = 7, locked_until = now() + interval '1 hour' "
        "WHERE id = :id",
        id=user_id,
    )
    requested = await _request_reset(client, tenant, Role.SALESPERSON)
    assert requested["__typename"] == "RequestPasswordResetSuccess"
    token = requested["token"]
    assert isinstance(token, str)
    # Only the hash is stored, and the raw token appears in no audit row.
    stored = await rows(
        engine,
        tenant.dealership_id,
        "SELECT token_hash, expires_at - created_at AS ttl FROM password_reset_tokens",
    )
    assert len(stored) == 1
    assert stored[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert 3590 <= stored[0]["ttl"].total_seconds() <= 3610
    audit = await _audit(engine, tenant, "user.request_password_reset")
    assert len(audit) == 1
    assert audit[0]["entity_type"] == "PasswordResetToken"

    # Anonymous: resetPassword needs no sign-in.
    done = await _reset(client, token)
    assert done == {
        "__typename": "ResetPasswordSuccess",
        "email": f"salesperson.{tenant.code}@example.com",
    }
    user = (
        await rows(
            engine,
            tenant.dealership_id,
            "SELECT password_hash, failed_login_count, locked_until FROM users WHERE id = :id",
            id=user_id,
        )
    )[0]
    assert verify_password(str(user["password_hash"]), NEW_PASSWORD)
    assert user["failed_login_count"] == 0
    assert user["locked_until"] is None
    assert await scalar(
        engine, tenant.dealership_id, "SELECT used_at IS NOT NULL FROM password_reset_tokens"
    )
    audit = await _audit(engine, tenant, "user.reset_password")
    assert len(audit) == 1
    assert audit[0]["user_id"] == user_id
    assert audit[0]["changes"]["password_hash"] == {"before": "[redacted]", "after": "[changed]"}
    assert audit[0]["changes"]["failed_login_count"] == {"before": 7, "after": 0}
    everything = json.dumps(
        await rows(engine, tenant.dealership_id, "SELECT changes FROM audit_logs"), default=str
    )
    assert token not in everything
    assert token.split(".", 1)[1] not in everything
    assert str(user["password_hash"]) not in everything
    assert hashlib.sha256(token.encode()).hexdigest() not in everything

    # Single use.
    again = await _reset(client, token, "another long password")
    assert (again["__typename"], again["code"], again["field"]) == (
        "ValidationError",
        "TOKEN_USED",
        ["input", "token"],
    )
    assert len(await _audit(engine, tenant, "user.reset_password")) == 1


async def test_an_expired_token_is_refused(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    token = (await _request_reset(client, tenant, Role.SALESPERSON))["token"]
    await _sql(
        engine,
        tenant.dealership_id,
        "UPDATE password_reset_tokens SET expires_at = now() - interval '1 second'",
    )
    result = await _reset(client, str(token))
    assert (result["code"], result["field"]) == ("TOKEN_EXPIRED", ["input", "token"])
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT password_hash FROM users WHERE id = :id",
            id=tenant.users[Role.SALESPERSON],
        )
        is None
    )


async def test_a_new_request_invalidates_the_earlier_token(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    first = (await _request_reset(client, tenant, Role.SALESPERSON))["token"]
    second = (await _request_reset(client, tenant, Role.SALESPERSON))["token"]
    assert first != second
    old = await _reset(client, str(first))
    assert old["code"] == "INVALID_TOKEN"
    new = await _reset(client, str(second))
    assert new["__typename"] == "ResetPasswordSuccess"


@pytest.mark.parametrize(
    "token",
    ["", "garbage", ".abc", "0.abc", "-1.abc", "12x.abc", "1.", "99999999999999999999.abc"],
)
async def test_malformed_tokens_are_invalid(client: GraphQLClient, token: str) -> None:
    result = await _reset(client, token)
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "INVALID_TOKEN",
        ["input", "token"],
    )


async def test_a_token_only_works_in_its_own_dealership(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    token = str((await _request_reset(client, a, Role.SALESPERSON))["token"])
    forged = f"{b.dealership_id}.{token.split('.', 1)[1]}"
    assert (await _reset(client, forged))["code"] == "INVALID_TOKEN"
    unknown = f"{a.dealership_id}.{'A' * 43}"
    assert (await _reset(client, unknown))["code"] == "INVALID_TOKEN"
    assert await _audit_count(engine, b) == 0
    assert (await _reset(client, token))["__typename"] == "ResetPasswordSuccess"


async def test_a_short_password_is_refused_and_keeps_the_token(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    token = str((await _request_reset(client, tenant, Role.SALESPERSON))["token"])
    short = await _reset(client, token, "x" * 11)
    assert (short["code"], short["field"]) == ("PASSWORD_TOO_SHORT", ["input", "newPassword"])
    assert len(await _audit(engine, tenant, "user.reset_password")) == 0
    assert (await _reset(client, token, "x" * 12))["__typename"] == "ResetPasswordSuccess"


async def test_deactivation_ends_pending_tokens_and_blocks_requests(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    token = str((await _request_reset(client, tenant, Role.SALESPERSON))["token"])
    await client.data(
        DEACTIVATE, {"input": {"id": _gid(tenant, Role.SALESPERSON)}}, token=_admin(tenant)
    )
    assert (await _reset(client, token))["code"] == "INVALID_TOKEN"
    refused = await _request_reset(client, tenant, Role.SALESPERSON)
    assert (refused["code"], refused["field"]) == ("USER_DEACTIVATED", ["input", "userId"])
    assert len(await _audit(engine, tenant, "user.request_password_reset")) == 1


async def test_requesting_a_reset_needs_sign_in(client: GraphQLClient) -> None:
    result = await client.execute(REQUEST_RESET, {"input": {"userId": to_global_id("User", 1)}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- concurrency -------------------------------------------------------------------------


async def test_two_admins_demoting_each_other_at_once_leave_one(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    second = await factory.user(tenant, role=Role.ADMIN, email=f"second.{tenant.code}@x.com")
    first_token = _admin(tenant)
    second_token = client.token(second, tenant.dealership_id, Role.ADMIN)
    results = await asyncio.gather(
        client.data(
            CHANGE_ROLE,
            {"input": {"id": to_global_id("User", second), "role": "READ_ONLY"}},
            token=first_token,
        ),
        client.data(
            CHANGE_ROLE,
            {"input": {"id": _gid(tenant, Role.ADMIN), "role": "READ_ONLY"}},
            token=second_token,
        ),
    )
    outcomes = sorted(r["changeUserRole"]["__typename"] for r in results)
    assert outcomes == ["ChangeUserRoleSuccess", "ValidationError"]
    admins = await scalar(
        engine,
        tenant.dealership_id,
        "SELECT count(*) FROM users WHERE role = 'admin' AND is_active",
    )
    assert admins == 1


async def test_a_token_works_once_even_when_raced(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    token = str((await _request_reset(client, tenant, Role.SALESPERSON))["token"])
    results = await asyncio.gather(
        _reset(client, token, "first racing password"),
        _reset(client, token, "second racing password"),
    )
    assert sorted(r["__typename"] for r in results) == ["ResetPasswordSuccess", "ValidationError"]
    assert [r["code"] for r in results if "code" in r] == ["TOKEN_USED"]
    assert len(await _audit(engine, tenant, "user.reset_password")) == 1
