"""Every lifecycle transition, legal and illegal, and the vehicle's status after each."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models.enums import DealStatus, Role, VehicleStatus
from db.storage.deal_lifecycle import RULES, Transition
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import pk, rows, scalar
from tests.test_create_deal import create, deal_input, gid

MUTATIONS = {
    Transition.SUBMIT_FOR_APPROVAL: ("submitDealForApproval", "DealTransitionInput"),
    Transition.APPROVE: ("approveDeal", "DealTransitionInput"),
    Transition.CONTRACT: ("contractDeal", "DealTransitionInput"),
    Transition.DELIVER: ("deliverDeal", "DealTransitionInput"),
    Transition.MARK_LOST: ("markDealLost", "CloseDealInput"),
    Transition.CANCEL: ("cancelDeal", "CloseDealInput"),
    Transition.UNWIND: ("unwindDeal", "CloseDealInput"),
    Transition.REOPEN: ("reopenDeal", "DealTransitionInput"),
}
# Where the vehicle stands while a deal is in each status (the database's own invariant).
VEHICLE_FOR = {
    DealStatus.OPEN: VehicleStatus.PENDING,
    DealStatus.PENDING_APPROVAL: VehicleStatus.PENDING,
    DealStatus.APPROVED: VehicleStatus.PENDING,
    DealStatus.CONTRACTED: VehicleStatus.PENDING,
    DealStatus.DELIVERED: VehicleStatus.SOLD,
    DealStatus.LOST: VehicleStatus.AVAILABLE,
    DealStatus.CANCELLED: VehicleStatus.AVAILABLE,
    DealStatus.UNWOUND: VehicleStatus.AVAILABLE,
}


async def move(
    client: GraphQLClient,
    tenant: Tenant,
    change: Transition,
    deal_id: str,
    version: int,
    reason: str | None = "Bought elsewhere",
) -> dict[str, object]:
    name, input_type = MUTATIONS[change]
    body: dict[str, object] = {"id": deal_id, "version": version}
    if input_type == "CloseDealInput":
        body["reason"] = reason
    query = f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
      __typename
      ... on {name[0].upper() + name[1:]}Success {{
        deal {{ status version closedAt contractedAt deliveredAt lostReason
                vehicle {{ status }} }} }}
      ... on IllegalStatusTransitionError {{ currentStatus requestedStatus }}
      ... on VehicleNotAvailableError {{ vehicleStatus }}
      ... on VersionConflictError {{ currentVersion }}
      ... on Error {{ message code field }} }} }}"""
    data = await client.data(query, {"input": body}, token=tenant.tokens[Role.ADMIN])
    result = data[name]
    assert isinstance(result, dict)
    return result


@pytest.fixture
async def cash_deal(client: GraphQLClient, factory: Factory) -> tuple[Tenant, str, int]:
    tenant = await factory.tenant()
    vehicle = await factory.vehicle(tenant)
    result = await create(client, tenant, deal_input(tenant, vehicle, scenario={"type": "CASH"}))
    assert result["__typename"] == "CreateDealSuccess", result
    return tenant, str(result["deal"]["id"]), vehicle


async def test_the_whole_life_of_a_cash_deal(
    client: GraphQLClient, cash_deal: tuple[Tenant, str, int], engine: AsyncEngine
) -> None:
    tenant, deal_id, vehicle = cash_deal
    version = 1
    for change, status, vehicle_status in (
        (Transition.SUBMIT_FOR_APPROVAL, "PENDING_APPROVAL", "PENDING"),
        (Transition.APPROVE, "APPROVED", "PENDING"),
        (Transition.CONTRACT, "CONTRACTED", "PENDING"),
        (Transition.DELIVER, "DELIVERED", "SOLD"),
        (Transition.UNWIND, "UNWOUND", "AVAILABLE"),
    ):
        result = await move(client, tenant, change, deal_id, version)
        assert result["__typename"].endswith("Success"), (change, result)
        deal = result["deal"]
        version += 1
        assert (deal["status"], deal["vehicle"]["status"], deal["version"]) == (
            status,
            vehicle_status,
            version,
        )
    assert deal["contractedAt"]
    assert deal["deliveredAt"]
    assert deal["closedAt"]
    assert deal["lostReason"] == "Bought elsewhere"
    audit = await rows(
        engine, tenant.dealership_id, "SELECT action, changes FROM audit_logs ORDER BY id"
    )
    assert [a["action"] for a in audit] == [
        "deal.create",
        "deal.submit_for_approval",
        "deal.approve",
        "deal.contract",
        "deal.deliver",
        "deal.unwind",
    ]
    assert audit[4]["changes"]["vehicle_status"] == {"before": "pending", "after": "sold"}
    assert (
        await scalar(
            engine, tenant.dealership_id, "SELECT status FROM vehicles WHERE id = :v", v=vehicle
        )
        == "available"
    )


@pytest.mark.parametrize("change", list(Transition))
@pytest.mark.parametrize("status", list(DealStatus))
async def test_every_transition_from_every_status(
    client: GraphQLClient,
    cash_deal: tuple[Tenant, str, int],
    engine: AsyncEngine,
    factory: Factory,
    status: DealStatus,
    change: Transition,
) -> None:
    tenant, deal_id, vehicle = cash_deal
    rule = RULES[change]

    async def put(session: object) -> None:
        await session.execute(  # type: ignore[attr-defined]
            text("UPDATE deals SET status = :s WHERE id = :d"),
            {"s": status.value, "d": pk(deal_id)},
        )
        await session.execute(  # type: ignore[attr-defined]
            text("UPDATE vehicles SET status = :s WHERE id = :v"),
            {"s": VEHICLE_FOR[status].value, "v": vehicle},
        )

    await factory.run(tenant.dealership_id, put)
    result = await move(client, tenant, change, deal_id, 1)
    if status in rule.sources:
        assert result["__typename"].endswith("Success"), result
        assert result["deal"]["status"] == rule.target.name
        assert result["deal"]["vehicle"]["status"] == VEHICLE_FOR[rule.target].name
    else:
        assert result["__typename"] == "IllegalStatusTransitionError", result
        assert result["currentStatus"] == status.name
        assert result["requestedStatus"] == rule.target.name
        assert result["code"] == "ILLEGAL_STATUS_TRANSITION"
        assert status.name in result["message"]
        assert rule.target.name in result["message"]
        after = await rows(
            engine,
            tenant.dealership_id,
            "SELECT d.status, v.status AS vehicle, d.version FROM deals d "
            "JOIN vehicles v ON v.id = d.vehicle_id WHERE d.id = :d",
            d=pk(deal_id),
        )
        assert after == [
            {"status": status.value, "vehicle": VEHICLE_FOR[status].value, "version": 1}
        ]


async def test_losing_and_cancelling_release_the_vehicle(
    client: GraphQLClient, factory: Factory
) -> None:
    for change in (Transition.MARK_LOST, Transition.CANCEL):
        tenant = await factory.tenant()
        vehicle = await factory.vehicle(tenant)
        made = await create(client, tenant, deal_input(tenant, vehicle))
        refused = await move(client, tenant, change, made["deal"]["id"], 1, reason="  ")
        assert (refused["code"], refused["field"]) == ("REQUIRED", ["input", "reason"])
        done = await move(client, tenant, change, made["deal"]["id"], 1)
        assert done["deal"]["vehicle"]["status"] == "AVAILABLE"
        again = await create(client, tenant, deal_input(tenant, vehicle))
        assert again["__typename"] == "CreateDealSuccess"


async def test_reopen_needs_the_vehicle_back(
    client: GraphQLClient, cash_deal: tuple[Tenant, str, int]
) -> None:
    tenant, deal_id, vehicle = cash_deal
    await move(client, tenant, Transition.MARK_LOST, deal_id, 1)
    taken = await create(
        client,
        tenant,
        deal_input(
            tenant, vehicle, customer={"firstName": "B", "lastName": "B", "email": "b@example.com"}
        ),
    )
    assert taken["__typename"] == "CreateDealSuccess"
    refused = await move(client, tenant, Transition.REOPEN, deal_id, 2)
    assert refused["__typename"] == "VehicleNotAvailableError"
    assert refused["vehicleStatus"] == "PENDING"
    await move(client, tenant, Transition.CANCEL, taken["deal"]["id"], 1)
    reopened = await move(client, tenant, Transition.REOPEN, deal_id, 2)
    assert reopened["deal"]["status"] == "OPEN"
    assert reopened["deal"]["vehicle"]["status"] == "PENDING"
    assert reopened["deal"]["closedAt"] is None


async def test_a_vehicle_is_never_released_while_another_live_deal_holds_it(
    client: GraphQLClient,
    cash_deal: tuple[Tenant, str, int],
    factory: Factory,
    engine: AsyncEngine,
) -> None:
    tenant, first, vehicle = cash_deal
    await move(client, tenant, Transition.MARK_LOST, first, 1)
    second = await create(
        client,
        tenant,
        deal_input(
            tenant, vehicle, customer={"firstName": "B", "lastName": "B", "email": "b@example.com"}
        ),
    )

    async def delivered(session: object) -> None:
        # The first deal delivered while the second holds the vehicle (as after an unwind
        # and a resale): unwinding it must not free the second deal's vehicle.
        await session.execute(  # type: ignore[attr-defined]
            text("UPDATE deals SET status = 'delivered' WHERE id = :d"), {"d": pk(first)}
        )

    await factory.run(tenant.dealership_id, delivered)
    unwound = await move(client, tenant, Transition.UNWIND, first, 2)
    assert unwound["deal"]["status"] == "UNWOUND"
    assert unwound["deal"]["vehicle"]["status"] == "PENDING"
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT status FROM deals WHERE id = :d",
            d=pk(second["deal"]["id"]),
        )
        == "open"
    )


async def test_contracting_a_financed_deal_needs_a_lender_decision(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    made = await create(client, tenant, deal_input(tenant, await factory.vehicle(tenant)))
    deal_id = made["deal"]["id"]
    await move(client, tenant, Transition.SUBMIT_FOR_APPROVAL, deal_id, 1)
    await move(client, tenant, Transition.APPROVE, deal_id, 2)
    refused = await move(client, tenant, Transition.CONTRACT, deal_id, 3)
    assert refused["code"] == "LENDER_DECISION_REQUIRED"


async def test_a_stale_version_is_a_conflict(
    client: GraphQLClient, cash_deal: tuple[Tenant, str, int]
) -> None:
    tenant, deal_id, _ = cash_deal
    await move(client, tenant, Transition.SUBMIT_FOR_APPROVAL, deal_id, 1)
    stale = await move(client, tenant, Transition.MARK_LOST, deal_id, 1)
    assert stale["__typename"] == "VersionConflictError"
    assert stale["currentVersion"] == 2


CHANGE = """mutation($input: ChangeDealVehicleInput!) { changeDealVehicle(input: $input) {
  __typename ... on ChangeDealVehicleSuccess { deal { version vehicle { id status } } }
  ... on VehicleNotAvailableError { vehicleStatus } ... on Error { code field } } }"""


async def test_changing_the_vehicle_releases_the_old_and_holds_the_new(
    client: GraphQLClient,
    cash_deal: tuple[Tenant, str, int],
    factory: Factory,
    engine: AsyncEngine,
) -> None:
    tenant, deal_id, old = cash_deal
    new = await factory.vehicle(tenant)
    sold = await factory.vehicle(tenant, status=VehicleStatus.SOLD)
    other = await factory.tenant()
    theirs = await factory.vehicle(other)

    refused = await client.data(
        CHANGE,
        {"input": {"id": deal_id, "version": 1, "vehicleId": gid("Vehicle", sold)}},
        token=tenant.token,
    )
    assert refused["changeDealVehicle"]["__typename"] == "VehicleNotAvailableError"
    crossed = await client.data(
        CHANGE,
        {"input": {"id": deal_id, "version": 1, "vehicleId": gid("Vehicle", theirs)}},
        token=tenant.token,
    )
    assert crossed["changeDealVehicle"]["__typename"] == "MultiTenantViolationError"
    assert (
        await scalar(
            engine, tenant.dealership_id, "SELECT status FROM vehicles WHERE id = :v", v=old
        )
        == "pending"
    )

    moved = await client.data(
        CHANGE,
        {"input": {"id": deal_id, "version": 1, "vehicleId": gid("Vehicle", new)}},
        token=tenant.token,
    )
    result = moved["changeDealVehicle"]
    assert result["__typename"] == "ChangeDealVehicleSuccess"
    assert result["deal"]["vehicle"] == {"id": gid("Vehicle", new), "status": "PENDING"}
    assert result["deal"]["version"] == 2
    assert (
        await scalar(
            engine, tenant.dealership_id, "SELECT status FROM vehicles WHERE id = :v", v=old
        )
        == "available"
    )
