"""The dealership's settings and profile through the real app: reading, validated updates,
optimistic locking, the tax jurisdiction reference across tenants, and the audit trail."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.errors import ValidationFailed
from db.models import TaxJurisdiction
from db.models.enums import Role
from db.storage.dealerships import check_stock_number_format
from db.storage.vehicles import format_stock_number
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import rows, scalar

SETTINGS_FIELDS = """id timeZone defaultTaxJurisdiction { id } defaultDealType defaultTermMonths
                     defaultApr docFee stockNumberFormat version"""

UPDATE_SETTINGS = f"""
mutation($input: UpdateDealershipSettingsInput!) {{
  updateDealershipSettings(input: $input) {{
    __typename
    ... on UpdateDealershipSettingsSuccess {{ settings {{ {SETTINGS_FIELDS} }} }}
    ... on VersionConflictError {{ currentVersion }}
    ... on Error {{ message code field }}
  }}
}}"""

UPDATE_DEALERSHIP = """
mutation($input: UpdateDealershipInput!) {
  updateDealership(input: $input) {
    __typename
    ... on UpdateDealershipSuccess { dealership { id name legalName phone email addressLine1
                                                  addressLine2 city state postalCode } }
    ... on Error { message code field }
  }
}"""


def _admin(tenant: Tenant) -> str:
    return tenant.tokens[Role.ADMIN]


async def _jurisdiction(factory: Factory, tenant: Tenant, *, active: bool = True) -> int:
    row = TaxJurisdiction(
        dealership_id=tenant.dealership_id,
        name="Columbus, OH",
        state="OH",
        city="Columbus",
        rate=Decimal("7.2500"),
        is_active=active,
    )

    async def work(session: AsyncSession) -> None:
        session.add(row)

    await factory.run(tenant.dealership_id, work)
    return row.id


async def _update(client: GraphQLClient, tenant: Tenant, **values: object) -> dict:
    payload = {"version": 1, **values}
    data = await client.data(UPDATE_SETTINGS, {"input": payload}, token=_admin(tenant))
    result = data["updateDealershipSettings"]
    assert isinstance(result, dict)
    return result


async def _audit(engine: AsyncEngine, tenant: Tenant) -> list[dict[str, object]]:
    return await rows(
        engine,
        tenant.dealership_id,
        "SELECT action, entity_type, entity_id, user_id, changes FROM audit_logs ORDER BY id",
    )


async def test_read_the_default_settings(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant(time_zone="America/Denver")
    data = await client.data(
        f"""{{ dealershipSettings {{ {SETTINGS_FIELDS} }}
              dealership {{ settings {{ id version }} }} }}""",
        token=tenant.tokens[Role.SALESPERSON],
    )
    settings = data["dealershipSettings"]
    assert settings == {
        "id": to_global_id("DealershipSettings", tenant.dealership_id),
        "timeZone": "America/Denver",
        "defaultTaxJurisdiction": None,
        "defaultDealType": "FINANCE",
        "defaultTermMonths": 72,
        "defaultApr": "6.9900",
        "docFee": "499.00",
        "stockNumberFormat": "S{yy}{seq:05d}",
        "version": 1,
    }
    assert data["dealership"]["settings"] == {"id": settings["id"], "version": 1}
    node = await client.data(
        "query($id: ID!) { node(id: $id) { ... on DealershipSettings { timeZone } } }",
        {"id": settings["id"]},
        token=tenant.token,
    )
    assert node["node"] == {"timeZone": "America/Denver"}


async def test_another_dealerships_settings_are_invisible(
    client: GraphQLClient, factory: Factory
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    data = await client.data(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": to_global_id("DealershipSettings", b.dealership_id)},
        token=a.token,
    )
    assert data == {"node": None}


async def test_update_settings_with_the_version_read(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    jurisdiction = to_global_id("TaxJurisdiction", await _jurisdiction(factory, tenant))
    result = await _update(
        client,
        tenant,
        timeZone=" America/Chicago ",
        defaultTaxJurisdictionId=jurisdiction,
        defaultDealType="LEASE",
        defaultTermMonths=36,
        defaultApr="3.9",
        docFee="299.5",
        stockNumberFormat="N{yyyy}-{seq:04d}",
    )
    assert result == {
        "__typename": "UpdateDealershipSettingsSuccess",
        "settings": {
            "id": to_global_id("DealershipSettings", tenant.dealership_id),
            "timeZone": "America/Chicago",
            "defaultTaxJurisdiction": {"id": jurisdiction},
            "defaultDealType": "LEASE",
            "defaultTermMonths": 36,
            "defaultApr": "3.9000",
            "docFee": "299.50",
            "stockNumberFormat": "N{yyyy}-{seq:04d}",
            "version": 2,
        },
    }
    audit = await _audit(engine, tenant)
    assert len(audit) == 1
    assert audit[0]["action"] == "settings.update"
    assert audit[0]["entity_type"] == "DealershipSettings"
    assert audit[0]["entity_id"] == tenant.dealership_id
    assert audit[0]["user_id"] == tenant.users[Role.ADMIN]
    assert audit[0]["changes"]["doc_fee"] == {"before": "499.00", "after": "299.50"}
    assert audit[0]["changes"]["version"] == {"before": 1, "after": 2}

    # Clearing the jurisdiction with null.
    cleared = await _update(client, tenant, version=2, defaultTaxJurisdictionId=None)
    assert cleared["settings"]["defaultTaxJurisdiction"] is None
    assert cleared["settings"]["version"] == 3
    # The same values again change nothing: no new version, no audit row.
    same = await _update(client, tenant, version=3, defaultTermMonths=36)
    assert same["settings"]["version"] == 3
    assert len(await _audit(engine, tenant)) == 2


async def test_a_stale_version_is_a_conflict(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    assert (await _update(client, tenant, defaultTermMonths=60))["settings"]["version"] == 2
    stale = await _update(client, tenant, version=1, defaultTermMonths=84)
    assert stale["__typename"] == "VersionConflictError"
    assert stale["currentVersion"] == 2
    assert stale["field"] == ["input", "version"]
    assert (
        await scalar(
            engine, tenant.dealership_id, "SELECT default_term_months FROM dealership_settings"
        )
        == 60
    )
    assert len(await _audit(engine, tenant)) == 1


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"timeZone": "Mars/Olympus_Mons"}, "timeZone", "INVALID_TIME_ZONE"),
        ({"timeZone": ""}, "timeZone", "INVALID_TIME_ZONE"),
        ({"timeZone": "../../etc/passwd"}, "timeZone", "INVALID_TIME_ZONE"),
        ({"timeZone": None}, "timeZone", "REQUIRED"),
        ({"defaultDealType": None}, "defaultDealType", "REQUIRED"),
        ({"defaultTermMonths": 0}, "defaultTermMonths", "OUT_OF_RANGE"),
        ({"defaultTermMonths": 121}, "defaultTermMonths", "OUT_OF_RANGE"),
        ({"defaultTermMonths": None}, "defaultTermMonths", "REQUIRED"),
        ({"defaultApr": "-0.01"}, "defaultApr", "OUT_OF_RANGE"),
        ({"defaultApr": "40.0001"}, "defaultApr", "OUT_OF_RANGE"),
        ({"defaultApr": "5.12345"}, "defaultApr", "TOO_PRECISE"),
        ({"docFee": "-1"}, "docFee", "OUT_OF_RANGE"),
        ({"docFee": "100000"}, "docFee", "OUT_OF_RANGE"),
        ({"stockNumberFormat": "S-0001"}, "stockNumberFormat", "INVALID_STOCK_NUMBER_FORMAT"),
        ({"stockNumberFormat": "{seq}{mm}"}, "stockNumberFormat", "INVALID_STOCK_NUMBER_FORMAT"),
        ({"stockNumberFormat": "{seq:q}"}, "stockNumberFormat", "INVALID_STOCK_NUMBER_FORMAT"),
        ({"stockNumberFormat": "{seq"}, "stockNumberFormat", "INVALID_STOCK_NUMBER_FORMAT"),
        ({"stockNumberFormat": "S {seq}"}, "stockNumberFormat", "INVALID_STOCK_NUMBER_FORMAT"),
        ({"stockNumberFormat": "{}{seq}"}, "stockNumberFormat", "INVALID_STOCK_NUMBER_FORMAT"),
        (
            {"stockNumberFormat": "{seq.__class__}"},
            "stockNumberFormat",
            "INVALID_STOCK_NUMBER_FORMAT",
        ),
        ({"stockNumberFormat": None}, "stockNumberFormat", "REQUIRED"),
        ({"defaultTaxJurisdictionId": "nonsense"}, "defaultTaxJurisdictionId", "INVALID_ID"),
    ],
)
async def test_settings_validation_names_the_field(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: str,
    code: str,
) -> None:
    tenant = await factory.tenant()
    result = await _update(client, tenant, **values)
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        ["input", field],
        code,
    )
    assert (
        await scalar(engine, tenant.dealership_id, "SELECT version FROM dealership_settings") == 1
    )
    assert await _audit(engine, tenant) == []


async def test_settings_limits_are_inclusive_where_documented(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    result = await _update(client, tenant, defaultTermMonths=120, defaultApr="40", docFee="0")
    assert result["settings"]["defaultTermMonths"] == 120
    assert result["settings"]["defaultApr"] == "40.0000"
    assert result["settings"]["docFee"] == "0.00"
    low = await _update(client, tenant, version=2, defaultTermMonths=1, defaultApr="0")
    assert low["settings"]["defaultTermMonths"] == 1


def test_stock_number_formats() -> None:
    assert (
        format_stock_number("S{yy}{seq:05d}", seq=12, today=date(2025, 1, 1), field=("f",))
        == "S2500012"
    )
    assert (
        format_stock_number("{yyyy}-{seq}", seq=7, today=date(2031, 1, 1), field=("f",)) == "2031-7"
    )
    assert check_stock_number_format(" U{seq:06d} ", field=("f",)) == "U{seq:06d}"
    with pytest.raises(ValidationFailed):
        check_stock_number_format("{seq:0100d}", field=("f",))  # too long a result


async def test_the_default_tax_jurisdiction_must_be_ours_and_active(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    theirs = to_global_id("TaxJurisdiction", await _jurisdiction(factory, b))
    refused = await _update(client, a, defaultTaxJurisdictionId=theirs)
    assert refused["__typename"] == "MultiTenantViolationError"
    assert refused["field"] == ["input", "defaultTaxJurisdictionId"]
    assert (
        await scalar(
            engine, a.dealership_id, "SELECT default_tax_jurisdiction_id FROM dealership_settings"
        )
        is None
    )
    events = await rows(
        engine, a.dealership_id, "SELECT event, details FROM security_audit_logs ORDER BY id"
    )
    assert [e["details"]["entity"] for e in events] == ["TaxJurisdiction"]

    missing = await _update(
        client, a, defaultTaxJurisdictionId=to_global_id("TaxJurisdiction", 999_999_999)
    )
    assert missing["__typename"] == "ResourceNotFoundError"
    assert missing["field"] == ["input", "defaultTaxJurisdictionId"]

    wrong_type = await _update(client, a, defaultTaxJurisdictionId=to_global_id("Customer", 1))
    assert wrong_type["code"] == "INVALID_ID"

    inactive = to_global_id("TaxJurisdiction", await _jurisdiction(factory, a, active=False))
    refused = await _update(client, a, defaultTaxJurisdictionId=inactive)
    assert (refused["code"], refused["field"]) == (
        "INACTIVE_TAX_JURISDICTION",
        ["input", "defaultTaxJurisdictionId"],
    )
    assert await _audit(engine, a) == []
    assert await _audit(engine, b) == []


async def test_settings_need_sign_in(client: GraphQLClient) -> None:
    result = await client.execute("{ dealershipSettings { timeZone } }")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    result = await client.execute(UPDATE_SETTINGS, {"input": {"version": 1}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- profile -----------------------------------------------------------------------------


async def test_update_the_dealership_profile(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant, other = await factory.tenant(), await factory.tenant()
    data = await client.data(
        UPDATE_DEALERSHIP,
        {
            "input": {
                "name": " Demo Motors ",
                "legalName": "Demo Motors LLC",
                "phone": "(614) 555-0100",
                "email": "Sales@Demo.Example",
                "addressLine1": "1 Main St",
                "city": "Columbus",
                "state": "oh",
                "postalCode": "43215-1234",
            }
        },
        token=_admin(tenant),
    )
    result = data["updateDealership"]
    assert result["__typename"] == "UpdateDealershipSuccess"
    assert result["dealership"] == {
        "id": to_global_id("Dealership", tenant.dealership_id),
        "name": "Demo Motors",
        "legalName": "Demo Motors LLC",
        "phone": "+16145550100",
        "email": "sales@demo.example",
        "addressLine1": "1 Main St",
        "addressLine2": None,
        "city": "Columbus",
        "state": "OH",
        "postalCode": "43215-1234",
    }
    audit = await _audit(engine, tenant)
    assert [(a["action"], a["entity_type"], a["entity_id"]) for a in audit] == [
        ("dealership.update", "Dealership", tenant.dealership_id)
    ]
    assert audit[0]["changes"]["name"] == {
        "before": f"Dealership {tenant.code}",
        "after": "Demo Motors",
    }
    # Clearing an optional field with null; the other dealership is untouched.
    cleared = await client.data(
        UPDATE_DEALERSHIP, {"input": {"legalName": None}}, token=_admin(tenant)
    )
    assert cleared["updateDealership"]["dealership"]["legalName"] is None
    theirs = await client.data("{ dealership { name phone } }", token=other.token)
    assert theirs["dealership"] == {"name": f"Dealership {other.code}", "phone": None}
    # Nothing sent, nothing changed.
    await client.data(UPDATE_DEALERSHIP, {"input": {}}, token=_admin(tenant))
    assert len(await _audit(engine, tenant)) == 2


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"name": " "}, "name", "REQUIRED"),
        ({"name": None}, "name", "REQUIRED"),
        ({"legalName": "x" * 201}, "legalName", "TOO_LONG"),
        ({"phone": "123"}, "phone", "INVALID_PHONE"),
        ({"email": "nope"}, "email", "INVALID_EMAIL"),
        ({"state": "Ohio"}, "state", "INVALID_STATE"),
        ({"postalCode": "4321"}, "postalCode", "INVALID_POSTAL_CODE"),
    ],
)
async def test_profile_validation_names_the_field(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: str,
    code: str,
) -> None:
    tenant = await factory.tenant()
    result = (await client.data(UPDATE_DEALERSHIP, {"input": values}, token=_admin(tenant)))[
        "updateDealership"
    ]
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        ["input", field],
        code,
    )
    assert await _audit(engine, tenant) == []
