"""Test data made through the same tenant-bound paths as the application's own writes."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import Customer, Deal, DealScenario, FeeTemplate, Lender, User, Vehicle
from db.models.enums import DealStatus, DealType, FeeKind, Role, VehicleCondition
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

    async def user(self, tenant: Tenant, **values: object) -> int:
        n = next(_counter)
        user = User(
            dealership_id=tenant.dealership_id,
            email=values.pop("email", f"staff{n}.{tenant.code}@example.com"),
            first_name=values.pop("first_name", f"Staff{n}"),
            last_name=values.pop("last_name", "Member"),
            role=values.pop("role", Role.SALESPERSON),
            **values,
        )

        async def work(session: AsyncSession) -> None:
            session.add(user)

        await self.run(tenant.dealership_id, work)
        return user.id

    async def fee_template(self, tenant: Tenant, **values: object) -> int:
        n = next(_counter)
        fee = FeeTemplate(
            dealership_id=tenant.dealership_id,
            name=values.pop("name", f"Fee {n}"),
            kind=FeeKind(str(values.pop("kind", FeeKind.OTHER))),
            deal_type=DealType(str(values.pop("deal_type", DealType.FINANCE))),
            amount=values.pop("amount", Decimal("100.00")),
            **values,
        )

        async def work(session: AsyncSession) -> None:
            session.add(fee)

        await self.run(tenant.dealership_id, work)
        return fee.id

    async def staff(self, tenant: Tenant, *, active: bool = True) -> int:
        """Another salesperson of the tenant (without a token)."""
        n = next(_counter)
        user = User(
            dealership_id=tenant.dealership_id,
            email=f"staff{n}.{tenant.code}@example.com",
            first_name=f"Sam{n}",
            last_name="Staff",
            role=Role.SALESPERSON,
            is_active=active,
        )

        async def work(session: AsyncSession) -> None:
            session.add(user)

        await self.run(tenant.dealership_id, work)
        return user.id

    async def appointment(
        self,
        tenant: Tenant,
        *,
        customer_id: int,
        user_id: int,
        starts_at: object,
        minutes: int = 60,
        status: str = "scheduled",
        type: str = "test_drive",
    ) -> int:
        """An appointment written straight to the table (no overlap check)."""
        from datetime import datetime

        from db.models import Appointment
        from db.models.enums import AppointmentStatus, AppointmentType

        assert isinstance(starts_at, datetime)
        appointment = Appointment(
            dealership_id=tenant.dealership_id,
            customer_id=customer_id,
            user_id=user_id,
            type=AppointmentType(type),
            status=AppointmentStatus(status),
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
        )

        async def work(session: AsyncSession) -> None:
            session.add(appointment)

        await self.run(tenant.dealership_id, work)
        return appointment.id

    async def tax_jurisdiction(
        self, tenant: Tenant, *, rate: Decimal, trade_in_credit: bool = True, default: bool = True
    ) -> int:
        """A tax jurisdiction, made the dealership's default unless `default` is False."""
        from sqlalchemy import select

        from db.models import DealershipSettings, TaxJurisdiction

        jurisdiction = TaxJurisdiction(
            dealership_id=tenant.dealership_id,
            name=f"Jurisdiction {next(_counter)}",
            state="OH",
            rate=rate,
            trade_in_credit=trade_in_credit,
        )

        async def work(session: AsyncSession) -> None:
            session.add(jurisdiction)
            await session.flush()
            if default:
                settings = await session.scalar(select(DealershipSettings))
                assert settings is not None
                settings.default_tax_jurisdiction_id = jurisdiction.id

        await self.run(tenant.dealership_id, work)
        return jurisdiction.id

    async def deal(
        self,
        tenant: Tenant,
        *,
        customer_id: int | None = None,
        vehicle_id: int | None = None,
        salesperson_id: int | None = None,
        status: str = "open",
        scenarios: int = 1,
        trade_vehicles: int = 0,
        tax_rate: Decimal = Decimal("0"),
        **values: object,
    ) -> int:
        """A deal numbered like the app numbers them, its vehicle held (pending) while the
        deal is live, `trade_vehicles` trade-ins, and `scenarios` scenarios computed by
        db.desking (the first a 72-month finance one, made active)."""
        # Imported here so that this method's additions stay in one place of the file.
        from datetime import UTC, datetime

        from sqlalchemy import select

        from db import desking
        from db.models import Deal, DealershipSettings, DealScenario, TradeVehicle
        from db.models.deals import LIVE_DEAL_STATUSES
        from db.models.enums import DealStatus, DealType, VehicleStatus
        from db.storage.deal_numbers import local_day, next_deal_number

        deal_status = DealStatus(status)

        customer_id = customer_id or await self.customer(tenant)
        vehicle_id = vehicle_id or await self.vehicle(tenant)
        salesperson_id = salesperson_id or tenant.users[Role.SALESPERSON]
        shapes = [
            (DealType.FINANCE, 72, Decimal("6.9900"), Decimal("2000.00")),
            (DealType.FINANCE, 60, Decimal("5.4900"), Decimal("3000.00")),
            (DealType.CASH, None, None, Decimal("0.00")),
        ]
        created: list[int] = []

        async def work(session: AsyncSession) -> None:
            settings = await session.get(DealershipSettings, tenant.dealership_id)
            assert settings is not None
            vehicle = (await session.scalars(select(Vehicle).where(Vehicle.id == vehicle_id))).one()
            number = await next_deal_number(
                session,
                dealership_id=tenant.dealership_id,
                day=local_day(datetime.now(UTC), settings.time_zone),
            )
            deal = Deal(
                dealership_id=tenant.dealership_id,
                deal_number=number,
                customer_id=customer_id,
                vehicle_id=vehicle_id,
                salesperson_id=salesperson_id,
                status=deal_status,
                **values,
            )
            session.add(deal)
            await session.flush()
            if deal_status in LIVE_DEAL_STATUSES:
                vehicle.status = VehicleStatus.PENDING
            elif deal_status is DealStatus.DELIVERED:
                vehicle.status = VehicleStatus.SOLD
            allowance = payoff = Decimal("0.00")
            for i in range(trade_vehicles):
                trade = TradeVehicle(
                    dealership_id=tenant.dealership_id,
                    deal_id=deal.id,
                    customer_id=customer_id,
                    year=2015 + i,
                    make="Toyota",
                    model="Corolla",
                    mileage=90000,
                    allowance=Decimal("6000.00"),
                    payoff_amount=Decimal("1500.00"),
                )
                session.add(trade)
                allowance += trade.allowance
                payoff += trade.payoff_amount
            rows = []
            for i in range(scenarios):
                deal_type, term, apr, down = shapes[i % len(shapes)]
                figures = desking.compute(
                    desking.ScenarioTerms(
                        type=deal_type,
                        vehicle_price=vehicle.list_price,
                        down_payment=down,
                        trade_allowance=allowance,
                        trade_payoff=payoff,
                        apr=apr,
                        term_months=term,
                        tax_rate=tax_rate,
                    )
                )
                row = DealScenario(
                    dealership_id=tenant.dealership_id,
                    deal_id=deal.id,
                    name=f"{deal_type.value.title()} {term} mo" if term else "Cash",
                    type=deal_type,
                    vehicle_price=vehicle.list_price,
                    down_payment=down,
                    trade_allowance=allowance,
                    trade_payoff=payoff,
                    apr=apr,
                    term_months=term,
                    tax_rate=tax_rate,
                    tax_amount=figures.tax_amount,
                    fees=[],
                    fees_total=figures.fees_total,
                    amount_financed=figures.amount_financed,
                    monthly_payment=figures.monthly_payment,
                    total_of_payments=figures.total_of_payments,
                )
                session.add(row)
                rows.append(row)
            await session.flush()
            if rows:
                deal.active_scenario_id = rows[0].id
            created.append(deal.id)

        await self.run(tenant.dealership_id, work)
        return created[0]

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

    # --- sign-in ---------------------------------------------------------------------------

    async def password(
        self, tenant: Tenant, role: Role, password: str = "correct horse battery"
    ) -> str:
        """Give the tenant's user of `role` a password (Argon2id, as resetPassword stores it);
        returns their e-mail address."""
        from sqlalchemy import select

        from server.passwords import hash_password

        hashed = _password_hashes.get(password)
        if hashed is None:
            hashed = _password_hashes[password] = hash_password(password)
        emails: list[str] = []

        async def work(session: AsyncSession) -> None:
            user = (await session.scalars(select(User).where(User.id == tenant.users[role]))).one()
            user.password_hash = hashed
            emails.append(user.email)

        await self.run(tenant.dealership_id, work)
        return emails[0]


_password_hashes: dict[str, str] = {}
