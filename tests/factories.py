"""Test data made through the same tenant-bound paths as the application's own writes."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import Customer, Deal, DealScenario, Lender, User, Vehicle
from db.models.enums import DealStatus, DealType, Role, VehicleCondition
from db.seed import make_vin
from db.storage.dealerships import create_dealership
from db.tenant import TenantDB

if TYPE_CHECKING:
    from tests.conftest import GraphQLClient

_counter = itertools.count(1)


@dataclass
class Tenant:
    """A dealership made for one test, with a user of each role."""

    dealership_id: int
    code: str
    users: dict[Role, int] = field(default_factory=dict)
    tokens: dict[Role, str] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return self.tokens[Role.SALES_MANAGER]


@dataclass
class Factory:
    engine: AsyncEngine
    client: GraphQLClient

    async def tenant(self, *, time_zone: str = "America/New_York") -> Tenant:
        code = f"t-{uuid.uuid4().hex[:12]}"
        dealership_id = await create_dealership(
            self.engine, code=code, name=f"Dealership {code}", time_zone=time_zone
        )
        tenant = Tenant(dealership_id=dealership_id, code=code)

        async def work(session: AsyncSession) -> None:
            for role in Role:
                user = User(
                    dealership_id=dealership_id,
                    email=f"{role.value}.{code}@example.com",
                    first_name=role.value.replace("_", " ").title(),
                    last_name="Tester",
                    role=role,
                )
                session.add(user)
                await session.flush()
                tenant.users[role] = user.id

        await self.run(dealership_id, work)
        for role, user_id in tenant.users.items():
            tenant.tokens[role] = self.client.signer.issue(
                user_id=user_id,
                dealership_id=dealership_id,
                role=role,
                ttl=timedelta(minutes=30),
            )
        return tenant

    async def run(self, dealership_id: int, work: object) -> None:
        db = TenantDB(self.engine, dealership_id)
        try:
            await db.transaction(work)  # type: ignore[arg-type]
        finally:
            await db.close()

    async def customer(self, tenant: Tenant, **values: object) -> int:
        n = next(_counter)
        customer = Customer(
            dealership_id=tenant.dealership_id,
            first_name=str(values.pop("first_name", f"Pat{n}")),
            last_name=str(values.pop("last_name", "Buyer")),
            email=values.pop("email", f"buyer{n}.{tenant.code}@example.com"),
            phone=values.pop("phone", None),
            **values,
        )

        async def work(session: AsyncSession) -> None:
            session.add(customer)

        await self.run(tenant.dealership_id, work)
        return customer.id

    async def vehicle(self, tenant: Tenant, **values: object) -> int:
        import random

        n = next(_counter)
        vehicle = Vehicle(
            dealership_id=tenant.dealership_id,
            vin=values.pop("vin", make_vin(random.Random(n * 7919))),
            stock_number=values.pop("stock_number", f"T{n:06d}"),
            condition=values.pop("condition", VehicleCondition.USED),
            year=values.pop("year", 2022),
            make=values.pop("make", "Honda"),
            model=values.pop("model", "Civic"),
            cost=values.pop("cost", Decimal("18000.00")),
            list_price=values.pop("list_price", Decimal("21995.00")),
            **values,
        )

        async def work(session: AsyncSession) -> None:
            session.add(vehicle)

        await self.run(tenant.dealership_id, work)
        return vehicle.id

    async def deal_with_scenario(
        self,
        tenant: Tenant,
        *,
        status: DealStatus = DealStatus.OPEN,
        **scenario_values: object,
    ) -> tuple[int, int]:
        """A deal (with its own customer and vehicle) and one desking scenario, by default a
        60-month finance of $25,000 on a $30,000 price: (deal id, scenario id)."""
        customer_id = await self.customer(tenant)
        vehicle_id = await self.vehicle(tenant)
        n = next(_counter)
        deal = Deal(
            dealership_id=tenant.dealership_id,
            deal_number=f"T-{n:06d}",
            customer_id=customer_id,
            vehicle_id=vehicle_id,
            salesperson_id=tenant.users[Role.SALESPERSON],
            status=status,
        )
        values: dict[str, object] = {
            "name": "Finance 60",
            "type": DealType.FINANCE,
            "vehicle_price": Decimal("30000.00"),
            "down_payment": Decimal("3000.00"),
            "trade_allowance": Decimal("4000.00"),
            "trade_payoff": Decimal("2000.00"),
            "apr": Decimal("6.9900"),
            "term_months": 60,
            "amount_financed": Decimal("25000.00"),
            **scenario_values,
        }

        scenario = DealScenario(dealership_id=tenant.dealership_id, **values)

        async def work(session: AsyncSession) -> None:
            session.add(deal)
            await session.flush()
            scenario.deal_id = deal.id
            session.add(scenario)

        await self.run(tenant.dealership_id, work)
        return deal.id, scenario.id

    async def lender(self, tenant: Tenant, **values: object) -> int:
        n = next(_counter)
        lender = Lender(
            dealership_id=tenant.dealership_id,
            name=str(values.pop("name", f"Lender {n:04d}")),
            **values,
        )

        async def work(session: AsyncSession) -> None:
            session.add(lender)

        await self.run(tenant.dealership_id, work)
        return lender.id
