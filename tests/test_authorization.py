"""Roles and permissions, enforced: each root field's action, node() by type, sensitive fields,
a salesperson kept to their own deals by row-level security, rules that depend on the row,
and every denial in the security audit log."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.utils.str_converters import to_camel_case

from db.models.enums import Role
from db.storage.permissions import ACTIONS, DEFAULT_ROLE_PERMISSIONS
from db.tenant import TenantDB
from resolvers.nodes import NODE_ACTIONS, NODE_LOADERS
from resolvers.permissions import Public, Requires, Sensitive
from schema.relay import to_global_id
from schema.root import schema
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import pk, rows, scalar


def gid(type_name: str, key: int) -> str:
    return to_global_id(type_name, key)


async def denials(engine: AsyncEngine, tenant: Tenant) -> list[dict[str, object]]:
    return await rows(
        engine,
        tenant.dealership_id,
        "SELECT * FROM security_audit_logs WHERE event = 'authz.denied' ORDER BY id",
    )


async def deal_version(engine: AsyncEngine, tenant: Tenant, deal_id: int) -> int:
    version = await scalar(
        engine, tenant.dealership_id, "SELECT version FROM deals WHERE id = :id", id=deal_id
    )
    assert isinstance(version, int)
    return version


# --- the catalogue and the schema ------------------------------------------------------------


def _root_fields() -> dict[str, list[object]]:
    found: dict[str, list[object]] = {}
    for root in ("Query", "Mutation"):
        for field in schema.schema_converter.type_map[root].definition.fields:
            name = field.graphql_name or to_camel_case(field.python_name)
            found[f"{root}.{name}"] = list(field.extensions)
    return found


def test_every_root_field_declares_exactly_one_action() -> None:
    public = set()
    for name, extensions in _root_fields().items():
        declared = [e for e in extensions if isinstance(e, Requires)]
        assert len(declared) == 1, name
        if isinstance(declared[0], Public):
            public.add(name)
        else:
            assert declared[0].action in ACTIONS, name
    # Signing in, out, and setting a password with an e-mailed token: nothing else is open.
    assert public == {
        "Mutation.login",
        "Mutation.refreshToken",
        "Mutation.logout",
        "Mutation.resetPassword",
    }


def test_every_node_type_has_a_read_action() -> None:
    assert set(NODE_ACTIONS) == set(NODE_LOADERS)
    assert set(NODE_ACTIONS.values()) <= set(ACTIONS)


def test_sensitive_fields_are_one_mechanism() -> None:
    """Cost, gross, reserve (and the buy rate that gives the reserve away) and customers'
    credit data all carry the same extension, and are nullable."""
    marked = set()
    for name, kind in schema.schema_converter.type_map.items():
        definition = getattr(kind, "definition", None)
        for field in getattr(definition, "fields", []):
            if any(isinstance(e, Sensitive) for e in field.extensions):
                marked.add(f"{name}.{field.graphql_name or field.python_name}")
    assert marked == {
        "Vehicle.cost",
        "InventorySummary.total_cost",
        "InventoryStatusSummary.total_cost",
        "LenderDecision.buy_rate",
        "LenderDecision.dealer_reserve",
        "DealScenario.gross_profit",
        "Deal.gross_profit",
        "Customer.date_of_birth",
        "Customer.drivers_license_number",
        "Customer.drivers_license_state",
        "Customer.ssn_last4",
        "Customer.monthly_income",
    }  # Python names: GraphQL's are camelCase (cost, totalCost, buyRate, ...)


@pytest.mark.parametrize(
    ("field", "action"),
    [
        ("approveDeal", "deal.approve"),
        ("contractDeal", "deal.approve"),
        ("deliverDeal", "deal.approve"),
        ("unwindDeal", "deal.unwind"),
        ("changeDealSalesperson", "deal.assign"),
        ("updateRolePermissions", "permission.manage"),
        ("inviteUser", "user.manage"),
        ("changeUserRole", "user.manage"),
        ("deactivateUser", "user.manage"),
        ("updateDealershipSettings", "settings.manage"),
    ],
)
def test_the_rules_of_the_issue(field: str, action: str) -> None:
    (declared,) = [e for e in _root_fields()[f"Mutation.{field}"] if isinstance(e, Requires)]
    assert declared.action == action


def test_who_may_do_what_by_default() -> None:
    may = DEFAULT_ROLE_PERMISSIONS
    managers = {Role.SALES_MANAGER, Role.FINANCE_MANAGER}
    assert {r for r in Role if "deal.approve" in may[r]} == managers | {Role.ADMIN}
    assert {r for r in Role if "deal.unwind" in may[r]} == {Role.SALES_MANAGER, Role.ADMIN}
    assert {r for r in Role if "deal.view_gross" in may[r]} == managers | {Role.ADMIN}
    assert {r for r in Role if "permission.manage" in may[r]} == {Role.SALES_MANAGER, Role.ADMIN}
    assert {r for r in Role if "user.manage" in may[r]} == {Role.ADMIN}
    assert not {a for a in may[Role.READ_ONLY] if not a.endswith(".read")}


# --- each role, allowed and denied -----------------------------------------------------------

CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { __typename ... on Error { message code } }
}"""
APPROVE = """
mutation($input: DealTransitionInput!) {
  approveDeal(input: $input) { __typename ... on ApproveDealSuccess { deal { status } }
                               ... on Error { message code field } }
}"""
SUBMIT = """
mutation($input: DealTransitionInput!) {
  submitDealForApproval(input: $input) { __typename ... on Error { code } }
}"""
CANCEL = """
mutation($input: CloseDealInput!) {
  cancelDeal(input: $input) { __typename ... on CancelDealSuccess { deal { status } }
                              ... on Error { message code field } }
}"""
UNWIND = """
mutation($input: CloseDealInput!) {
  unwindDeal(input: $input) { __typename ... on Error { code } }
}"""
INVITE = """
mutation($input: InviteUserInput!) {
  inviteUser(input: $input) { __typename ... on Error { code } }
}"""
PERMISSIONS = """
mutation($input: UpdateRolePermissionsInput!) {
  updateRolePermissions(input: $input) {
    __typename
    ... on UpdateRolePermissionsSuccess { rolePermissions { role actions } }
    ... on Error { message code field }
  }
}"""


async def test_a_denied_mutation_answers_with_its_error_and_is_audited(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal = await factory.deal(tenant, status="pending_approval")
    version = await deal_version(engine, tenant, deal)
    response = await client.post(
        APPROVE,
        {"input": {"id": gid("Deal", deal), "version": version}},
        token=tenant.tokens[Role.SALESPERSON],
        headers={"user-agent": "desk-app/2.0", "x-request-id": "approve-1"},
    )
    result = response.json()["data"]["approveDeal"]
    assert result == {
        "__typename": "PermissionDeniedError",
        "message": "your role (salesperson) may not do this (deal.approve)",
        "code": "FORBIDDEN",
        "field": None,
    }
    assert await deal_version(engine, tenant, deal) == version  # nothing ran
    (denial,) = await denials(engine, tenant)
    assert denial["user_id"] == tenant.users[Role.SALESPERSON]
    assert denial["outcome"] == "denied"
    assert denial["details"] == {
        "action": "deal.approve",
        "field": "Mutation.approveDeal",
        "role": "salesperson",
    }
    assert (denial["request_id"], denial["user_agent"]) == ("approve-1", "desk-app/2.0")
    assert str(denial["client_ip"]) == "127.0.0.1"

    # A manager may.
    approved = await client.data(
        APPROVE, {"input": {"id": gid("Deal", deal), "version": version}}, token=tenant.token
    )
    assert approved["approveDeal"]["deal"]["status"] == "APPROVED"


async def test_a_denied_query_is_a_forbidden_error(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    result = await client.execute(
        "{ auditLogs(first: 1) { totalCount } viewer { role } }",
        token=tenant.tokens[Role.SALESPERSON],
    )
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["path"] == ["auditLogs"]
    assert "audit.read" in error["message"]
    assert result["data"] is None  # auditLogs is non-null: the error takes the whole data
    (denial,) = await denials(engine, tenant)
    assert denial["details"]["field"] == "Query.auditLogs"  # type: ignore[index]


async def test_read_only_reads_but_cannot_write(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    await factory.deal(tenant)
    token = tenant.tokens[Role.READ_ONLY]
    reads = await client.data(
        "{ customers(first: 5) { totalCount } deals(first: 5) { totalCount }"
        "  vehicles(first: 5) { totalCount } users(first: 5) { totalCount } }",
        token=token,
    )
    assert reads["deals"]["totalCount"] == 1
    written = await client.data(
        CREATE_CUSTOMER, {"input": {"firstName": "Ann", "lastName": "Lee"}}, token=token
    )
    assert written["createCustomer"]["__typename"] == "PermissionDeniedError"
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM customers") == 1
    refused = await client.execute("{ securityAuditLogs(first: 1) { totalCount } }", token=token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert [d["details"]["action"] for d in await denials(engine, tenant)] == [  # type: ignore[index]
        "customer.write",
        "security_audit.read",
    ]


async def test_only_admins_manage_users(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    invite = {"email": f"new.{tenant.code}@example.com", "firstName": "N", "lastName": "U"}
    for role in (Role.SALES_MANAGER, Role.FINANCE_MANAGER, Role.SALESPERSON, Role.READ_ONLY):
        result = await client.data(
            INVITE, {"input": {**invite, "role": "SALESPERSON"}}, token=tenant.tokens[role]
        )
        assert result["inviteUser"]["__typename"] == "PermissionDeniedError", role
    done = await client.data(
        INVITE, {"input": {**invite, "role": "SALESPERSON"}}, token=tenant.tokens[Role.ADMIN]
    )
    assert done["inviteUser"]["__typename"] == "InviteUserSuccess"


async def test_only_managers_edit_permissions_and_never_beyond_their_own(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    wanted = sorted(DEFAULT_ROLE_PERMISSIONS[Role.SALESPERSON] - {"quote.write"})
    change = {"input": {"role": "SALESPERSON", "actions": wanted}}
    for role in (Role.FINANCE_MANAGER, Role.SALESPERSON, Role.READ_ONLY):
        refused = await client.data(PERMISSIONS, change, token=tenant.tokens[role])
        assert refused["updateRolePermissions"]["__typename"] == "PermissionDeniedError", role
    done = await client.data(PERMISSIONS, change, token=tenant.token)  # a sales manager
    assert done["updateRolePermissions"]["__typename"] == "UpdateRolePermissionsSuccess"

    # No escalation: a sales manager cannot grant what it lacks, nor touch the admins.
    grab = {"input": {"role": "SALES_MANAGER", "actions": [*ACTIONS]}}
    grabbed = (await client.data(PERMISSIONS, grab, token=tenant.token))["updateRolePermissions"]
    assert (grabbed["__typename"], grabbed["code"]) == ("PermissionDeniedError", "FORBIDDEN")
    assert grabbed["field"] == ["input", "actions", str(list(ACTIONS).index("user.manage"))]
    admins = {"input": {"role": "ADMIN", "actions": ["permission.manage"]}}
    touched = (await client.data(PERMISSIONS, admins, token=tenant.token))["updateRolePermissions"]
    assert (touched["__typename"], touched["field"]) == ("PermissionDeniedError", ["input", "role"])
    granted = await scalar(
        engine,
        tenant.dealership_id,
        "SELECT count(*) FROM permissions WHERE role = 'sales_manager' AND action = 'user.manage'",
    )
    assert granted == 0
    reasons = [d["details"].get("reason") for d in await denials(engine, tenant)]  # type: ignore[union-attr]
    assert "you cannot grant user.manage: your own role does not have it" in reasons
    assert "only admins change what admins may do" in reasons


async def test_a_permission_change_takes_effect_on_the_next_request(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    token = tenant.tokens[Role.SALESPERSON]
    query = "{ customers(first: 1) { totalCount } }"
    assert "errors" not in await client.execute(query, token=token)
    actions = sorted(DEFAULT_ROLE_PERMISSIONS[Role.SALESPERSON] - {"customer.read"})
    await client.data(
        PERMISSIONS, {"input": {"role": "SALESPERSON", "actions": actions}}, token=tenant.token
    )
    refused = await client.execute(query, token=token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_unwinding_is_for_sales_management(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal = await factory.deal(tenant, status="delivered")
    body = {"id": gid("Deal", deal), "version": 1, "reason": "customer changed their mind"}
    for role in (Role.FINANCE_MANAGER, Role.SALESPERSON):
        result = await client.data(UNWIND, {"input": body}, token=tenant.tokens[role])
        assert result["unwindDeal"]["__typename"] == "PermissionDeniedError", role
    done = await client.data(UNWIND, {"input": body}, token=tenant.token)
    assert done["unwindDeal"]["__typename"] == "UnwindDealSuccess"


async def test_only_managers_close_a_deal_past_approval(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    salesperson = tenant.tokens[Role.SALESPERSON]
    # Before approval the salesperson may cancel their deal...
    open_deal = await factory.deal(tenant)
    body = {"id": gid("Deal", open_deal), "version": 1, "reason": "bought elsewhere"}
    done = await client.data(CANCEL, {"input": body}, token=salesperson)
    assert done["cancelDeal"]["deal"]["status"] == "CANCELLED"
    # ...but an approved one only a manager may.
    approved = await factory.deal(tenant, status="approved")
    body = {"id": gid("Deal", approved), "version": 1, "reason": "bought elsewhere"}
    refused = (await client.data(CANCEL, {"input": body}, token=salesperson))["cancelDeal"]
    assert (refused["__typename"], refused["field"]) == ("PermissionDeniedError", ["input", "id"])
    assert "only a manager (deal.approve)" in refused["message"]
    status = await scalar(
        engine, tenant.dealership_id, "SELECT status FROM deals WHERE id = :id", id=approved
    )
    assert status == "approved"
    (denial,) = await denials(engine, tenant)
    assert denial["details"]["action"] == "deal.write"  # type: ignore[index]
    assert denial["details"]["field"] == "Mutation.cancelDeal"  # type: ignore[index]
    managed = await client.data(CANCEL, {"input": body}, token=tenant.token)
    assert managed["cancelDeal"]["deal"]["status"] == "CANCELLED"


# --- a salesperson's own deals -----------------------------------------------------------------

DEAL_FIELDS = "id dealNumber salesperson { id }"


async def test_a_salesperson_sees_only_their_own_deals(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    colleague = await factory.staff(tenant)
    customer = await factory.customer(tenant)
    mine = await factory.deal(tenant, customer_id=customer, trade_vehicles=1)
    theirs = await factory.deal(
        tenant, customer_id=customer, salesperson_id=colleague, trade_vehicles=1
    )
    token = tenant.tokens[Role.SALESPERSON]
    listed = await client.data(
        f"{{ deals(first: 10) {{ totalCount nodes {{ {DEAL_FIELDS} }} }} }}", token=token
    )
    assert listed["deals"]["totalCount"] == 1
    assert [pk(n["id"]) for n in listed["deals"]["nodes"]] == [mine]

    their_number = await scalar(
        engine, tenant.dealership_id, "SELECT deal_number FROM deals WHERE id = :id", id=theirs
    )
    their_scenario = await scalar(
        engine,
        tenant.dealership_id,
        "SELECT id FROM deal_scenarios WHERE deal_id = :id LIMIT 1",
        id=theirs,
    )
    their_trade = await scalar(
        engine, tenant.dealership_id, "SELECT id FROM trade_vehicles WHERE deal_id = :id", id=theirs
    )
    assert isinstance(their_scenario, int)
    assert isinstance(their_trade, int)
    looked_up = await client.data(
        """query($deal: ID!, $number: String!, $scenario: ID!, $trade: ID!) {
             deal(id: $deal) { id }
             dealByNumber(dealNumber: $number) { id }
             dealScenario(id: $scenario) { id }
             tradeVehicle(id: $trade) { id }
             node(id: $deal) { id }
           }""",
        {
            "deal": gid("Deal", theirs),
            "number": their_number,
            "scenario": gid("DealScenario", their_scenario),
            "trade": gid("TradeVehicle", their_trade),
        },
        token=token,
    )
    assert set(looked_up.values()) == {None}
    # Through the customer, too: only the salesperson's own deal.
    via_customer = await client.data(
        "query($id: ID!) { customer(id: $id) { deals { id } } }",
        {"id": gid("Customer", customer)},
        token=token,
    )
    assert via_customer["customer"]["deals"] == [{"id": gid("Deal", mine)}]

    # A manager sees both.
    managed = await client.data("{ deals(first: 10) { totalCount } }", token=tenant.token)
    assert managed["deals"]["totalCount"] == 2


async def test_a_salesperson_cannot_change_another_salespersons_deal(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    colleague = await factory.staff(tenant)
    theirs = await factory.deal(tenant, salesperson_id=colleague)
    token = tenant.tokens[Role.SALESPERSON]
    result = (
        await client.data(
            """mutation($input: UpdateDealInput!) {
                 updateDeal(input: $input) { __typename ... on Error { message code field } }
               }""",
            {"input": {"id": gid("Deal", theirs), "version": 1, "notes": "mine now"}},
            token=token,
        )
    )["updateDeal"]
    # Their deal is in the same dealership: a refused permission, not a cross-tenant attempt.
    assert (result["__typename"], result["field"]) == ("PermissionDeniedError", ["input", "id"])
    assert (
        await scalar(
            engine, tenant.dealership_id, "SELECT notes FROM deals WHERE id = :id", id=theirs
        )
        is None
    )
    (denial,) = await denials(engine, tenant)
    assert denial["details"]["field"] == "Mutation.updateDeal"  # type: ignore[index]
    assert denial["details"]["input"] == "input.id"  # type: ignore[index]
    crossed = await rows(
        engine,
        tenant.dealership_id,
        "SELECT * FROM security_audit_logs WHERE event = 'tenant.cross_tenant_write'",
    )
    assert crossed == []
    submitted = await client.data(
        SUBMIT, {"input": {"id": gid("Deal", theirs), "version": 1}}, token=token
    )
    assert submitted["submitDealForApproval"]["__typename"] == "PermissionDeniedError"


async def test_a_salesperson_opens_deals_for_themselves(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    colleague = await factory.staff(tenant)
    create = """
    mutation($input: CreateDealInput!) {
      createDeal(input: $input) {
        __typename
        ... on CreateDealSuccess { deal { salesperson { id } } }
        ... on Error { message code field }
      }
    }"""
    token = tenant.tokens[Role.SALESPERSON]
    customer = gid("Customer", await factory.customer(tenant))
    own = await client.data(
        create,
        {
            "input": {
                "vehicleId": gid("Vehicle", await factory.vehicle(tenant)),
                "customerId": customer,
            }
        },
        token=token,
    )
    assert own["createDeal"]["deal"]["salesperson"]["id"] == gid(
        "User", tenant.users[Role.SALESPERSON]
    )
    before = await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM deals")
    for_someone_else = (
        await client.data(
            create,
            {
                "input": {
                    "vehicleId": gid("Vehicle", await factory.vehicle(tenant)),
                    "customerId": customer,
                    "salespersonId": gid("User", colleague),
                }
            },
            token=token,
        )
    )["createDeal"]
    assert (for_someone_else["__typename"], for_someone_else["field"]) == (
        "PermissionDeniedError",
        ["input", "salespersonId"],
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM deals") == before
    # A manager hands deals to others.
    assigned = await client.data(
        create,
        {
            "input": {
                "vehicleId": gid("Vehicle", await factory.vehicle(tenant)),
                "customerId": customer,
                "salespersonId": gid("User", colleague),
            }
        },
        token=tenant.token,
    )
    assert assigned["createDeal"]["deal"]["salesperson"]["id"] == gid("User", colleague)


async def test_row_level_security_itself_keeps_a_salesperson_to_their_deals(
    factory: Factory, engine: AsyncEngine
) -> None:
    """Below the API: the database refuses, whatever the application code does."""
    tenant = await factory.tenant()
    colleague = await factory.staff(tenant)
    mine = await factory.deal(tenant)
    theirs = await factory.deal(tenant, salesperson_id=colleague)
    me = tenant.users[Role.SALESPERSON]
    db = TenantDB(engine, tenant.dealership_id, user_id=me, role="salesperson")
    try:
        async with db.session() as session:
            seen = (await session.execute(text("SELECT id FROM deals ORDER BY id"))).scalars().all()
            scenarios = (
                (await session.execute(text("SELECT DISTINCT deal_id FROM deal_scenarios")))
                .scalars()
                .all()
            )
        assert list(seen) == [mine]
        assert list(scenarios) == [mine]

        async def steal(session: object) -> None:
            await session.execute(  # type: ignore[attr-defined]
                text("UPDATE deals SET salesperson_id = :other WHERE id = :id"),
                {"other": colleague, "id": mine},
            )

        from db.errors import PermissionDenied

        with pytest.raises(PermissionDenied):
            await db.transaction(steal)  # WITH CHECK: not handing their deal away either

        async def touch_theirs(session: object) -> int:
            result = await session.execute(  # type: ignore[attr-defined]
                text("UPDATE deals SET notes = 'x' WHERE id = :id"), {"id": theirs}
            )
            return int(result.rowcount)

        assert await db.transaction(touch_theirs) == 0
    finally:
        await db.close()
    # Without the salesperson role, the same session sees both.
    everyone = await rows(engine, tenant.dealership_id, "SELECT id FROM deals")
    assert len(everyone) == 2


async def test_a_customer_with_deals_the_salesperson_cannot_see_is_not_deleted(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    colleague = await factory.staff(tenant)
    customer = await factory.customer(tenant)
    await factory.deal(tenant, customer_id=customer, salesperson_id=colleague)
    result = await client.data(
        """mutation($input: DeleteCustomerInput!) {
             deleteCustomer(input: $input) { __typename ... on Error { code } }
           }""",
        {"input": {"id": gid("Customer", customer), "version": 1}},
        token=tenant.tokens[Role.SALESPERSON],
    )
    assert result["deleteCustomer"] == {
        "__typename": "ValidationError",
        "code": "CUSTOMER_HAS_HISTORY",
    }
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM customers") == 1


# --- cost, gross and reserve -----------------------------------------------------------------

SENSITIVE = """
query($deal: ID!) {
  deal(id: $deal) {
    grossProfit
    vehicle { cost listPrice }
    activeScenario { vehiclePrice grossProfit }
    rateRequests { decisions { apr buyRate dealerReserve } }
  }
  inventorySummary { totalCost totalListPrice byStatus { status totalCost } }
}"""


async def _deal_with_decision(client: GraphQLClient, factory: Factory, tenant: Tenant) -> int:
    vehicle = await factory.vehicle(
        tenant, cost=Decimal("18000.00"), list_price=Decimal("21995.00")
    )
    deal = await factory.deal(tenant, vehicle_id=vehicle)
    scenario = await scalar(
        factory.engine,
        tenant.dealership_id,
        "SELECT active_scenario_id FROM deals WHERE id = :id",
        id=deal,
    )
    assert isinstance(scenario, int)
    lender = await factory.lender(tenant)
    requested = await client.data(
        """mutation($input: CreateRateRequestInput!) {
             createRateRequest(input: $input) {
               ... on CreateRateRequestSuccess { rateRequest { id } }
               ... on Error { message }
             }
           }""",
        {"input": {"scenarioId": gid("DealScenario", scenario), "creditScore": 720}},
        token=tenant.token,
    )
    request_id = requested["createRateRequest"]["rateRequest"]["id"]
    decided = await client.data(
        """mutation($input: RecordLenderDecisionInput!) {
             recordLenderDecision(input: $input) { __typename ... on Error { message } }
           }""",
        {
            "input": {
                "rateRequestId": request_id,
                "lenderId": gid("Lender", lender),
                "decision": "APPROVED",
                "approvedAmount": "20000.00",
                "apr": "7.99",
                "buyRate": "5.99",
                "termMonths": 72,
            }
        },
        token=tenant.token,
    )
    assert decided["recordLenderDecision"]["__typename"] == "RecordLenderDecisionSuccess", decided
    return deal


async def test_cost_gross_and_reserve_are_for_managers(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal = await _deal_with_decision(client, factory, tenant)
    variables = {"deal": gid("Deal", deal)}

    managed = await client.data(SENSITIVE, variables, token=tenant.tokens[Role.FINANCE_MANAGER])
    seen = managed["deal"]
    assert seen["vehicle"] == {"cost": "18000.00", "listPrice": "21995.00"}
    assert seen["activeScenario"]["grossProfit"] == "3995.00"  # 21995 - 18000
    assert seen["grossProfit"] == "3995.00"
    (decision,) = seen["rateRequests"][0]["decisions"]
    assert decision["buyRate"] == "5.9900"
    assert Decimal(decision["dealerReserve"]) > 0
    assert managed["inventorySummary"]["totalCost"] == "18000.00"

    hidden = await client.data(SENSITIVE, variables, token=tenant.tokens[Role.SALESPERSON])
    own = hidden["deal"]  # the salesperson's own deal: visible, its money hidden
    assert own["vehicle"] == {"cost": None, "listPrice": "21995.00"}
    assert own["grossProfit"] is None
    assert own["activeScenario"] == {"vehiclePrice": "21995.00", "grossProfit": None}
    (decision,) = own["rateRequests"][0]["decisions"]
    assert decision == {"apr": "7.9900", "buyRate": None, "dealerReserve": None}
    assert hidden["inventorySummary"]["totalCost"] is None
    assert {s["totalCost"] for s in hidden["inventorySummary"]["byStatus"]} == {None}
    read_only = await client.data(SENSITIVE, variables, token=tenant.tokens[Role.READ_ONLY])
    assert read_only["deal"]["vehicle"]["cost"] is None

    # Each hidden field is filed once per request.
    fields = sorted(
        d["details"]["field"]  # type: ignore[index]
        for d in await denials(engine, tenant)
        if d["user_id"] == tenant.users[Role.SALESPERSON]
    )
    assert fields == sorted(
        [
            "Deal.grossProfit",
            "Vehicle.cost",
            "DealScenario.grossProfit",
            "LenderDecision.buyRate",
            "LenderDecision.dealerReserve",
            "InventorySummary.totalCost",
            "InventoryStatusSummary.totalCost",
        ]
    )


# --- node(id:) -------------------------------------------------------------------------------


async def test_node_applies_the_read_action_of_the_type(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    await client.data(
        CREATE_CUSTOMER, {"input": {"firstName": "Ann", "lastName": "Lee"}}, token=tenant.token
    )
    audit_id = await scalar(engine, tenant.dealership_id, "SELECT id FROM audit_logs LIMIT 1")
    assert isinstance(audit_id, int)
    ids = [gid("AuditLog", audit_id), gid("User", tenant.users[Role.ADMIN])]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
    managed = await client.data(query, {"ids": ids}, token=tenant.token)
    assert [n["__typename"] for n in managed["nodes"]] == ["AuditLog", "User"]

    read_only = await client.data(query, {"ids": ids}, token=tenant.tokens[Role.READ_ONLY])
    assert read_only["nodes"] == [None, {"__typename": "User", "id": ids[1]}]
    (denial,) = await denials(engine, tenant)
    assert denial["details"] == {
        "action": "audit.read",
        "field": "Query.nodes",
        "role": "read_only",
        "type": "AuditLog",
    }
