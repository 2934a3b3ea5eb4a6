"""Signing in and out through the real app: login, lockout, refresh-token rotation and reuse,
logout, tokens that stop working, and the security audit log of each."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models.enums import Role
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import pk, rows, scalar

PASSWORD = "correct horse battery"

LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) {
    __typename
    ... on LoginSuccess {
      accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt
      user { id email role lastLoginAt dealership { code settings { timeZone } } }
    }
    ... on Error { message code field }
  }
}"""

REFRESH = """
mutation($input: RefreshTokenInput!) {
  refreshToken(input: $input) {
    __typename
    ... on RefreshTokenSuccess {
      accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { id role }
    }
    ... on Error { message code field }
  }
}"""

LOGOUT = """
mutation($input: LogoutInput!) {
  logout(input: $input) {
    __typename
    ... on LogoutSuccess { signedOutAt }
    ... on Error { message code field }
  }
}"""

VIEWER = "{ viewer { role user { email } } }"


async def login(
    client: GraphQLClient,
    email: str,
    password: str = PASSWORD,
    *,
    dealership_code: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, object]:
    payload: dict[str, object] = {"email": email, "password": password}
    if dealership_code is not None:
        payload["dealershipCode"] = dealership_code
    response = await client.post(LOGIN, {"input": payload}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result = body["data"]["login"]
    assert isinstance(result, dict)
    return result


async def refresh(client: GraphQLClient, token: str) -> dict[str, object]:
    result = (await client.data(REFRESH, {"input": {"refreshToken": token}}))["refreshToken"]
    assert isinstance(result, dict)
    return result


async def events(
    engine: AsyncEngine, dealership_id: int, event: str | None = None
) -> list[dict[str, object]]:
    sql = "SELECT * FROM security_audit_logs"
    if event is not None:
        sql += " WHERE event = :event"
    return await rows(engine, dealership_id, sql + " ORDER BY id", event=event)


async def user_row(engine: AsyncEngine, tenant: Tenant, role: Role) -> dict[str, object]:
    (row,) = await rows(
        engine, tenant.dealership_id, "SELECT * FROM users WHERE id = :id", id=tenant.users[role]
    )
    return row


def _no_secrets(found: list[dict[str, object]], *secrets: str) -> None:
    """No password or token appears in any audit row."""
    dumped = json.dumps(found, default=str)
    for secret in secrets:
        assert secret not in dumped


# --- login -----------------------------------------------------------------------------------


async def test_login_returns_a_working_session(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.FINANCE_MANAGER)
    before = datetime.now(UTC)
    result = await login(
        client,
        email.upper(),  # any case
        headers={"user-agent": "desk-app/1.0", "x-request-id": "login-req-1"},
    )
    assert result["__typename"] == "LoginSuccess", result
    user = result["user"]
    assert user["email"] == email
    assert user["role"] == "FINANCE_MANAGER"
    # The rest of the request runs as the user: their dealership's records resolve.
    assert user["dealership"]["code"] == tenant.code
    assert user["dealership"]["settings"]["timeZone"] == "America/New_York"

    # A short-lived signed access token with the claims the API relies on.
    access = str(result["accessToken"])
    claims = jwt.decode(access, options={"verify_signature": False})
    (stored_family,) = await rows(
        engine, tenant.dealership_id, "SELECT family_id FROM refresh_tokens"
    )
    assert claims["sid"] == str(stored_family["family_id"])  # the session it belongs to
    assert claims["iss"] == client.signer.issuer
    assert claims["aud"] == client.signer.audience
    assert claims["sub"] == str(tenant.users[Role.FINANCE_MANAGER])
    assert claims["dealership_id"] == tenant.dealership_id
    assert claims["role"] == "finance_manager"
    assert claims["jti"]
    assert claims["exp"] - claims["iat"] == 900
    client.signer.verify(access)  # our signature
    expires = datetime.fromisoformat(str(result["accessTokenExpiresAt"]))
    assert timedelta(minutes=14) < expires - before <= timedelta(minutes=16)
    viewer = await client.data(VIEWER, token=access)
    assert viewer["viewer"] == {"role": "FINANCE_MANAGER", "user": {"email": email}}

    # The refresh token names its dealership and is stored only as a hash, for 30 days.
    refresh_token = str(result["refreshToken"])
    assert refresh_token.startswith(f"{tenant.dealership_id}.")
    refresh_expires = datetime.fromisoformat(str(result["refreshTokenExpiresAt"]))
    assert timedelta(days=29) < refresh_expires - before <= timedelta(days=30, minutes=1)
    (stored,) = await rows(engine, tenant.dealership_id, "SELECT * FROM refresh_tokens")
    assert stored["token_hash"] == hashlib.sha256(refresh_token.encode()).hexdigest()
    assert stored["user_id"] == tenant.users[Role.FINANCE_MANAGER]
    assert stored["revoked_at"] is None
    assert stored["user_agent"] == "desk-app/1.0"
    assert str(stored["client_ip"]) == "127.0.0.1"

    row = await user_row(engine, tenant, Role.FINANCE_MANAGER)
    last_login = row["last_login_at"]
    assert isinstance(last_login, datetime)
    assert last_login >= before
    assert row["failed_login_count"] == 0

    (event,) = await events(engine, tenant.dealership_id, "auth.login")
    assert event["outcome"] == "success"
    assert event["user_id"] == tenant.users[Role.FINANCE_MANAGER]
    assert str(event["client_ip"]) == "127.0.0.1"
    assert event["user_agent"] == "desk-app/1.0"
    assert event["request_id"] == "login-req-1"
    _no_secrets(await events(engine, tenant.dealership_id), PASSWORD, access, refresh_token)


async def test_login_failures_all_look_alike(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.SALESPERSON)
    deactivated = await factory.password(tenant, Role.READ_ONLY)
    await factory.run(
        tenant.dealership_id,
        lambda s: s.execute(
            text("UPDATE users SET is_active = false WHERE id = :id"),
            {"id": tenant.users[Role.READ_ONLY]},
        ),
    )
    no_password = f"admin.{tenant.code}@example.com"  # invited, never set a password
    attempts = {
        "bad_password": (email, "not the password"),
        "unknown_email": (f"nobody.{tenant.code}@example.com", PASSWORD),
        "user_inactive": (deactivated, PASSWORD),
        "no_password": (no_password, PASSWORD),
    }
    answers = set()
    for email_given, password in attempts.values():
        result = await login(client, email_given, password)
        assert result["__typename"] == "InvalidCredentialsError", result
        answers.add((result["message"], result["code"], str(result["field"])))
    assert answers == {
        ("the e-mail address or the password is not right", "INVALID_CREDENTIALS", "None")
    }

    failed = await events(engine, tenant.dealership_id, "auth.login_failed")
    reasons = {e["details"]["reason"] for e in failed}  # type: ignore[index]
    assert reasons == {"bad_password", "user_inactive", "no_password"}
    bad = next(e for e in failed if e["details"]["reason"] == "bad_password")  # type: ignore[index]
    assert bad["user_id"] == tenant.users[Role.SALESPERSON]
    assert bad["details"]["failed_count"] == 1  # type: ignore[index]
    # An unknown address cannot be tied to a dealership: filed under 0.
    unknown = [
        e
        for e in await events(engine, 0, "auth.login_failed")
        if e["details"].get("email") == f"nobody.{tenant.code}@example.com"  # type: ignore[union-attr]
    ]
    assert len(unknown) == 1
    assert unknown[0]["details"]["reason"] == "unknown_email"  # type: ignore[index]
    assert unknown[0]["user_id"] is None
    _no_secrets(failed + unknown, PASSWORD, "not the password")
    assert (await user_row(engine, tenant, Role.SALESPERSON))["failed_login_count"] == 1


async def test_an_inactive_dealership_cannot_sign_in(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.ADMIN)
    await factory.run(
        tenant.dealership_id, lambda s: s.execute(text("UPDATE dealerships SET is_active = false"))
    )
    result = await login(client, email)
    assert result["__typename"] == "InvalidCredentialsError"
    (event,) = await events(engine, tenant.dealership_id, "auth.login_failed")
    assert event["details"]["reason"] == "dealership_inactive"  # type: ignore[index]


async def test_input_is_required(client: GraphQLClient) -> None:
    empty = await login(client, "  ", PASSWORD)
    assert (empty["__typename"], empty["code"], empty["field"]) == (
        "ValidationError",
        "REQUIRED",
        ["input", "email"],
    )
    no_password = await login(client, "someone@example.com", "")
    assert (no_password["code"], no_password["field"]) == ("REQUIRED", ["input", "password"])
    huge = await login(client, "someone@example.com", "x" * 1001)
    assert huge["__typename"] == "InvalidCredentialsError"


# --- lockout ---------------------------------------------------------------------------------


async def test_five_failures_lock_the_account_for_a_while(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.SALESPERSON)
    for _ in range(4):
        assert (await login(client, email, "wrong"))["__typename"] == "InvalidCredentialsError"
    assert not await events(engine, tenant.dealership_id, "auth.lockout")
    # The fourth failure does not lock yet: the right password still works, and resets.
    assert (await login(client, email))["__typename"] == "LoginSuccess"
    assert (await user_row(engine, tenant, Role.SALESPERSON))["failed_login_count"] == 0

    started = datetime.now(UTC)
    for _ in range(5):
        assert (await login(client, email, "wrong"))["__typename"] == "InvalidCredentialsError"
    row = await user_row(engine, tenant, Role.SALESPERSON)
    assert row["failed_login_count"] == 5
    locked_until = row["locked_until"]
    assert isinstance(locked_until, datetime)
    assert timedelta(minutes=14) < locked_until - started <= timedelta(minutes=16)
    (lockout,) = await events(engine, tenant.dealership_id, "auth.lockout")
    assert lockout["user_id"] == tenant.users[Role.SALESPERSON]
    assert lockout["details"]["failed_count"] == 5  # type: ignore[index]

    # Locked: even the right password is answered exactly like a wrong one.
    wrong = await login(client, email, "wrong")
    right = await login(client, email)
    assert right == wrong
    assert right["__typename"] == "InvalidCredentialsError"
    last = (await events(engine, tenant.dealership_id, "auth.login_failed"))[-1]
    assert last["details"]["reason"] == "locked"  # type: ignore[index]
    # Attempts during the lock neither count nor extend it.
    assert (await user_row(engine, tenant, Role.SALESPERSON))["locked_until"] == locked_until

    # Once the lock has run out, the right password works and clears the count.
    await factory.run(
        tenant.dealership_id,
        lambda s: s.execute(
            text("UPDATE users SET locked_until = now() - interval '1 second' WHERE id = :id"),
            {"id": tenant.users[Role.SALESPERSON]},
        ),
    )
    assert (await login(client, email))["__typename"] == "LoginSuccess"
    row = await user_row(engine, tenant, Role.SALESPERSON)
    assert (row["failed_login_count"], row["locked_until"]) == (0, None)


async def test_a_burst_of_parallel_guesses_cannot_pass_the_lock(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.SALESPERSON)
    results = await asyncio.gather(*(login(client, email, f"guess {n}") for n in range(12)))
    assert {r["__typename"] for r in results} == {"InvalidCredentialsError"}
    row = await user_row(engine, tenant, Role.SALESPERSON)
    # Counted exactly up to the lock; every later guess was refused as locked.
    assert row["failed_login_count"] == 5
    assert row["locked_until"] is not None
    assert len(await events(engine, tenant.dealership_id, "auth.lockout")) == 1
    assert (await login(client, email))["__typename"] == "InvalidCredentialsError"


async def test_an_address_at_several_dealerships(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    first, second = await factory.tenant(), await factory.tenant()
    shared = f"shared.{first.code}@example.com"
    for tenant in (first, second):
        await factory.run(
            tenant.dealership_id,
            lambda s, t=tenant: s.execute(
                text("UPDATE users SET email = :email WHERE id = :id"),
                {"email": shared, "id": t.users[Role.SALES_MANAGER]},
            ),
        )
        await factory.password(tenant, Role.SALES_MANAGER)
    # The password matches at both: which one is meant must be said.
    ambiguous = await login(client, shared)
    assert (ambiguous["__typename"], ambiguous["code"], ambiguous["field"]) == (
        "ValidationError",
        "DEALERSHIP_REQUIRED",
        ["input", "dealershipCode"],
    )
    chosen = await login(client, shared, dealership_code=second.code)
    assert chosen["__typename"] == "LoginSuccess"
    assert chosen["user"]["dealership"]["code"] == second.code  # type: ignore[index]
    # A wrong password never reveals that the address is at several dealerships.
    wrong = await login(client, shared, "wrong")
    assert wrong["__typename"] == "InvalidCredentialsError"
    # With different passwords, the one that matches decides.
    await factory.password(first, Role.SALES_MANAGER, "first dealership password")
    only = await login(client, shared, "first dealership password")
    assert only["__typename"] == "LoginSuccess"
    assert only["user"]["dealership"]["code"] == first.code  # type: ignore[index]


# --- sessions --------------------------------------------------------------------------------


async def test_refresh_rotates_and_reuse_ends_the_session(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.SALESPERSON)
    signed_in = await login(client, email)
    first = str(signed_in["refreshToken"])

    rotated = await refresh(client, first)
    assert rotated["__typename"] == "RefreshTokenSuccess", rotated
    second = str(rotated["refreshToken"])
    assert second != first
    assert rotated["user"]["role"] == "SALESPERSON"  # type: ignore[index]
    viewer = await client.data(VIEWER, token=str(rotated["accessToken"]))
    assert viewer["viewer"]["role"] == "SALESPERSON"

    tokens = await rows(engine, tenant.dealership_id, "SELECT * FROM refresh_tokens ORDER BY id")
    assert len(tokens) == 2
    old, new = tokens
    assert old["family_id"] == new["family_id"]
    assert old["revoked_reason"] == "rotated"
    assert old["replaced_by_id"] == new["id"]
    assert new["revoked_at"] is None
    assert len(await events(engine, tenant.dealership_id, "auth.refresh")) == 1

    # The spent token again: taken as stolen, the whole family ends.
    reused = await refresh(client, first)
    assert (reused["__typename"], reused["code"]) == (
        "InvalidRefreshTokenError",
        "INVALID_REFRESH_TOKEN",
    )
    assert (await refresh(client, second))["__typename"] == "InvalidRefreshTokenError"
    # Whoever holds the family's access tokens is out too.
    assert (await client.post(VIEWER, token=str(rotated["accessToken"]))).status_code == 401
    tokens = await rows(engine, tenant.dealership_id, "SELECT * FROM refresh_tokens ORDER BY id")
    assert [t["revoked_reason"] for t in tokens] == ["rotated", "reuse"]
    # Each presentation of a revoked token is filed; the first ended the live one.
    reuse = await events(engine, tenant.dealership_id, "auth.refresh_reuse")
    assert [e["details"]["revoked_now"] for e in reuse] == [1, 0]  # type: ignore[index]
    assert {(e["outcome"], e["user_id"]) for e in reuse} == {
        ("denied", tenant.users[Role.SALESPERSON])
    }
    _no_secrets(await events(engine, tenant.dealership_id), first, second)


async def test_concurrent_refreshes_with_one_token_have_one_winner(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.SALESPERSON)
    token = str((await login(client, email))["refreshToken"])
    results = await asyncio.gather(*(refresh(client, token) for _ in range(5)))
    kinds = sorted(str(r["__typename"]) for r in results)
    assert kinds == ["InvalidRefreshTokenError"] * 4 + ["RefreshTokenSuccess"]


async def test_logout_ends_the_session(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.SALESPERSON)
    token = str((await login(client, email))["refreshToken"])
    renewed = await refresh(client, token)
    rotated, access = str(renewed["refreshToken"]), str(renewed["accessToken"])
    assert (await client.post(VIEWER, token=access)).status_code == 200
    out = (await client.data(LOGOUT, {"input": {"refreshToken": rotated}}))["logout"]
    assert out["__typename"] == "LogoutSuccess"
    assert out["signedOutAt"]
    assert (await refresh(client, rotated))["__typename"] == "InvalidRefreshTokenError"
    # The session's access tokens end with it, not only when they expire.
    assert (await client.post(VIEWER, token=access)).status_code == 401
    (ended,) = await events(engine, tenant.dealership_id, "auth.token_rejected")
    assert ended["details"]["reason"] == "session_ended"  # type: ignore[index]
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL",
        )
        == 0
    )
    (event,) = await events(engine, tenant.dealership_id, "auth.logout")
    assert event["user_id"] == tenant.users[Role.SALESPERSON]


@pytest.mark.parametrize("token", ["", "nonsense", "0.abc", "12x.abc", "999999999.abc"])
async def test_unknown_refresh_tokens_are_refused(client: GraphQLClient, token: str) -> None:
    assert (await refresh(client, token))["__typename"] == "InvalidRefreshTokenError"
    out = (await client.data(LOGOUT, {"input": {"refreshToken": token}}))["logout"]
    assert out["__typename"] == "InvalidRefreshTokenError"


async def test_an_expired_refresh_token_is_refused(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.SALESPERSON)
    token = str((await login(client, email))["refreshToken"])
    await factory.run(
        tenant.dealership_id,
        lambda s: s.execute(text("UPDATE refresh_tokens SET expires_at = now() - interval '1 s'")),
    )
    assert (await refresh(client, token))["__typename"] == "InvalidRefreshTokenError"
    (event,) = await events(engine, tenant.dealership_id, "auth.refresh_failed")
    assert event["details"]["reason"] == "expired"  # type: ignore[index]


async def test_only_sign_in_and_password_reset_need_no_token(client: GraphQLClient) -> None:
    """Everything else is refused to an anonymous caller."""
    result = await client.execute('mutation { logout(input: {refreshToken: "x"}) { __typename } }')
    assert "errors" not in result
    refused = await client.execute("{ customers(first: 1) { totalCount } }")
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- tokens that stop working ----------------------------------------------------------------

DEACTIVATE = """
mutation($input: DeactivateUserInput!) {
  deactivateUser(input: $input) { __typename ... on Error { code } }
}"""
CHANGE_ROLE = """
mutation($input: ChangeUserRoleInput!) {
  changeUserRole(input: $input) { __typename ... on Error { code } }
}"""


async def test_a_deactivated_users_tokens_stop_working_at_once(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.SALESPERSON)
    session = await login(client, email)
    access, refresh_token = str(session["accessToken"]), str(session["refreshToken"])
    assert (await client.data(VIEWER, token=access))["viewer"]["role"] == "SALESPERSON"

    gid = f"{session['user']['id']}"  # type: ignore[index]
    done = await client.data(DEACTIVATE, {"input": {"id": gid}}, token=tenant.tokens[Role.ADMIN])
    assert done["deactivateUser"]["__typename"] == "DeactivateUserSuccess"

    # The very next request: 401, like any invalid token.
    response = await client.post(VIEWER, token=access)
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "the access token is invalid"
    assert response.headers["www-authenticate"].startswith("Bearer")
    # Their sessions ended with the deactivation.
    assert (await refresh(client, refresh_token))["__typename"] == "InvalidRefreshTokenError"
    reasons = await rows(engine, tenant.dealership_id, "SELECT revoked_reason FROM refresh_tokens")
    assert reasons == [{"revoked_reason": "user_deactivated"}]
    (rejected,) = await events(engine, tenant.dealership_id, "auth.token_rejected")
    assert rejected["user_id"] == tenant.users[Role.SALESPERSON]
    assert rejected["details"]["reason"] == "user_inactive"  # type: ignore[index]
    _no_secrets([rejected], access)


async def test_a_role_change_takes_effect_on_the_next_request(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    manager = tenant.tokens[Role.SALES_MANAGER]  # its claim says sales_manager
    stats = "{ dealStats { status count } }"
    assert "errors" not in await client.execute(stats, token=manager)
    audit = "{ auditLogs(first: 1) { totalCount } }"
    assert "errors" not in await client.execute(audit, token=manager)

    gid = pk_gid("User", tenant.users[Role.SALES_MANAGER])
    result = await client.data(
        CHANGE_ROLE, {"input": {"id": gid, "role": "READ_ONLY"}}, token=tenant.tokens[Role.ADMIN]
    )
    assert result["changeUserRole"]["__typename"] == "ChangeUserRoleSuccess"
    # Same token, the database's role now.
    assert (await client.data(VIEWER, token=manager))["viewer"]["role"] == "READ_ONLY"
    refused = await client.execute(audit, token=manager)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def pk_gid(type_name: str, key: int) -> str:
    from schema.relay import to_global_id

    return to_global_id(type_name, key)


async def test_a_password_reset_ends_every_session(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.SALESPERSON)
    refresh_token = str((await login(client, email))["refreshToken"])
    requested = await client.data(
        """mutation($input: RequestPasswordResetInput!) {
             requestPasswordReset(input: $input) { ... on RequestPasswordResetSuccess { token } }
           }""",
        {"input": {"userId": pk_gid("User", tenant.users[Role.SALESPERSON])}},
        token=tenant.tokens[Role.ADMIN],
    )
    reset_token = requested["requestPasswordReset"]["token"]
    reset = await client.data(
        """mutation($input: ResetPasswordInput!) {
             resetPassword(input: $input) { __typename }
           }""",
        {"input": {"token": reset_token, "newPassword": "a brand new password"}},
    )
    assert reset["resetPassword"]["__typename"] == "ResetPasswordSuccess"
    assert (await refresh(client, refresh_token))["__typename"] == "InvalidRefreshTokenError"
    assert (await login(client, email))["__typename"] == "InvalidCredentialsError"
    assert (await login(client, email, "a brand new password"))["__typename"] == "LoginSuccess"


async def test_rejected_tokens_are_audited(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    forged = await client.post(VIEWER, token="not.a.jwt", headers={"x-request-id": "forged-1"})
    assert forged.status_code == 401
    found = [
        e for e in await events(engine, 0, "auth.token_rejected") if e["request_id"] == "forged-1"
    ]
    assert len(found) == 1
    assert found[0]["outcome"] == "denied"
    assert found[0]["details"]["reason"] == "bad_token"  # type: ignore[index]

    expired = client.signer.issue(
        user_id=tenant.users[Role.ADMIN],
        dealership_id=tenant.dealership_id,
        role=Role.ADMIN,
        ttl=timedelta(minutes=5),
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    response = await client.post(VIEWER, token=expired)
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]
    # The signature held, so the expired token's user is named.
    (event,) = await events(engine, tenant.dealership_id, "auth.token_rejected")
    assert event["user_id"] == tenant.users[Role.ADMIN]
    assert event["details"]["reason"] == "expired"  # type: ignore[index]
    _no_secrets([event], expired)

    basic = await client.http.post(
        "/graphql", json={"query": VIEWER}, headers={"authorization": "Basic dXNlcjpwdw=="}
    )
    assert basic.status_code == 401


async def test_a_remembered_token_still_expires_and_a_changed_one_is_checked_again(
    client: GraphQLClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verified tokens are remembered by their text (server.tokens): the expiry is still
    checked on every request, and a token altered by one character is verified afresh."""
    tenant = await factory.tenant()
    token = client.signer.issue(
        user_id=tenant.users[Role.ADMIN],
        dealership_id=tenant.dealership_id,
        role=Role.ADMIN,
        ttl=timedelta(minutes=5),
    )
    assert (await client.post(VIEWER, token=token)).status_code == 200
    assert (await client.post(VIEWER, token=token)).status_code == 200

    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    forged = await client.post(VIEWER, token=f"{head}.{payload}.{flipped}")
    assert forged.status_code == 401

    later = time.time() + 6 * 60
    monkeypatch.setattr("server.tokens.time.time", lambda: later)
    response = await client.post(VIEWER, token=token)
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


async def test_a_token_for_another_dealerships_user_is_refused(
    client: GraphQLClient, factory: Factory
) -> None:
    """A token naming a user id of dealership B with dealership A's id finds no one."""
    a, b = await factory.tenant(), await factory.tenant()
    mixed = client.signer.issue(
        user_id=b.users[Role.ADMIN],
        dealership_id=a.dealership_id,
        role=Role.ADMIN,
        ttl=timedelta(minutes=5),
    )
    assert (await client.post(VIEWER, token=mixed)).status_code == 401


async def test_the_cli_token_gets_the_current_role(
    client: GraphQLClient, factory: Factory, database_url: str, settings: object
) -> None:
    from server.cli import _token
    from server.config import Settings

    assert isinstance(settings, Settings)
    tenant = await factory.tenant()
    email = f"salesperson.{tenant.code}@example.com"
    token = await _token(settings, database_url, email, None, timedelta(minutes=5))
    assert jwt.decode(token, options={"verify_signature": False})["role"] == "salesperson"
    assert (await client.data(VIEWER, token=token))["viewer"]["role"] == "SALESPERSON"
    # pk() is the inverse of the global id the API hands out.
    assert pk(pk_gid("User", tenant.users[Role.ADMIN])) == tenant.users[Role.ADMIN]
