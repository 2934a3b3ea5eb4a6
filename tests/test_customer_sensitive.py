"""Sensitive customer data through the real app: encrypted at rest, masked for roles without
customer.sensitive.read, never in the audit trail nor the logs, and a clear (masked) internal
error when a value cannot be decrypted."""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette

from db.crypto import DecryptionFailed, FieldCipher, Keyring, new_key, parse_key, place
from db.migrate import upgrade
from db.models import Customer
from db.models.enums import Role
from db.storage import customer_sensitive
from db.storage.customer_sensitive import age_on
from db.urls import async_url
from resolvers.sensitive import DATE_MASK
from schema.relay import to_global_id
from server import config
from server.config import ConfigError, load_settings
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import count_statements, rows, scalar

UPDATE = """
mutation($input: UpdateCustomerSensitiveDataInput!) {
  updateCustomerSensitiveData(input: $input) {
    __typename
    ... on UpdateCustomerSensitiveDataSuccess { customer { ...Sensitive } }
    ... on VersionConflictError { currentVersion }
    ... on Error { message code field }
  }
}
fragment Sensitive on Customer {
  id version hasSensitiveData dateOfBirth driversLicenseNumber driversLicenseState ssnLast4
  monthlyIncome
}"""

READ = """
query($id: ID!) {
  customer(id: $id) {
    id version hasSensitiveData dateOfBirth driversLicenseNumber driversLicenseState ssnLast4
    monthlyIncome
  }
}"""

LIST = """
query { customers(first: 50) { nodes { id hasSensitiveData dateOfBirth ssnLast4 monthlyIncome } } }
"""

UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { __typename ... on Error { code } }
}"""

DOB = "1984-07-19"
LICENSE = "D1234567X89"
SSN4 = "6789"
INCOME = "7345.25"
VALUES = {
    "dateOfBirth": DOB,
    "driversLicenseNumber": LICENSE,
    "driversLicenseState": "OH",
    "ssnLast4": SSN4,
    "monthlyIncome": INCOME,
}
CLEAR = {
    "hasSensitiveData": True,
    "dateOfBirth": DOB,
    "driversLicenseNumber": LICENSE,
    "driversLicenseState": "OH",
    "ssnLast4": SSN4,
    "monthlyIncome": INCOME,
}
MASKED = {
    "hasSensitiveData": True,
    "dateOfBirth": DATE_MASK,
    "driversLicenseNumber": "•••••7X89",
    "driversLicenseState": "••",
    "ssnLast4": "••••",
    "monthlyIncome": None,
}
EMPTY = {
    "hasSensitiveData": False,
    "dateOfBirth": None,
    "driversLicenseNumber": None,
    "driversLicenseState": None,
    "ssnLast4": None,
    "monthlyIncome": None,
}
COLUMNS = list(customer_sensitive.COLUMNS.values())


def _finance(tenant: Tenant) -> str:
    return tenant.tokens[Role.FINANCE_MANAGER]


async def _update(
    client: GraphQLClient, token: str, customer: int, version: int, **values: object
) -> dict[str, object]:
    data = await client.data(
        UPDATE,
        {"input": {"id": to_global_id("Customer", customer), "version": version, **values}},
        token=token,
    )
    result = data["updateCustomerSensitiveData"]
    assert isinstance(result, dict)
    return result


async def _read(client: GraphQLClient, token: str, customer: int) -> dict[str, object]:
    data = await client.data(READ, {"id": to_global_id("Customer", customer)}, token=token)
    node = data["customer"]
    assert isinstance(node, dict)
    return {k: v for k, v in node.items() if k not in ("id", "version")}


async def _with_data(client: GraphQLClient, factory: Factory, tenant: Tenant) -> int:
    customer = await factory.customer(tenant)
    result = await _update(client, _finance(tenant), customer, 1, **VALUES)
    assert result["__typename"] == "UpdateCustomerSensitiveDataSuccess", result
    return customer


async def _stored(engine: AsyncEngine, tenant: Tenant, customer: int) -> dict[str, object]:
    found = await rows(
        engine,
        tenant.dealership_id,
        f"SELECT {', '.join(COLUMNS)}, version FROM customers WHERE id = :id",
        id=customer,
    )
    return found[0]


async def _audit(engine: AsyncEngine, tenant: Tenant) -> list[dict[str, object]]:
    return await rows(
        engine,
        tenant.dealership_id,
        "SELECT action, entity_id, changes, changes::text AS text FROM audit_logs ORDER BY id",
    )


def _cipher(app: Starlette) -> FieldCipher:
    cipher = app.state.dealerdesk.cipher
    assert isinstance(cipher, FieldCipher)
    return cipher


# --- writing and reading -------------------------------------------------------------------


async def test_a_finance_manager_records_and_reads_the_clear_values(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    customer = await factory.customer(tenant)
    assert await _read(client, _finance(tenant), customer) == EMPTY
    result = await _update(
        client,
        _finance(tenant),
        customer,
        1,
        **{**VALUES, "driversLicenseNumber": " d1234567x89 ", "driversLicenseState": "oh"},
    )
    assert result["__typename"] == "UpdateCustomerSensitiveDataSuccess"
    node = result["customer"]
    assert node["version"] == 2
    assert {k: v for k, v in node.items() if k not in ("id", "version")} == CLEAR
    assert await _read(client, _finance(tenant), customer) == CLEAR

    # Only what is sent changes; null clears.
    again = await _update(client, _finance(tenant), customer, 2, ssnLast4=None, monthlyIncome=0)
    assert again["customer"]["ssnLast4"] is None
    assert again["customer"]["monthlyIncome"] == "0.00"
    assert again["customer"]["dateOfBirth"] == DOB
    assert again["customer"]["version"] == 3
    stored = await _stored(engine, tenant, customer)
    assert stored["ssn_last4_enc"] is None

    # Sending the same values again changes nothing: no new version, no audit row.
    audited = len(await _audit(engine, tenant))
    same = await _update(client, _finance(tenant), customer, 3, dateOfBirth=DOB, ssnLast4=None)
    assert same["customer"]["version"] == 3
    assert len(await _audit(engine, tenant)) == audited

    cleared = await _update(client, _finance(tenant), customer, 3, **dict.fromkeys(VALUES))
    assert {k: v for k, v in cleared["customer"].items() if k not in ("id", "version")} == EMPTY


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.ADMIN, CLEAR),
        (Role.SALES_MANAGER, CLEAR),
        (Role.FINANCE_MANAGER, CLEAR),
        (Role.SALESPERSON, MASKED),
        (Role.READ_ONLY, MASKED),
    ],
)
async def test_roles_without_the_permission_see_masks(
    client: GraphQLClient, factory: Factory, role: Role, expected: dict[str, object]
) -> None:
    tenant = await factory.tenant()
    customer = await _with_data(client, factory, tenant)
    assert await _read(client, tenant.tokens[role], customer) == expected
    listed = await client.data(LIST, token=tenant.tokens[role])
    (node,) = listed["customers"]["nodes"]
    assert node["dateOfBirth"] == expected["dateOfBirth"]
    assert node["ssnLast4"] == expected["ssnLast4"]
    assert node["monthlyIncome"] == expected["monthlyIncome"]


async def test_the_masks_follow_the_dealership_s_own_permissions(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    customer = await _with_data(client, factory, tenant)
    from db.storage.permissions import DEFAULT_ROLE_PERMISSIONS, in_catalogue_order

    actions = in_catalogue_order(DEFAULT_ROLE_PERMISSIONS[Role.SALESPERSON])
    granted = await client.data(
        """mutation($input: UpdateRolePermissionsInput!) {
             updateRolePermissions(input: $input) { __typename }
           }""",
        {"input": {"role": "SALESPERSON", "actions": [*actions, "customer.sensitive.read"]}},
        token=tenant.tokens[Role.ADMIN],
    )
    assert granted["updateRolePermissions"]["__typename"] == "UpdateRolePermissionsSuccess"
    assert await _read(client, tenant.tokens[Role.SALESPERSON], customer) == CLEAR
    # Another dealership's settings do not count: its salesperson still sees masks.
    other = await factory.tenant()
    theirs = await _with_data(client, factory, other)
    assert await _read(client, other.tokens[Role.SALESPERSON], theirs) == MASKED


def test_short_licence_numbers_are_masked_whole() -> None:
    from resolvers.sensitive import mask_license_number

    assert mask_license_number("D1234567") == "•••••4567"
    assert mask_license_number("A12345") == "•••••"


async def test_the_permission_set_is_read_once_per_request(
    app: Starlette, client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    for _ in range(5):
        await _with_data(client, factory, tenant)
    with count_statements(app.state.dealerdesk.engine.sync_engine) as log:
        data = await client.data(LIST, token=tenant.tokens[Role.SALESPERSON])
    assert len(data["customers"]["nodes"]) == 5
    # The role's actions come with the caller check (dealerdesk_bind_caller), once.
    checks = [s for s in log.statements if "dealerdesk_bind_caller" in s]
    assert len(checks) == 1, log.statements
    others = [s for s in log.statements if "dealerdesk_bind_caller" not in s]
    assert not [s for s in others if "permissions" in s.lower()], log.statements


# --- at rest -------------------------------------------------------------------------------


async def test_the_database_holds_only_ciphertext(
    app: Starlette, client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    first = await _with_data(client, factory, tenant)
    second = await _with_data(client, factory, tenant)
    # Every other column as text (the ciphertexts are checked byte-wise below: their hex
    # text may hold any short run of digits by chance).
    whole = await rows(
        engine,
        tenant.dealership_id,
        "SELECT (to_jsonb(c) - CAST(:enc AS text[]))::text AS row FROM customers c "
        "WHERE id IN (:a, :b)",
        enc=COLUMNS,
        a=first,
        b=second,
    )
    for found in whole:
        for clear in (DOB, LICENSE, SSN4, INCOME, "1984", "7345"):
            assert clear not in str(found["row"])
    a, b = await _stored(engine, tenant, first), await _stored(engine, tenant, second)
    cipher = _cipher(app)
    for column in COLUMNS:
        value = a[column]
        assert isinstance(value, bytes)
        assert value[0] == cipher.current_version  # the key version prefix
        assert len(value) >= 1 + 12 + 16
        for clear in (DOB, LICENSE, SSN4, INCOME, "OH"):
            assert clear.encode() not in value
        assert value != b[column]  # same value, fresh nonce
    # ... which the application's key opens.
    db_rows = await rows(
        engine, tenant.dealership_id, "SELECT * FROM customers WHERE id = :id", id=first
    )
    customer = Customer(**db_rows[0])
    clear = customer_sensitive.reveal(cipher, customer)
    assert clear == customer_sensitive.SensitiveData(
        date(1984, 7, 19), LICENSE, "OH", SSN4, Decimal(INCOME)
    )


# --- the audit trail -----------------------------------------------------------------------


async def test_the_audit_trail_records_only_that_fields_changed(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    customer = await _with_data(client, factory, tenant)
    await _update(client, _finance(tenant), customer, 2, ssnLast4="1111", monthlyIncome=None)
    await client.data(
        UPDATE_CUSTOMER,
        {"input": {"id": to_global_id("Customer", customer), "version": 3, "city": "Akron"}},
        token=tenant.token,
    )
    trail = await _audit(engine, tenant)
    assert [t["action"] for t in trail] == [
        "customer.update_sensitive_data",
        "customer.update_sensitive_data",
        "customer.update",
    ]
    first, second, third = (t["changes"] for t in trail)
    assert first == {
        **{c: {"before": None, "after": "[redacted]"} for c in COLUMNS},
        "version": {"before": 1, "after": 2},
    }
    assert second == {
        "ssn_last4_enc": {"before": "[redacted]", "after": "[changed]"},
        "monthly_income_enc": {"before": "[redacted]", "after": None},
        "version": {"before": 2, "after": 3},
    }
    assert third == {
        "city": {"before": None, "after": "Akron"},
        "version": {"before": 3, "after": 4},
    }
    everything = " ".join(str(t["text"]) for t in trail)
    for clear in (DOB, LICENSE, SSN4, "1111", INCOME, "7345", "\\\\x"):
        assert clear not in everything
    assert all(t["entity_id"] == customer for t in trail)


# --- refusals ------------------------------------------------------------------------------


def _years_ago(years: int, days: int = 0) -> str:
    today = datetime.now(UTC).date()
    return date(today.year - years, today.month, min(today.day, 28)).isoformat()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("dateOfBirth", "2999-01-01", "DATE_NOT_IN_PAST"),
        ("dateOfBirth", datetime.now(UTC).date().isoformat(), "DATE_NOT_IN_PAST"),
        ("dateOfBirth", _years_ago(15), "AGE_OUT_OF_RANGE"),
        ("dateOfBirth", _years_ago(122), "AGE_OUT_OF_RANGE"),
        ("driversLicenseNumber", "D123-4567", "INVALID_LICENSE_NUMBER"),
        ("driversLicenseNumber", "A" * 21, "INVALID_LICENSE_NUMBER"),
        ("driversLicenseState", "Ohio", "INVALID_STATE"),
        ("ssnLast4", "123-45-6789", "INVALID_SSN_LAST4"),
        ("ssnLast4", "123456789", "INVALID_SSN_LAST4"),
        ("ssnLast4", "678", "INVALID_SSN_LAST4"),
        ("ssnLast4", "67a9", "INVALID_SSN_LAST4"),
        ("ssnLast4", "0000", "INVALID_SSN_LAST4"),
        ("monthlyIncome", "-0.01", "MUST_NOT_BE_NEGATIVE"),
    ],
)
async def test_each_invalid_value_is_refused_without_repeating_it(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    field: str,
    value: str,
    code: str,
) -> None:
    tenant = await factory.tenant()
    customer = await factory.customer(tenant)
    values = {"driversLicenseState": "OH", field: value}
    result = await _update(client, _finance(tenant), customer, 1, **values)
    assert result["__typename"] == "ValidationError"
    assert (result["code"], result["field"]) == (code, ["input", field])
    assert value not in str(result["message"])
    stored = await _stored(engine, tenant, customer)
    assert [stored[c] for c in COLUMNS] == [None] * 5
    assert stored["version"] == 1
    assert await _audit(engine, tenant) == []


def test_ages_at_the_limits() -> None:
    today = date(2026, 3, 1)
    assert age_on(today, date(2010, 3, 1)) == 16
    assert age_on(today, date(2010, 3, 2)) == 15
    assert age_on(today, date(1906, 3, 1)) == 120
    assert age_on(today, date(1906, 2, 28)) == 120
    assert age_on(today, date(1905, 2, 28)) == 121


async def test_sixteen_today_is_accepted(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    customer = await factory.customer(tenant)
    today = datetime.now(UTC).date()
    born = today.replace(year=today.year - 16) if (today.month, today.day) != (2, 29) else None
    if born is None:
        pytest.skip("no such birthday sixteen years ago")
    result = await _update(client, _finance(tenant), customer, 1, dateOfBirth=born.isoformat())
    assert result["__typename"] == "UpdateCustomerSensitiveDataSuccess", result


async def test_other_dealerships_customers_missing_ids_and_stale_versions(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    theirs = await factory.customer(b)
    refused = await _update(client, _finance(a), theirs, 1, **VALUES)
    assert (refused["__typename"], refused["code"]) == ("MultiTenantViolationError", "CROSS_TENANT")
    assert [(await _stored(engine, b, theirs))[c] for c in COLUMNS] == [None] * 5
    assert await _audit(engine, a) == []
    assert await _audit(engine, b) == []
    missing = await _update(client, _finance(a), 10**12, 1, ssnLast4=SSN4)
    assert missing["__typename"] == "ResourceNotFoundError"
    mine = await _with_data(client, factory, a)
    stale = await _update(client, _finance(a), mine, 1, ssnLast4="1111")
    assert (stale["__typename"], stale["currentVersion"]) == ("VersionConflictError", 2)
    assert (await _read(client, _finance(a), mine))["ssnLast4"] == SSN4
    # Reads of another dealership's customer answer as for a missing one.
    data = await client.data(READ, {"id": to_global_id("Customer", theirs)}, token=_finance(a))
    assert data == {"customer": None}


# --- decryption failures -------------------------------------------------------------------


async def _overwrite(
    engine: AsyncEngine, tenant: Tenant, customer: int, column: str, value: bytes
) -> None:
    from db.tenant import TenantDB

    db = TenantDB(engine, tenant.dealership_id)

    async def work(session: AsyncSession) -> None:
        await session.execute(
            text(f"UPDATE customers SET {column} = :v WHERE id = :id"), {"v": value, "id": customer}
        )

    try:
        await db.transaction(work)
    finally:
        await db.close()


async def _internal_error(
    client: GraphQLClient,
    tenant: Tenant,
    customer: int,
    caplog: pytest.LogCaptureFixture,
    field: str = "ssnLast4",
) -> str:
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="dealerdesk.graphql"):
        result = await client.execute(
            READ, {"id": to_global_id("Customer", customer)}, token=_finance(tenant)
        )
    errors = result["errors"]
    assert isinstance(errors, list)
    assert errors[0]["message"] == "Internal server error"
    assert errors[0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert errors[0]["extensions"]["requestId"]
    # Only the field that cannot be decrypted fails; the message says nothing more.
    assert len(errors) == 1
    assert errors[0]["path"][-1] == field
    assert result["data"]["customer"][field] is None
    assert set(errors[0]) == {"message", "locations", "path", "extensions"}
    return caplog.text


async def test_a_tampered_ciphertext_is_a_clear_internal_error(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenant = await factory.tenant()
    customer = await _with_data(client, factory, tenant)
    stored = await _stored(engine, tenant, customer)
    value = stored["ssn_last4_enc"]
    assert isinstance(value, bytes)
    flipped = value[:-1] + bytes([value[-1] ^ 1])
    await _overwrite(engine, tenant, customer, "ssn_last4_enc", flipped)
    logged = await _internal_error(client, tenant, customer, caplog)
    assert "cannot decrypt dealerdesk/customers.ssn_last4_enc" in logged
    assert "altered or moved" in logged
    assert SSN4 not in logged
    # The masked path decrypts too (licence masks show the last four): same error.
    salesperson = await client.execute(
        READ, {"id": to_global_id("Customer", customer)}, token=tenant.tokens[Role.SALESPERSON]
    )
    assert salesperson["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    # And a write that has to compare with the broken value stops the same way.
    result = await client.execute(
        UPDATE,
        {"input": {"id": to_global_id("Customer", customer), "version": 2, "ssnLast4": "1111"}},
        token=_finance(tenant),
    )
    assert result["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert (await _stored(engine, tenant, customer))["ssn_last4_enc"] == flipped


async def test_a_ciphertext_moved_to_another_customer_does_not_decrypt(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenant = await factory.tenant()
    source = await _with_data(client, factory, tenant)
    target = await factory.customer(tenant)
    moved = (await _stored(engine, tenant, source))["ssn_last4_enc"]
    assert isinstance(moved, bytes)
    await _overwrite(engine, tenant, target, "ssn_last4_enc", moved)
    logged = await _internal_error(client, tenant, target, caplog)
    assert f"customers.ssn_last4_enc/dealership={tenant.dealership_id}/id={target}" in logged
    # ... nor into another column of the same customer.
    await _overwrite(engine, tenant, target, "ssn_last4_enc", b"\x01" * 40)
    await _overwrite(engine, tenant, source, "date_of_birth_enc", moved)
    logged = await _internal_error(client, tenant, source, caplog, "dateOfBirth")
    assert "customers.date_of_birth_enc" in logged


async def test_a_wrong_or_unknown_key_is_a_clear_internal_error(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenant = await factory.tenant()
    customer = await factory.customer(tenant)
    where = place("customers", "ssn_last4_enc", dealership_id=tenant.dealership_id, row_id=customer)
    other_key = FieldCipher(Keyring(current=1, keys={1: parse_key(new_key())}))
    await _overwrite(
        engine, tenant, customer, "ssn_last4_enc", other_key.encrypt(SSN4, where=where)
    )
    assert "the key is wrong" in await _internal_error(client, tenant, customer, caplog)
    unknown = FieldCipher(Keyring(current=9, keys={9: parse_key(new_key())}))
    await _overwrite(engine, tenant, customer, "ssn_last4_enc", unknown.encrypt(SSN4, where=where))
    logged = await _internal_error(client, tenant, customer, caplog)
    assert "key version 9, which is not configured" in logged


# --- nothing in the logs -------------------------------------------------------------------


async def test_requests_carrying_sensitive_values_log_none_of_them(
    client: GraphQLClient,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenant = await factory.tenant()
    customer = await factory.customer(tenant)
    gid = to_global_id("Customer", customer)
    secrets = ["1979-11-03", "X9876543210", "4455", "9123.45", "98765"]

    async def send(query: str, variables: dict[str, object], token: str) -> dict[str, object]:
        # Fixed request ids: a random one could contain a secret's digits by chance.
        response = await client.post(
            query, variables, token=token, headers={"X-Request-ID": "sensitive-log-test"}
        )
        assert response.status_code == 200
        body: dict[str, object] = response.json()
        return body

    # Everything, SQLAlchemy's statements and their parameters included.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    ok = await send(
        UPDATE,
        {
            "input": {
                "id": gid,
                "version": 1,
                "dateOfBirth": "1979-11-03",
                "driversLicenseNumber": "X9876543210",
                "driversLicenseState": "TX",
                "ssnLast4": "4455",
                "monthlyIncome": "9123.45",
            }
        },
        _finance(tenant),
    )
    assert ok["data"]["updateCustomerSensitiveData"]["customer"]["ssnLast4"] == "4455"
    await send(READ, {"id": gid}, _finance(tenant))
    await send(READ, {"id": gid}, tenant.tokens[Role.SALESPERSON])
    refused = await send(
        UPDATE, {"input": {"id": gid, "version": 2, "ssnLast4": "123-45-98765"}}, _finance(tenant)
    )
    assert refused["data"]["updateCustomerSensitiveData"]["code"] == "INVALID_SSN_LAST4"
    statements = [r for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
    assert len(statements) > 10, "SQL was not captured: the test would prove little"
    standard = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
    extras = [
        {k: v for k, v in vars(r).items() if k not in standard} for r in caplog.records
    ]  # what the JSON log lines add (request ids, paths, ...)
    captured = caplog.text + repr(extras)
    assert "UPDATE customers SET" in captured
    for secret in secrets:
        assert secret not in captured


# --- keys ----------------------------------------------------------------------------------


def test_keys_and_rotation() -> None:
    key1, key2 = new_key(), new_key()
    urlsafe = base64.urlsafe_b64encode(parse_key(key1)).decode().rstrip("=")
    assert parse_key(urlsafe) == parse_key(key1)
    for bad in ("not base64!", base64.b64encode(b"x" * 16).decode(), ""):
        with pytest.raises(ValueError, match=r"base64|32 bytes") as info:
            parse_key(bad)
        assert bad not in str(info.value) or not bad
    where = place("customers", "ssn_last4_enc", dealership_id=1, row_id=2)
    old = FieldCipher(Keyring(current=1, keys={1: parse_key(key1)}))
    sealed = old.encrypt(SSN4, where=where)
    assert old.encrypt(SSN4, where=where) != sealed
    assert old.decrypt(sealed, where=where) == SSN4
    with pytest.raises(DecryptionFailed, match="altered or moved"):
        old.decrypt(sealed, where=place("customers", "ssn_last4_enc", dealership_id=3, row_id=2))
    rotated = FieldCipher(Keyring(current=2, keys={1: parse_key(key1), 2: parse_key(key2)}))
    assert rotated.decrypt(sealed, where=where) == SSN4  # old values stay readable
    resealed = rotated.encrypt(SSN4, where=where)
    assert resealed[0] == 2
    only_new = FieldCipher(Keyring(current=2, keys={2: parse_key(key2)}))
    with pytest.raises(DecryptionFailed, match="key version 1, which is not configured"):
        only_new.decrypt(sealed, where=where)
    with pytest.raises(DecryptionFailed, match="truncated"):
        only_new.decrypt(b"\x02abc", where=where)


def test_key_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    key1, key2 = new_key(), new_key()
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", key2)
    monkeypatch.setenv("DATA_ENCRYPTION_KEY_VERSION", "2")
    monkeypatch.setenv("DATA_ENCRYPTION_OLD_KEYS", f"1:{key1}")
    keyring = load_settings().data_keyring()
    assert keyring.current == 2
    assert keyring.keys == {1: parse_key(key1), 2: parse_key(key2)}

    bad = base64.b64encode(b"k" * 20).decode()
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", bad)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "DATA_ENCRYPTION_KEY" in str(info.value)
    assert bad not in str(info.value)

    monkeypatch.setenv("DATA_ENCRYPTION_KEY", key2)
    monkeypatch.setenv("DATA_ENCRYPTION_OLD_KEYS", f"2:{key1}")
    with pytest.raises(ConfigError, match="must not repeat"):
        load_settings()
    monkeypatch.setenv("DATA_ENCRYPTION_OLD_KEYS", f"one:{key1}")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "DATA_ENCRYPTION_OLD_KEYS" in str(info.value)
    assert key1 not in str(info.value)


def test_production_requires_a_data_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db:5432/dealerdesk")
    monkeypatch.setenv("AUTH_TOKEN_SECRET", "s" * 40)
    monkeypatch.delenv("DATA_ENCRYPTION_KEY", raising=False)
    with pytest.raises(ConfigError, match="DATA_ENCRYPTION_KEY is required"):
        load_settings()
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", new_key())
    assert load_settings().is_production


def test_development_keeps_a_key_per_checkout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    monkeypatch.setattr(config, "DATA_DIR", tmp_path / ".data")
    monkeypatch.delenv("DATA_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)
    first = load_settings().data_keyring()
    assert first.current == 1
    assert load_settings().data_keyring() == first  # the same key next time
    path = tmp_path / ".data" / "dev-data-key"
    assert path.stat().st_mode & 0o077 == 0


# --- the migration grants the new actions to existing dealerships --------------------------


async def test_the_migration_grants_existing_dealerships_the_new_actions(server_url: str) -> None:
    name = f"dealerdesk_sensitive_{uuid.uuid4().hex[:10]}"
    admin = async_url(server_url)

    async def run(sql: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    await run(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url, "0004_audit_chain")
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO dealerships (code, name) VALUES ('a', 'A')"))
            await asyncio.to_thread(upgrade, url)
            async with engine.connect() as conn:
                found = (
                    await conn.execute(
                        text(
                            "SELECT role, action FROM permissions "
                            "WHERE action LIKE 'customer.sensitive.%' ORDER BY role, action"
                        )
                    )
                ).all()
        finally:
            await engine.dispose()
        assert [tuple(r) for r in found] == [
            (role, f"customer.sensitive.{verb}")
            for role in ("admin", "finance_manager", "sales_manager")
            for verb in ("read", "write")
        ]
    finally:
        await run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_new_dealerships_get_the_actions_for_managers_only(
    factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    found = await rows(
        engine,
        tenant.dealership_id,
        "SELECT role FROM permissions WHERE action = 'customer.sensitive.read' ORDER BY role",
    )
    assert [r["role"] for r in found] == ["admin", "finance_manager", "sales_manager"]
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT count(*) FROM permissions WHERE action = 'customer.sensitive.write'",
        )
        == 3
    )
