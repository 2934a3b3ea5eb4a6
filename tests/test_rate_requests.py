"""Rate requests and lender decisions through the real app: defaults from the scenario,
the figures worked out for a decision, choosing a decision, validation, tenancy, loaders
and the audit trail."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from db.models.enums import DealStatus, DealType, Role
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import count_statements, pk, rows, scalar

REQUEST_FIELDS = (
    "id deal { id } scenario { id } status creditScore amountRequested downPayment tradeValue "
    "tradePayoff termMonths monthlyIncome monthlyDebt submittedAt requestedBy { email }"
)
DECISION_FIELDS = (
    "id decision approvedAmount apr buyRate dealerReserve termMonths monthlyPayment "
    "ltvPercent dtiPercent stipulations moneyFactor lender { name } rateRequest { id status }"
)

CREATE = f"""
mutation($input: CreateRateRequestInput!) {{
  createRateRequest(input: $input) {{
    __typename
    ... on CreateRateRequestSuccess {{ rateRequest {{ {REQUEST_FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

RECORD = f"""
mutation($input: RecordLenderDecisionInput!) {{
  recordLenderDecision(input: $input) {{
    __typename
    ... on RecordLenderDecisionSuccess {{ decision {{ {DECISION_FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

SELECT = """
mutation($input: SelectLenderDecisionInput!) {
  selectLenderDecision(input: $input) {
    __typename
    ... on SelectLenderDecisionSuccess { decision { id } deal { id version } }
    ... on VersionConflictError { currentVersion }
    ... on Error { message code field }
  }
}"""


def _gid(type_name: str, pk_: int) -> str:
    return str(to_global_id(type_name, pk_))


async def _request(
    client: GraphQLClient, tenant: Tenant, scenario_id: int, **values: object
) -> dict[str, object]:
    payload = {"scenarioId": _gid("DealScenario", scenario_id), "creditScore": 720, **values}
    data = await client.data(CREATE, {"input": payload}, token=tenant.token)
    result = data["createRateRequest"]
    assert isinstance(result, dict)
    return result


async def _requested(
    client: GraphQLClient, tenant: Tenant, scenario_id: int, **values: object
) -> dict[str, object]:
    result = await _request(client, tenant, scenario_id, **values)
    assert result["__typename"] == "CreateRateRequestSuccess", result
    request = result["rateRequest"]
    assert isinstance(request, dict)
    return request


async def _record(
    client: GraphQLClient, tenant: Tenant, request_id: object, lender_id: int, **values: object
) -> dict[str, object]:
    payload = {
        "rateRequestId": request_id,
        "lenderId": _gid("Lender", lender_id),
        "decision": "APPROVED",
        "approvedAmount": "25000.00",
        "apr": "7.99",
        "buyRate": "5.99",
        "termMonths": 60,
        **values,
    }
    data = await client.data(RECORD, {"input": payload}, token=tenant.token)
    result = data["recordLenderDecision"]
    assert isinstance(result, dict)
    return result


async def test_create_takes_what_is_left_out_from_the_scenario(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal_id, scenario_id = await factory.deal_with_scenario(tenant)
    request = await _requested(client, tenant, scenario_id)
    assert request == {
        "id": request["id"],
        "deal": {"id": _gid("Deal", deal_id)},
        "scenario": {"id": _gid("DealScenario", scenario_id)},
        "status": "SUBMITTED",
        "creditScore": 720,
        "amountRequested": "25000.00",
        "downPayment": "3000.00",
        "tradeValue": "4000.00",
        "tradePayoff": "2000.00",
        "termMonths": 60,
        "monthlyIncome": None,
        "monthlyDebt": None,
        "submittedAt": request["submittedAt"],
        "requestedBy": {"email": f"sales_manager.{tenant.code}@example.com"},
    }
    assert request["submittedAt"] is not None
    audit = await rows(
        engine, tenant.dealership_id, "SELECT action, entity_type, entity_id FROM audit_logs"
    )
    assert audit == [
        {
            "action": "rate_request.create",
            "entity_type": "RateRequest",
            "entity_id": pk(request["id"]),
        }
    ]


async def test_create_with_explicit_figures(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    _, scenario_id = await factory.deal_with_scenario(tenant, status=DealStatus.PENDING_APPROVAL)
    request = await _requested(
        client,
        tenant,
        scenario_id,
        amountRequested="22000",
        downPayment="0",
        tradeValue="0",
        tradePayoff="0",
        termMonths=72,
        monthlyIncome="6000",
        monthlyDebt="800",
    )
    assert (
        request["amountRequested"],
        request["downPayment"],
        request["tradeValue"],
        request["termMonths"],
        request["monthlyIncome"],
        request["monthlyDebt"],
    ) == ("22000.00", "0.00", "0.00", 72, "6000.00", "800.00")


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"creditScore": 299}, ["input", "creditScore"], "CREDIT_SCORE_OUT_OF_RANGE"),
        ({"creditScore": 851}, ["input", "creditScore"], "CREDIT_SCORE_OUT_OF_RANGE"),
        ({"amountRequested": "0"}, ["input", "amountRequested"], "MUST_BE_POSITIVE"),
        ({"downPayment": "-1"}, ["input", "downPayment"], "MUST_NOT_BE_NEGATIVE"),
        ({"tradeValue": "-1"}, ["input", "tradeValue"], "MUST_NOT_BE_NEGATIVE"),
        ({"tradePayoff": "-1"}, ["input", "tradePayoff"], "MUST_NOT_BE_NEGATIVE"),
        ({"termMonths": 0}, ["input", "termMonths"], "TERM_OUT_OF_RANGE"),
        ({"termMonths": 121}, ["input", "termMonths"], "TERM_OUT_OF_RANGE"),
        ({"monthlyIncome": "0"}, ["input", "monthlyIncome"], "MUST_BE_POSITIVE"),
        ({"monthlyDebt": "-0.01"}, ["input", "monthlyDebt"], "MUST_NOT_BE_NEGATIVE"),
        ({"scenarioId": "nonsense"}, ["input", "scenarioId"], "INVALID_ID"),
        ({"scenarioId": to_global_id("Deal", 1)}, ["input", "scenarioId"], "INVALID_ID"),
    ],
)
async def test_create_validation(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: list[str],
    code: str,
) -> None:
    tenant = await factory.tenant()
    _, scenario_id = await factory.deal_with_scenario(tenant)
    result = await _request(client, tenant, scenario_id, **values)
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        field,
        code,
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM rate_requests") == 0
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM audit_logs") == 0


@pytest.mark.parametrize(
    ("status", "scenario", "values", "field", "code"),
    [
        (DealStatus.LOST, {}, {}, ["input", "scenarioId"], "DEAL_NOT_EDITABLE"),
        (DealStatus.CONTRACTED, {}, {}, ["input", "scenarioId"], "DEAL_NOT_EDITABLE"),
        (DealStatus.DELIVERED, {}, {}, ["input", "scenarioId"], "DEAL_NOT_EDITABLE"),
        (
            DealStatus.OPEN,
            {"type": DealType.CASH, "amount_financed": Decimal(0), "term_months": None},
            {},
            ["input", "scenarioId"],
            "CASH_SCENARIO",
        ),
        (
            DealStatus.OPEN,
            {"amount_financed": Decimal(0)},
            {},
            ["input", "amountRequested"],
            "MUST_BE_POSITIVE",
        ),
        (DealStatus.OPEN, {"term_months": None}, {}, ["input", "termMonths"], "REQUIRED"),
    ],
)
async def test_create_refuses_what_the_deal_cannot_take(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    status: DealStatus,
    scenario: dict[str, object],
    values: dict[str, object],
    field: list[str],
    code: str,
) -> None:
    tenant = await factory.tenant()
    _, scenario_id = await factory.deal_with_scenario(tenant, status=status, **scenario)
    result = await _request(client, tenant, scenario_id, **values)
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        field,
        code,
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM rate_requests") == 0


async def test_another_dealerships_scenario_is_refused(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    _, their_scenario = await factory.deal_with_scenario(b)
    result = await _request(client, a, their_scenario)
    assert (result["__typename"], result["field"]) == (
        "MultiTenantViolationError",
        ["input", "scenarioId"],
    )
    missing = await _request(client, a, 999_999_999)
    assert missing["__typename"] == "ResourceNotFoundError"
    for tenant in (a, b):
        assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM rate_requests") == 0
    events = await rows(
        engine, a.dealership_id, "SELECT event, details FROM security_audit_logs ORDER BY id"
    )
    assert [(e["event"], e["details"]["entity"]) for e in events] == [
        ("tenant.cross_tenant_write", "DealScenario")
    ]


async def test_a_decision_works_out_payment_reserve_ltv_and_dti(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    _, scenario_id = await factory.deal_with_scenario(tenant)
    lender_id = await factory.lender(tenant, name="Ally")
    request = await _requested(client, tenant, scenario_id, monthlyIncome="6000", monthlyDebt="800")
    result = await _record(
        client, tenant, request["id"], lender_id, stipulations=[" Proof of income ", "Insurance"]
    )
    assert result["__typename"] == "RecordLenderDecisionSuccess", result
    decision = result["decision"]
    assert decision == {
        "id": decision["id"],
        "decision": "APPROVED",
        "approvedAmount": "25000.00",
        "apr": "7.9900",
        "buyRate": "5.9900",
        # (506.79 - 483.20) x 60 months x 70%
        "dealerReserve": "990.78",
        "termMonths": 60,
        "monthlyPayment": "506.79",
        "ltvPercent": "83.3333",  # 25,000 of a 30,000 price
        "dtiPercent": "21.7798",  # (800 + 506.79) / 6,000
        "stipulations": ["Proof of income", "Insurance"],
        "moneyFactor": None,
        "lender": {"name": "Ally"},
        "rateRequest": {"id": request["id"], "status": "DECISIONED"},
    }
    audit = await rows(
        engine, tenant.dealership_id, "SELECT action, entity_type FROM audit_logs ORDER BY id"
    )
    assert [(a["action"], a["entity_type"]) for a in audit] == [
        ("rate_request.create", "RateRequest"),
        ("lender_decision.create", "LenderDecision"),
        ("rate_request.decisioned", "RateRequest"),
    ]


async def test_given_payment_is_kept_and_no_income_means_no_dti(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    _, scenario_id = await factory.deal_with_scenario(tenant)
    request = await _requested(client, tenant, scenario_id)
    first = await _record(
        client,
        tenant,
        request["id"],
        await factory.lender(tenant),
        decision="COUNTER_OFFER",
        approvedAmount="20000",
        monthlyPayment="410.00",
        buyRate=None,
    )
    assert first["__typename"] == "RecordLenderDecisionSuccess", first
    assert (
        first["decision"]["monthlyPayment"],
        first["decision"]["dealerReserve"],
        first["decision"]["dtiPercent"],
        first["decision"]["ltvPercent"],
    ) == ("410.00", None, None, "66.6667")
    declined = await _record(
        client,
        tenant,
        request["id"],
        await factory.lender(tenant),
        decision="DECLINED",
        approvedAmount=None,
        apr=None,
        buyRate=None,
        termMonths=None,
    )
    assert declined["__typename"] == "RecordLenderDecisionSuccess", declined
    assert declined["decision"]["monthlyPayment"] is None
    assert declined["decision"]["dealerReserve"] is None
    lease = await _record(
        client,
        tenant,
        request["id"],
        await factory.lender(tenant),
        moneyFactor="0.00125",
        buyRate=None,
        apr="3",
        termMonths=36,
    )
    assert (lease["decision"]["moneyFactor"], lease["decision"]["monthlyPayment"]) == (
        "0.0012500",
        None,
    )


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"approvedAmount": None}, ["input", "approvedAmount"], "REQUIRED"),
        ({"apr": None}, ["input", "apr"], "REQUIRED"),
        ({"termMonths": None}, ["input", "termMonths"], "REQUIRED"),
        ({"decision": "CONDITIONAL", "apr": None}, ["input", "apr"], "REQUIRED"),
        ({"decision": "COUNTER_OFFER", "termMonths": None}, ["input", "termMonths"], "REQUIRED"),
        ({"approvedAmount": "0"}, ["input", "approvedAmount"], "MUST_BE_POSITIVE"),
        ({"apr": "100"}, ["input", "apr"], "OUT_OF_RANGE"),
        ({"apr": "7.123456"}, ["input", "apr"], "TOO_MANY_DECIMALS"),
        ({"buyRate": "8.5"}, ["input", "buyRate"], "BUY_RATE_ABOVE_APR"),
        ({"termMonths": 121}, ["input", "termMonths"], "TERM_OUT_OF_RANGE"),
        ({"monthlyPayment": "0"}, ["input", "monthlyPayment"], "MUST_BE_POSITIVE"),
        ({"moneyFactor": "0.5"}, ["input", "moneyFactor"], "OUT_OF_RANGE"),
        ({"stipulations": ["ok", " "]}, ["input", "stipulations", "1"], "REQUIRED"),
        ({"stipulations": ["x" * 501]}, ["input", "stipulations", "0"], "TOO_LONG"),
        ({"stipulations": ["s"] * 51}, ["input", "stipulations"], "TOO_MANY"),
        ({"rateRequestId": to_global_id("Lender", 1)}, ["input", "rateRequestId"], "INVALID_ID"),
    ],
)
async def test_decision_validation(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: list[str],
    code: str,
) -> None:
    tenant = await factory.tenant()
    _, scenario_id = await factory.deal_with_scenario(tenant)
    request = await _requested(client, tenant, scenario_id)
    result = await _record(client, tenant, request["id"], await factory.lender(tenant), **values)
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        field,
        code,
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM lender_decisions") == 0
    assert (
        await scalar(engine, tenant.dealership_id, "SELECT status FROM rate_requests")
        == "submitted"
    )
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT count(*) FROM audit_logs WHERE action <> 'rate_request.create'",
        )
        == 0
    )


async def test_one_decision_per_lender_and_request(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    _, scenario_id = await factory.deal_with_scenario(tenant)
    request = await _requested(client, tenant, scenario_id)
    ally, chase = await factory.lender(tenant), await factory.lender(tenant)
    assert (await _record(client, tenant, request["id"], ally))[
        "__typename"
    ] == "RecordLenderDecisionSuccess"
    again = await _record(client, tenant, request["id"], ally, apr="6.99")
    assert (again["__typename"], again["field"], again["code"]) == (
        "ValidationError",
        ["input", "lenderId"],
        "DECISION_EXISTS",
    )
    other = await _record(client, tenant, request["id"], chase, decision="DECLINED")
    assert other["__typename"] == "RecordLenderDecisionSuccess"
    data = await client.data(
        "query($id: ID!) { rateRequest(id: $id) { status decisions { decision apr } } }",
        {"id": request["id"]},
        token=tenant.token,
    )
    assert data["rateRequest"] == {
        "status": "DECISIONED",
        "decisions": [
            {"decision": "APPROVED", "apr": "7.9900"},
            {"decision": "DECLINED", "apr": "7.9900"},
        ],
    }
    # The request's status changed once: one "decisioned" audit row.
    actions = await rows(engine, tenant.dealership_id, "SELECT action FROM audit_logs ORDER BY id")
    assert [a["action"] for a in actions] == [
        "rate_request.create",
        "lender_decision.create",
        "rate_request.decisioned",
        "lender_decision.create",
    ]


async def test_decisions_on_another_dealerships_request_or_lender_are_refused(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    _, their_scenario = await factory.deal_with_scenario(b)
    theirs = await _requested(client, b, their_scenario)
    _, my_scenario = await factory.deal_with_scenario(a)
    mine = await _requested(client, a, my_scenario)
    my_lender, their_lender = await factory.lender(a), await factory.lender(b)

    on_theirs = await _record(client, a, theirs["id"], my_lender)
    assert (on_theirs["__typename"], on_theirs["field"]) == (
        "MultiTenantViolationError",
        ["input", "rateRequestId"],
    )
    with_their_lender = await _record(client, a, mine["id"], their_lender)
    assert (with_their_lender["__typename"], with_their_lender["field"]) == (
        "MultiTenantViolationError",
        ["input", "lenderId"],
    )
    for tenant in (a, b):
        assert (
            await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM lender_decisions") == 0
        )
    read = await client.data(
        "query($id: ID!) { rateRequest(id: $id) { id } node(id: $id) { id } }",
        {"id": theirs["id"]},
        token=a.token,
    )
    assert read == {"rateRequest": None, "node": None}
    listed = await client.data(
        "query($d: ID!) { rateRequests(dealId: $d) { id } approvedLenders(dealId: $d) { id } }",
        {"d": theirs["deal"]["id"]},
        token=a.token,
    )
    assert listed == {"rateRequests": [], "approvedLenders": []}


async def _select(
    client: GraphQLClient, tenant: Tenant, decision_id: object, version: int | None = None
) -> dict[str, object]:
    payload: dict[str, object] = {"decisionId": decision_id}
    if version is not None:
        payload["version"] = version
    data = await client.data(SELECT, {"input": payload}, token=tenant.token)
    result = data["selectLenderDecision"]
    assert isinstance(result, dict)
    return result


async def test_select_a_decision_for_the_deal(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal_id, scenario_id = await factory.deal_with_scenario(tenant)
    request = await _requested(client, tenant, scenario_id)
    approved = (await _record(client, tenant, request["id"], await factory.lender(tenant)))[
        "decision"
    ]
    declined = (
        await _record(
            client, tenant, request["id"], await factory.lender(tenant), decision="DECLINED"
        )
    )["decision"]

    refused = await _select(client, tenant, declined["id"])
    assert (refused["__typename"], refused["field"], refused["code"]) == (
        "ValidationError",
        ["input", "decisionId"],
        "DECISION_NOT_APPROVED",
    )
    stale = await _select(client, tenant, approved["id"], version=7)
    assert (stale["__typename"], stale["currentVersion"]) == ("VersionConflictError", 1)
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT count(*) FROM audit_logs WHERE entity_type = 'Deal'",
        )
        == 0
    )

    chosen = await _select(client, tenant, approved["id"], version=1)
    assert chosen == {
        "__typename": "SelectLenderDecisionSuccess",
        "decision": {"id": approved["id"]},
        "deal": {"id": _gid("Deal", deal_id), "version": 2},
    }
    deal = await rows(
        engine,
        tenant.dealership_id,
        "SELECT selected_decision_id, version FROM deals WHERE id = :id",
        id=deal_id,
    )
    assert deal == [{"selected_decision_id": pk(approved["id"]), "version": 2}]
    audit = await rows(
        engine,
        tenant.dealership_id,
        "SELECT action, entity_id, changes FROM audit_logs WHERE entity_type = 'Deal'",
    )
    assert audit == [
        {
            "action": "deal.select_lender_decision",
            "entity_id": deal_id,
            "changes": {
                "selected_decision_id": {"before": None, "after": pk(approved["id"])},
                "version": {"before": 1, "after": 2},
            },
        }
    ]
    # Choosing it again changes nothing.
    again = await _select(client, tenant, approved["id"])
    assert again["deal"]["version"] == 2


async def test_select_refuses_a_closed_deal_and_another_dealerships_decision(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    deal_id, scenario_id = await factory.deal_with_scenario(a)
    request = await _requested(client, a, scenario_id)
    decision = (await _record(client, a, request["id"], await factory.lender(a)))["decision"]

    async def lose(session: AsyncSession) -> None:
        from sqlalchemy import text

        await session.execute(
            text("UPDATE deals SET status = 'lost' WHERE id = :id"), {"id": deal_id}
        )

    await factory.run(a.dealership_id, lose)
    closed = await _select(client, a, decision["id"])
    assert (closed["code"], closed["field"]) == ("DEAL_NOT_EDITABLE", ["input", "decisionId"])

    cross = await _select(client, b, decision["id"])
    assert (cross["__typename"], cross["field"]) == (
        "MultiTenantViolationError",
        ["input", "decisionId"],
    )
    assert (
        await scalar(
            engine,
            a.dealership_id,
            "SELECT selected_decision_id FROM deals WHERE id = :id",
            id=deal_id,
        )
        is None
    )


async def test_rate_requests_and_approved_lenders_of_a_deal(
    client: GraphQLClient, factory: Factory, app: Starlette
) -> None:
    tenant = await factory.tenant()
    deal_id, scenario_id = await factory.deal_with_scenario(tenant)
    other_deal, other_scenario = await factory.deal_with_scenario(tenant)
    first = await _requested(client, tenant, scenario_id, creditScore=700)
    second = await _requested(client, tenant, scenario_id, creditScore=710)
    await _requested(client, tenant, other_scenario)
    lenders = {name: await factory.lender(tenant, name=name) for name in ("A", "B", "C", "D")}
    await _record(client, tenant, first["id"], lenders["A"], apr="8.49", buyRate="6.49")
    await _record(client, tenant, first["id"], lenders["B"], decision="DECLINED")
    await _record(client, tenant, second["id"], lenders["C"], decision="CONDITIONAL", apr="6.99")
    await _record(client, tenant, second["id"], lenders["D"], decision="COUNTER_OFFER", apr="7.49")

    query = """query($d: ID!) {
      rateRequests(dealId: $d) { id creditScore decisions { decision lender { name } } }
      approvedLenders(dealId: $d) { decision apr lender { name } rateRequest { creditScore } }
    }"""
    with count_statements(app.state.dealerdesk.engine.sync_engine) as log:
        data = await client.data(query, {"d": _gid("Deal", deal_id)}, token=tenant.token)
    assert [r["id"] for r in data["rateRequests"]] == [second["id"], first["id"]]
    assert data["rateRequests"][1]["decisions"] == [
        {"decision": "APPROVED", "lender": {"name": "A"}},
        {"decision": "DECLINED", "lender": {"name": "B"}},
    ]
    assert [(d["lender"]["name"], d["apr"]) for d in data["approvedLenders"]] == [
        ("C", "6.9900"),
        ("D", "7.4900"),
        ("A", "8.4900"),
    ]
    assert data["approvedLenders"][0]["rateRequest"] == {"creditScore": 710}
    # No statement per row: the two lists, then one batch per relation and depth (the
    # decisions; the requests; the lenders of approvedLenders, and those a level deeper).
    assert len(log.data_statements) == 6, log.data_statements
    assert sum("FROM lenders" in s.replace('"', "") for s in log.data_statements) == 2
    assert other_deal != deal_id

    bad = await client.execute(query, {"d": "nonsense"}, token=tenant.token)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_the_requester_is_the_signed_in_user(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    _, scenario_id = await factory.deal_with_scenario(tenant)
    payload = {"scenarioId": _gid("DealScenario", scenario_id), "creditScore": 640}
    data = await client.data(CREATE, {"input": payload}, token=tenant.tokens[Role.FINANCE_MANAGER])
    requested_by = data["createRateRequest"]["rateRequest"]["requestedBy"]
    assert requested_by == {"email": f"finance_manager.{tenant.code}@example.com"}


async def test_concurrent_decisions_of_one_lender_let_exactly_one_in(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    _, scenario_id = await factory.deal_with_scenario(tenant)
    request = await _requested(client, tenant, scenario_id)
    lender_id = await factory.lender(tenant)
    results = await asyncio.gather(
        *(_record(client, tenant, request["id"], lender_id, apr=f"7.{n}9") for n in range(5))
    )
    outcomes = sorted(str(r.get("code", r["__typename"])) for r in results)
    assert outcomes == ["DECISION_EXISTS"] * 4 + ["RecordLenderDecisionSuccess"]
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM lender_decisions") == 1
