"""Deal scenarios through the real app: defaults, figures from db.desking, per-type
requirements and ranges, recomputation, delete and duplicate, tenancy and the audit trail."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db import desking
from db.models import DealershipSettings, FeeTemplate, TaxJurisdiction
from db.models.enums import DealType, FeeKind
from tests.conftest import GraphQLClient
from tests.deals_support import audit, gid, mutate
from tests.factories import Factory, Tenant
from tests.helpers import pk, scalar

SCENARIO = """
  scenario { id name type vehiclePrice downPayment rebates tradeAllowance tradePayoff apr
             moneyFactor termMonths residualPercent residualValue taxRate taxAmount
             fees { name kind amount taxable } feesTotal amountFinanced monthlyPayment
             totalOfPayments version deal { id activeScenario { id } version } }
"""

DOC = desking.FeeLine("Documentation fee", "doc", Decimal("499.00"), True)
TITLE = desking.FeeLine("Title fee", "title", Decimal("77.00"), False)
ACQUISITION = desking.FeeLine("Acquisition fee", "other", Decimal("695.00"), True)


async def desk_setup(
    factory: Factory, tenant: Tenant, *, rate: str = "7.2500", trade_in_credit: bool = True
) -> None:
    """A default tax jurisdiction and fee templates (one inactive) for the dealership."""

    async def work(session: AsyncSession) -> None:
        tax = TaxJurisdiction(
            dealership_id=tenant.dealership_id,
            name="Columbus, OH",
            state="OH",
            rate=Decimal(rate),
            trade_in_credit=trade_in_credit,
        )
        session.add(tax)
        await session.flush()
        settings = await session.get(DealershipSettings, tenant.dealership_id)
        assert settings is not None
        settings.default_tax_jurisdiction_id = tax.id
        for order, (line, deal_type, active) in enumerate(
            (
                (DOC, DealType.FINANCE, True),
                (TITLE, DealType.FINANCE, True),
                (
                    desking.FeeLine("Old fee", "other", Decimal("10.00"), False),
                    DealType.FINANCE,
                    False,
                ),
                (ACQUISITION, DealType.LEASE, True),
            )
        ):
            session.add(
                FeeTemplate(
                    dealership_id=tenant.dealership_id,
                    name=line.name,
                    kind=FeeKind(line.kind),
                    deal_type=deal_type,
                    amount=line.amount,
                    taxable=line.taxable,
                    is_active=active,
                    sort_order=order,
                )
            )

    await factory.run(tenant.dealership_id, work)


async def desked_deal(factory: Factory, tenant: Tenant, **values: object) -> int:
    """A deal on a 30,000 vehicle (MSRP 32,000) with one trade-in (6,000 allowance, 1,500
    payoff) and no scenario yet."""
    vehicle = await factory.vehicle(
        tenant, list_price=Decimal("30000.00"), msrp=Decimal("32000.00")
    )
    options: dict[str, object] = {"scenarios": 0, "trade_vehicles": 1, **values}
    return await factory.deal(tenant, vehicle_id=vehicle, **options)


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.01")))


def figures(result: dict[str, object]) -> dict[str, object]:
    scenario = result["scenario"]
    assert isinstance(scenario, dict)
    keys = ("taxAmount", "feesTotal", "amountFinanced", "monthlyPayment", "totalOfPayments")
    return {k: scenario[k] for k in (*keys, "residualValue")}


def expected(terms: desking.ScenarioTerms) -> dict[str, object]:
    f = desking.compute(terms)
    return {
        "taxAmount": money(f.tax_amount),
        "feesTotal": money(f.fees_total),
        "amountFinanced": money(f.amount_financed),
        "monthlyPayment": money(f.monthly_payment),
        "totalOfPayments": money(f.total_of_payments),
        "residualValue": money(f.residual_value),
    }


async def counts(engine: AsyncEngine, tenant: Tenant) -> tuple[object, object]:
    return (
        await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM deal_scenarios"),
        await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM audit_logs"),
    )


# --- create --------------------------------------------------------------------------------


async def test_a_finance_scenario_takes_every_default(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    await desk_setup(factory, tenant)
    deal_id = await desked_deal(factory, tenant)
    result = await mutate(
        client,
        tenant.token,
        "createDealScenario",
        {"dealId": gid("Deal", deal_id), "type": "FINANCE"},
        SCENARIO,
    )
    assert result["__typename"] == "CreateDealScenarioSuccess"
    scenario = result["scenario"]
    assert {
        k: scenario[k]
        for k in (
            "name",
            "type",
            "vehiclePrice",
            "downPayment",
            "rebates",
            "tradeAllowance",
            "tradePayoff",
            "apr",
            "moneyFactor",
            "termMonths",
            "residualPercent",
            "taxRate",
            "version",
        )
    } == {
        "name": "Finance 72 mo",
        "type": "FINANCE",
        "vehiclePrice": "30000.00",
        "downPayment": "0.00",
        "rebates": "0.00",
        "tradeAllowance": "6000.00",
        "tradePayoff": "1500.00",
        "apr": "6.9900",
        "moneyFactor": None,
        "termMonths": 72,
        "residualPercent": None,
        "taxRate": "7.2500",
        "version": 1,
    }
    assert scenario["fees"] == [
        {"name": "Documentation fee", "kind": "DOC", "amount": "499.00", "taxable": True},
        {"name": "Title fee", "kind": "TITLE", "amount": "77.00", "taxable": False},
    ]
    assert figures(result) == expected(
        desking.ScenarioTerms(
            type=DealType.FINANCE,
            vehicle_price=Decimal("30000.00"),
            trade_allowance=Decimal("6000.00"),
            trade_payoff=Decimal("1500.00"),
            apr=Decimal("6.99"),
            term_months=72,
            tax_rate=Decimal("7.25"),
            fees=(DOC, TITLE),
        )
    )
    # The deal itself is unchanged: choosing the active scenario is its own mutation.
    assert scenario["deal"] == {"id": gid("Deal", deal_id), "activeScenario": None, "version": 1}
    [entry] = await audit(engine, tenant)
    assert (entry["action"], entry["entity_type"], entry["entity_id"]) == (
        "deal_scenario.create",
        "DealScenario",
        pk(scenario["id"]),
    )
    assert entry["changes"]["monthly_payment"]["after"] == scenario["monthlyPayment"]


async def test_a_lease_scenario_with_explicit_terms(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    await desk_setup(factory, tenant, rate="6.0000", trade_in_credit=False)
    deal_id = await desked_deal(factory, tenant)
    result = await mutate(
        client,
        tenant.token,
        "createDealScenario",
        {
            "dealId": gid("Deal", deal_id),
            "type": "LEASE",
            "name": "Lease 36",
            "vehiclePrice": "29500.00",
            "downPayment": "2000",
            "rebates": "500.00",
            "apr": "5.00",
            "moneyFactor": "0.00125",
            "residualPercent": "58.5",
            "termMonths": 36,
        },
        SCENARIO,
    )
    scenario = result["scenario"]
    assert scenario["name"] == "Lease 36"
    assert scenario["apr"] is None  # a lease has no APR
    assert scenario["moneyFactor"] == "0.0012500"
    assert scenario["residualPercent"] == "58.5000"
    assert scenario["residualValue"] == "18720.00"  # 58.5 % of the MSRP
    assert scenario["fees"] == [
        {"name": "Acquisition fee", "kind": "OTHER", "amount": "695.00", "taxable": True}
    ]
    assert figures(result) == expected(
        desking.ScenarioTerms(
            type=DealType.LEASE,
            vehicle_price=Decimal("29500.00"),
            down_payment=Decimal("2000"),
            rebates=Decimal("500"),
            trade_allowance=Decimal("6000.00"),
            trade_payoff=Decimal("1500.00"),
            money_factor=Decimal("0.00125"),
            residual_percent=Decimal("58.5"),
            term_months=36,
            msrp=Decimal("32000.00"),
            tax_rate=Decimal("6"),
            trade_in_credit=False,
            fees=(ACQUISITION,),
        )
    )


async def test_a_cash_scenario_with_its_own_fees_and_no_tax_jurisdiction(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()  # no default jurisdiction, no fee templates
    deal_id = await desked_deal(factory, tenant)
    result = await mutate(
        client,
        tenant.token,
        "createDealScenario",
        {
            "dealId": gid("Deal", deal_id),
            "type": "CASH",
            "apr": "6.99",
            "termMonths": 60,
            "tradeAllowance": "0",
            "fees": [{"name": " Doc ", "kind": "DOC", "amount": "250", "taxable": True}],
        },
        SCENARIO,
    )
    scenario = result["scenario"]
    assert scenario["name"] == "Cash"
    assert (scenario["apr"], scenario["termMonths"], scenario["taxRate"]) == (None, None, "0.0000")
    assert scenario["monthlyPayment"] == "0.00"
    assert scenario["tradeAllowance"] == "0.00"
    assert scenario["tradePayoff"] == "1500.00"  # still the trade-in's payoff by default
    assert scenario["fees"] == [{"name": "Doc", "kind": "DOC", "amount": "250.00", "taxable": True}]
    assert figures(result) == expected(
        desking.ScenarioTerms(
            type=DealType.CASH,
            vehicle_price=Decimal("30000.00"),
            trade_payoff=Decimal("1500.00"),
            fees=(desking.FeeLine("Doc", "doc", Decimal("250"), True),),
        )
    )


LEASE = {"type": "LEASE", "moneyFactor": "0.00125", "residualPercent": "58", "termMonths": 36}


def _without(values: dict[str, object], key: str) -> dict[str, object]:
    return {k: v for k, v in values.items() if k != key}


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        (_without(LEASE, "moneyFactor"), ["moneyFactor"], "REQUIRED"),
        (_without(LEASE, "residualPercent"), ["residualPercent"], "REQUIRED"),
        (_without(LEASE, "termMonths"), ["termMonths"], "REQUIRED"),
        ({**LEASE, "moneyFactor": "0.02"}, ["moneyFactor"], "MONEY_FACTOR_OUT_OF_RANGE"),
        ({**LEASE, "moneyFactor": "0.000012345"}, ["moneyFactor"], "TOO_PRECISE"),
        ({**LEASE, "residualPercent": "0"}, ["residualPercent"], "RESIDUAL_OUT_OF_RANGE"),
        ({**LEASE, "residualPercent": "100.5"}, ["residualPercent"], "RESIDUAL_OUT_OF_RANGE"),
        ({"apr": "40.01"}, ["apr"], "APR_OUT_OF_RANGE"),
        ({"apr": "-0.5"}, ["apr"], "APR_OUT_OF_RANGE"),
        ({"apr": "6.12345"}, ["apr"], "TOO_PRECISE"),
        ({"apr": "NaN"}, ["apr"], "INVALID_NUMBER"),
        ({"termMonths": 0}, ["termMonths"], "TERM_OUT_OF_RANGE"),
        ({"termMonths": 121}, ["termMonths"], "TERM_OUT_OF_RANGE"),
        ({"downPayment": "30000.01"}, ["downPayment"], "DOWN_PAYMENT_EXCEEDS_PRICE"),
        (
            {"vehiclePrice": "1000", "downPayment": "1500"},
            ["downPayment"],
            "DOWN_PAYMENT_EXCEEDS_PRICE",
        ),
        ({"rebates": "30000.01"}, ["rebates"], "REBATES_EXCEED_PRICE"),
        ({"vehiclePrice": "-1"}, ["vehiclePrice"], "NEGATIVE_AMOUNT"),
        ({"downPayment": "-1"}, ["downPayment"], "NEGATIVE_AMOUNT"),
        ({"tradePayoff": "-5"}, ["tradePayoff"], "NEGATIVE_AMOUNT"),
        ({"vehiclePrice": "10000000.01"}, ["vehiclePrice"], "AMOUNT_TOO_LARGE"),
        (
            {"fees": [{"name": "a", "amount": "9999999999.99"}]},
            ["fees", "0", "amount"],
            "AMOUNT_TOO_LARGE",
        ),
        ({"taxRate": "100"}, ["taxRate"], "TAX_RATE_OUT_OF_RANGE"),
        ({"taxRate": "-1"}, ["taxRate"], "TAX_RATE_OUT_OF_RANGE"),
        ({"name": "  "}, ["name"], "REQUIRED"),
        ({"name": "x" * 101}, ["name"], "TOO_LONG"),
        ({"fees": [{"name": " ", "amount": "10"}]}, ["fees", "0", "name"], "REQUIRED"),
        (
            {"fees": [{"name": "a", "amount": "1"}, {"name": "b", "amount": "-10"}]},
            ["fees", "1", "amount"],
            "NEGATIVE_AMOUNT",
        ),
        ({"fees": [{"name": "a", "amount": "1"}] * 31}, ["fees"], "TOO_MANY_FEES"),
        ({"dealId": "customer"}, ["dealId"], "INVALID_ID"),
    ],
)
async def test_create_validation_errors_name_the_field(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: list[str],
    code: str,
) -> None:
    tenant = await factory.tenant()
    deal_id = await desked_deal(factory, tenant)
    input = {"dealId": gid("Deal", deal_id), "type": "FINANCE", **values}
    if input["dealId"] == "customer":
        input["dealId"] = gid("Customer", await factory.customer(tenant))
    result = await mutate(client, tenant.token, "createDealScenario", input)
    assert result["__typename"] == "ValidationError"
    assert (result["field"], result["code"]) == (["input", *field], code)
    assert await counts(engine, tenant) == (0, 0)


async def test_create_on_a_closed_foreign_or_unknown_deal(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    cases = [
        (
            await desked_deal(factory, a, status="contracted"),
            "ValidationError",
            "DEAL_NOT_EDITABLE",
        ),
        (await desked_deal(factory, b), "MultiTenantViolationError", "CROSS_TENANT"),
        (999_999_999, "ResourceNotFoundError", "NOT_FOUND"),
    ]
    for deal_id, typename, code in cases:
        result = await mutate(
            client,
            a.token,
            "createDealScenario",
            {"dealId": gid("Deal", deal_id), "type": "CASH"},
        )
        assert (result["__typename"], result["code"], result["field"]) == (
            typename,
            code,
            ["input", "dealId"],
        )
    assert await counts(engine, a) == (0, 0)
    assert await counts(engine, b) == (0, 0)


# --- update --------------------------------------------------------------------------------


async def _create(
    client: GraphQLClient, tenant: Tenant, deal_id: int, **values: object
) -> dict[str, object]:
    result = await mutate(
        client,
        tenant.token,
        "createDealScenario",
        {"dealId": gid("Deal", deal_id), "type": "FINANCE", **values},
        SCENARIO,
    )
    scenario = result["scenario"]
    assert isinstance(scenario, dict)
    return scenario


async def test_update_recomputes_and_bumps_the_version(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    await desk_setup(factory, tenant)
    deal_id = await desked_deal(factory, tenant)
    created = await _create(client, tenant, deal_id)
    result = await mutate(
        client,
        tenant.token,
        "updateDealScenario",
        {"id": created["id"], "version": 1, "downPayment": "5000", "termMonths": 60},
        SCENARIO,
    )
    assert result["__typename"] == "UpdateDealScenarioSuccess"
    assert result["scenario"]["version"] == 2
    assert result["scenario"]["termMonths"] == 60
    assert result["scenario"]["name"] == "Finance 72 mo"  # names are not regenerated
    assert figures(result) == expected(
        desking.ScenarioTerms(
            type=DealType.FINANCE,
            vehicle_price=Decimal("30000.00"),
            down_payment=Decimal("5000"),
            trade_allowance=Decimal("6000.00"),
            trade_payoff=Decimal("1500.00"),
            apr=Decimal("6.99"),
            term_months=60,
            tax_rate=Decimal("7.25"),
            fees=(DOC, TITLE),
        )
    )
    entries = await audit(engine, tenant)
    assert [e["action"] for e in entries] == ["deal_scenario.create", "deal_scenario.update"]
    changes = entries[1]["changes"]
    assert changes["down_payment"] == {"before": "0.00", "after": "5000.00"}
    assert changes["term_months"] == {"before": 72, "after": 60}
    assert changes["version"] == {"before": 1, "after": 2}

    fees = await mutate(
        client,
        tenant.token,
        "updateDealScenario",
        {"id": created["id"], "version": 2, "fees": [], "name": "No fees"},
        SCENARIO,
    )
    assert fees["scenario"]["fees"] == []
    assert fees["scenario"]["feesTotal"] == "0.00"
    assert fees["scenario"]["version"] == 3

    same = await mutate(
        client,
        tenant.token,
        "updateDealScenario",
        {"id": created["id"], "version": 3, "termMonths": 60},
        SCENARIO,
    )
    assert same["scenario"]["version"] == 3  # nothing changed: no new version, no audit row
    assert len(await audit(engine, tenant)) == 3

    lease = await mutate(
        client,
        tenant.token,
        "updateDealScenario",
        {"id": created["id"], "version": 3, **LEASE},
        SCENARIO,
    )
    assert lease["scenario"]["type"] == "LEASE"
    assert lease["scenario"]["apr"] is None
    assert lease["scenario"]["residualValue"] == "18560.00"

    stale = await mutate(
        client,
        tenant.token,
        "updateDealScenario",
        {"id": created["id"], "version": 3, "downPayment": "1"},
    )
    assert stale["__typename"] == "VersionConflictError"
    assert stale["currentVersion"] == 4


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"apr": None}, "apr", "REQUIRED"),
        ({"termMonths": None}, "termMonths", "REQUIRED"),
        ({"vehiclePrice": None}, "vehiclePrice", "REQUIRED"),
        ({"type": None}, "type", "REQUIRED"),
        ({"fees": None}, "fees", "REQUIRED"),
        ({"type": "LEASE"}, "moneyFactor", "REQUIRED"),
        ({"apr": "41"}, "apr", "APR_OUT_OF_RANGE"),
        ({"downPayment": "30000.01"}, "downPayment", "DOWN_PAYMENT_EXCEEDS_PRICE"),
        ({"vehiclePrice": "100"}, "downPayment", "DOWN_PAYMENT_EXCEEDS_PRICE"),
        ({"id": "nonsense"}, "id", "INVALID_ID"),
    ],
)
async def test_update_validation_errors(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: str,
    code: str,
) -> None:
    tenant = await factory.tenant()
    deal_id = await desked_deal(factory, tenant)
    created = await _create(client, tenant, deal_id, downPayment="1000")
    result = await mutate(
        client,
        tenant.token,
        "updateDealScenario",
        {"id": created["id"], "version": 1, **values},
    )
    assert result["__typename"] == "ValidationError"
    assert (result["field"], result["code"]) == (["input", field], code)
    version = await scalar(engine, tenant.dealership_id, "SELECT version FROM deal_scenarios")
    assert version == 1
    assert [e["action"] for e in await audit(engine, tenant)] == ["deal_scenario.create"]


async def test_scenarios_of_a_closed_or_foreign_deal_cannot_change(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    closed = await factory.deal(a, status="delivered", scenarios=2)
    foreign = await factory.deal(b, scenarios=2)
    for tenant, deal_id, typename, code in (
        (a, closed, "ValidationError", "DEAL_NOT_EDITABLE"),
        (b, foreign, "MultiTenantViolationError", "CROSS_TENANT"),
    ):
        data = await client.data(
            "query($id: ID!) { deal(id: $id) { scenarios { id } } }",
            {"id": gid("Deal", deal_id)},
            token=tenant.token,
        )
        second = data["deal"]["scenarios"][1]["id"]
        for name, input in (
            ("updateDealScenario", {"id": second, "version": 1, "downPayment": "1"}),
            ("deleteDealScenario", {"id": second, "version": 1}),
            ("duplicateDealScenario", {"id": second}),
        ):
            result = await mutate(client, a.token, name, input)
            assert (result["__typename"], result["code"], result["field"]) == (
                typename,
                code,
                ["input", "id"],
            ), name
    assert await counts(engine, a) == (2, 0)
    assert await counts(engine, b) == (2, 0)
    missing = await mutate(
        client,
        a.token,
        "updateDealScenario",
        {"id": gid("DealScenario", 999_999_999), "version": 1},
    )
    assert missing["__typename"] == "ResourceNotFoundError"


# --- delete and duplicate ------------------------------------------------------------------


async def test_delete_a_scenario_but_not_the_active_one(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant, scenarios=2)
    data = await client.data(
        "query($id: ID!) { deal(id: $id) { activeScenario { id } scenarios { id } } }",
        {"id": gid("Deal", deal_id)},
        token=tenant.token,
    )
    active = data["deal"]["activeScenario"]["id"]
    other = data["deal"]["scenarios"][1]["id"]
    refused = await mutate(client, tenant.token, "deleteDealScenario", {"id": active, "version": 1})
    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "ValidationError",
        "CANNOT_DELETE_ACTIVE_SCENARIO",
        ["input", "id"],
    )
    stale = await mutate(client, tenant.token, "deleteDealScenario", {"id": other, "version": 2})
    assert stale["__typename"] == "VersionConflictError"
    assert await counts(engine, tenant) == (2, 0)

    deleted = await mutate(
        client,
        tenant.token,
        "deleteDealScenario",
        {"id": other, "version": 1},
        "deletedScenarioId deal { scenarios { id } }",
    )
    assert deleted["__typename"] == "DeleteDealScenarioSuccess"
    assert deleted["deletedScenarioId"] == other
    assert deleted["deal"]["scenarios"] == [{"id": active}]
    [entry] = await audit(engine, tenant)
    assert (entry["action"], entry["entity_id"]) == ("deal_scenario.delete", pk(other))
    assert entry["changes"]["name"] == {"before": "Finance 60 mo", "after": None}
    gone = await client.data(
        "query($id: ID!) { dealScenario(id: $id) { id } }", {"id": other}, token=tenant.token
    )
    assert gone["dealScenario"] is None


async def test_duplicate_a_scenario(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    await desk_setup(factory, tenant)
    deal_id = await desked_deal(factory, tenant)
    original = await _create(client, tenant, deal_id, downPayment="2500", apr="4.9")
    copy = await mutate(
        client, tenant.token, "duplicateDealScenario", {"id": original["id"]}, SCENARIO
    )
    assert copy["__typename"] == "DuplicateDealScenarioSuccess"
    duplicate = copy["scenario"]
    assert duplicate["id"] != original["id"]
    assert duplicate["name"] == "Finance 72 mo (copy)"
    same = {k: v for k, v in original.items() if k not in {"id", "name"}}
    assert {k: v for k, v in duplicate.items() if k not in {"id", "name"}} == same
    named = await mutate(
        client,
        tenant.token,
        "duplicateDealScenario",
        {"id": original["id"], "name": "Try 4.9 %"},
        "scenario { name }",
    )
    assert named["scenario"] == {"name": "Try 4.9 %"}
    blank = await mutate(
        client, tenant.token, "duplicateDealScenario", {"id": original["id"], "name": " "}
    )
    assert (blank["code"], blank["field"]) == ("REQUIRED", ["input", "name"])
    entries = await audit(engine, tenant)
    assert [e["action"] for e in entries] == [
        "deal_scenario.create",
        "deal_scenario.duplicate",
        "deal_scenario.duplicate",
    ]
    assert entries[1]["entity_id"] == pk(duplicate["id"])


# --- reading -------------------------------------------------------------------------------


async def test_read_a_scenario_by_id_and_as_a_node(client: GraphQLClient, factory: Factory) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    deal_id = await factory.deal(a)
    data = await client.data(
        "query($id: ID!) { deal(id: $id) { activeScenario { id } } }",
        {"id": gid("Deal", deal_id)},
        token=a.token,
    )
    scenario_id = data["deal"]["activeScenario"]["id"]
    query = """query($id: ID!) { dealScenario(id: $id) { id name deal { id } }
                 node(id: $id) { ... on DealScenario { monthlyPayment } } }"""
    mine = await client.data(query, {"id": scenario_id}, token=a.token)
    assert mine["dealScenario"] == {
        "id": scenario_id,
        "name": "Finance 72 mo",
        "deal": {"id": gid("Deal", deal_id)},
    }
    assert Decimal(mine["node"]["monthlyPayment"]) > 0
    theirs = await client.data(query, {"id": scenario_id}, token=b.token)
    assert theirs == {"dealScenario": None, "node": None}
