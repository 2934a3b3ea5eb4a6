"""The demo data set: a few dealerships with staff of every role, customers, inventory, deals
with scenarios, appointments and quotes. Deterministic, so screenshots and docs stay true."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db import desking
from db.models import (
    Appointment,
    Customer,
    Deal,
    DealershipSettings,
    DealScenario,
    FeeTemplate,
    Lender,
    LenderProgram,
    QuickQuote,
    TaxJurisdiction,
    User,
    Vehicle,
)
from db.models.enums import (
    AppointmentStatus,
    AppointmentType,
    DealStatus,
    DealType,
    FeeKind,
    QuickQuoteStatus,
    Role,
    VehicleCondition,
    VehicleStatus,
)
from db.storage.deal_numbers import local_day, next_deal_number
from db.storage.dealerships import create_dealership
from db.tenant import TenantDB
from db.validation import vin_check_digit

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo credential


@dataclass(frozen=True)
class DemoDealership:
    code: str
    name: str
    domain: str
    city: str
    state: str
    time_zone: str
    tax_rate: Decimal


DEMO_DEALERSHIPS = (
    DemoDealership(
        "demo-motors",
        "Demo Motors",
        "demo.example",
        "Columbus",
        "OH",
        "America/New_York",
        Decimal("7.2500"),
    ),
    DemoDealership(
        "northside-auto",
        "Northside Auto",
        "northside.example",
        "Denver",
        "CO",
        "America/Denver",
        Decimal("8.8100"),
    ),
    DemoDealership(
        "bayview-cars",
        "Bayview Cars",
        "bayview.example",
        "Oakland",
        "CA",
        "America/Los_Angeles",
        Decimal("10.2500"),
    ),
)

STAFF = (
    ("admin", "Avery", "Admin", Role.ADMIN, "General Manager"),
    ("manager", "Morgan", "Reyes", Role.SALES_MANAGER, "Sales Manager"),
    ("finance", "Frankie", "Chen", Role.FINANCE_MANAGER, "F&I Manager"),
    ("sales", "Sam", "Patel", Role.SALESPERSON, "Sales Consultant"),
    ("sales2", "Jordan", "Kim", Role.SALESPERSON, "Sales Consultant"),
    ("sales3", "Casey", "Nguyen", Role.SALESPERSON, "Sales Consultant"),
    ("readonly", "Riley", "Brooks", Role.READ_ONLY, "Office Assistant"),
)

FIRST_NAMES = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Maria",
    "Wei",
    "Aisha",
    "Diego",
    "Priya",
    "Hiro",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
]
MODELS = [
    ("Toyota", "Camry", ["LE", "SE", "XLE"], "Sedan", 28500),
    ("Toyota", "RAV4", ["LE", "XLE", "Limited"], "SUV", 31500),
    ("Honda", "Civic", ["LX", "Sport", "EX"], "Sedan", 25000),
    ("Honda", "CR-V", ["LX", "EX", "Touring"], "SUV", 32000),
    ("Ford", "F-150", ["XL", "XLT", "Lariat"], "Truck", 42000),
    ("Ford", "Escape", ["S", "SE", "Titanium"], "SUV", 29000),
    ("Chevrolet", "Silverado 1500", ["WT", "LT", "RST"], "Truck", 41000),
    ("Chevrolet", "Equinox", ["LS", "LT", "Premier"], "SUV", 28000),
    ("Hyundai", "Tucson", ["SE", "SEL", "Limited"], "SUV", 29500),
    ("Subaru", "Outback", ["Base", "Premium", "Limited"], "Wagon", 30500),
]
COLORS = ["Black", "White", "Silver", "Gray", "Blue", "Red", "Green"]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def make_vin(rng: random.Random) -> str:
    body = "".join(rng.choice(VIN_CHARS) for _ in range(17))
    return body[:8] + vin_check_digit(body) + body[9:]


async def demo_seeded(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        found = await conn.scalar(
            text("SELECT count(*) FROM dealerdesk_find_login(:email)"),
            {"email": f"manager@{DEMO_DEALERSHIPS[0].domain}"},
        )
    return bool(found)


async def seed_demo(
    engine: AsyncEngine, *, password_hash: str | None = None
) -> list[tuple[str, Role]]:
    """Create the demo dealerships (idempotent). Returns the demo users' e-mails and roles."""
    accounts: list[tuple[str, Role]] = []
    seeded = await demo_seeded(engine)
    for index, demo in enumerate(DEMO_DEALERSHIPS):
        accounts += [(f"{login}@{demo.domain}", role) for login, _, _, role, _ in STAFF]
        if seeded:
            continue
        dealership_id = await create_dealership(
            engine,
            code=demo.code,
            name=demo.name,
            time_zone=demo.time_zone,
            city=demo.city,
            state=demo.state,
        )
        db = TenantDB(engine, dealership_id)
        rng = random.Random(1000 + index)

        async def populate(
            session: AsyncSession,
            did: int = dealership_id,
            d: DemoDealership = demo,
            r: random.Random = rng,
        ) -> None:
            await _populate(session, did, d, r, password_hash)

        try:
            await db.transaction(populate)
        finally:
            await db.close()
    return accounts


async def _populate(
    session: AsyncSession,
    dealership_id: int,
    demo: DemoDealership,
    rng: random.Random,
    password_hash: str | None,
) -> None:
    now = datetime.now(UTC)
    settings = await session.get(DealershipSettings, dealership_id)
    assert settings is not None

    tax = TaxJurisdiction(
        dealership_id=dealership_id,
        name=f"{demo.city}, {demo.state}",
        state=demo.state,
        city=demo.city,
        rate=demo.tax_rate,
    )
    session.add(tax)
    fees = []
    for deal_type in DealType:
        for name, kind, amount, taxable in (
            ("Documentation fee", FeeKind.DOC, settings.doc_fee, True),
            ("Title fee", FeeKind.TITLE, Decimal("77.00"), False),
            ("Registration", FeeKind.REGISTRATION, Decimal("145.50"), False),
        ):
            fees.append(
                FeeTemplate(
                    dealership_id=dealership_id,
                    name=name,
                    kind=kind,
                    deal_type=deal_type,
                    amount=amount,
                    taxable=taxable,
                )
            )
    session.add_all(fees)

    users = [
        User(
            dealership_id=dealership_id,
            email=f"{login}@{demo.domain}",
            first_name=first,
            last_name=last,
            role=role,
            title=title,
            password_hash=password_hash,
            phone=f"+1614555{rng.randint(1000, 9999)}",
        )
        for login, first, last, role, title in STAFF
    ]
    session.add_all(users)

    for lender_name in ("Ally Financial", "Capital One Auto", "Chase Auto"):
        lender = Lender(
            dealership_id=dealership_id, name=lender_name, max_ltv_percent=Decimal("125.0000")
        )
        session.add(lender)
        await session.flush()
        for tier, (low, high, rate) in enumerate(
            ((720, 850, "5.4900"), (660, 719, "7.9900"), (600, 659, "11.4900"))
        ):
            session.add(
                LenderProgram(
                    dealership_id=dealership_id,
                    lender_id=lender.id,
                    name=f"Tier {tier + 1}",
                    deal_type=DealType.FINANCE,
                    min_credit_score=low,
                    max_credit_score=high,
                    min_term_months=24,
                    max_term_months=84,
                    buy_rate=Decimal(rate),
                )
            )

    customers = []
    for _ in range(60):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        customers.append(
            Customer(
                dealership_id=dealership_id,
                first_name=first,
                last_name=last,
                email=f"{first}.{last}{rng.randint(1, 999)}@example.com".lower(),
                phone=f"+1{rng.randint(201, 989)}555{rng.randint(1000, 9999)}",
                city=demo.city,
                state=demo.state,
                postal_code=f"{rng.randint(10000, 99999)}",
                source=rng.choice(["walk-in", "website", "referral", "phone"]),
            )
        )
    session.add_all(customers)

    vehicles = []
    year_now = now.year
    for n in range(150):
        make, model, trims, body, base = rng.choice(MODELS)
        condition = VehicleCondition.NEW if rng.random() < 0.55 else VehicleCondition.USED
        year = (
            year_now + 1
            if condition is VehicleCondition.NEW and rng.random() < 0.3
            else (
                year_now
                if condition is VehicleCondition.NEW
                else rng.randint(year_now - 8, year_now - 1)
            )
        )
        price = (
            Decimal(base + rng.randint(-2000, 6000))
            if condition is VehicleCondition.NEW
            else (Decimal(int(base * (0.9 - 0.07 * (year_now - year)))) + rng.randint(-1500, 1500))
        )
        price = max(price, Decimal("6995"))
        vehicles.append(
            Vehicle(
                dealership_id=dealership_id,
                vin=make_vin(rng),
                stock_number=f"S{year_now % 100:02d}{n + 1:05d}",
                condition=condition,
                year=year,
                make=make,
                model=model,
                trim=rng.choice(trims),
                body_style=body,
                exterior_color=rng.choice(COLORS),
                interior_color=rng.choice(["Black", "Gray", "Beige"]),
                mileage=rng.randint(5, 60)
                if condition is VehicleCondition.NEW
                else rng.randint(8000, 95000),
                cost=(price * Decimal("0.91")).quantize(Decimal("0.01")),
                list_price=price,
                msrp=price + 1500 if condition is VehicleCondition.NEW else None,
                received_on=(now - timedelta(days=rng.randint(1, 120))).date(),
            )
        )
    session.add_all(vehicles)
    settings.next_stock_sequence = len(vehicles) + 1
    settings.default_tax_jurisdiction_id = None
    await session.flush()
    settings.default_tax_jurisdiction_id = tax.id

    salespeople = [u for u in users if u.role is Role.SALESPERSON]
    manager = next(u for u in users if u.role is Role.SALES_MANAGER)
    fee_lines = tuple(
        desking.FeeLine(f.name, f.kind.value, f.amount, f.taxable)
        for f in fees
        if f.deal_type is DealType.FINANCE
    )
    statuses = (
        [DealStatus.OPEN] * 10
        + [DealStatus.PENDING_APPROVAL] * 4
        + [DealStatus.APPROVED] * 3
        + [DealStatus.CONTRACTED] * 2
        + [DealStatus.DELIVERED] * 8
        + [DealStatus.LOST] * 3
    )
    for status, vehicle in zip(statuses, rng.sample(vehicles, len(statuses)), strict=False):
        created = now - timedelta(days=rng.randint(0, 45), minutes=rng.randint(0, 600))
        number = await next_deal_number(
            session, dealership_id=dealership_id, day=local_day(created, demo.time_zone)
        )
        deal = Deal(
            dealership_id=dealership_id,
            deal_number=number,
            customer_id=rng.choice(customers).id,
            vehicle_id=vehicle.id,
            salesperson_id=rng.choice(salespeople).id,
            sales_manager_id=manager.id,
            status=status,
            created_at=created,
            updated_at=created,
            delivered_at=created + timedelta(days=2) if status is DealStatus.DELIVERED else None,
            closed_at=created + timedelta(days=3) if status is DealStatus.LOST else None,
            lost_reason="Bought elsewhere" if status is DealStatus.LOST else None,
        )
        session.add(deal)
        await session.flush()
        if status is DealStatus.DELIVERED:
            vehicle.status = VehicleStatus.SOLD
            vehicle.sold_at = deal.delivered_at
        elif status is not DealStatus.LOST:
            vehicle.status = VehicleStatus.PENDING
        scenarios = []
        for name, deal_type, term, apr in (
            ("Finance 72", DealType.FINANCE, 72, Decimal("6.9900")),
            ("Finance 60", DealType.FINANCE, 60, Decimal("5.9900")),
            ("Cash", DealType.CASH, None, None),
        ):
            down = Decimal(rng.choice([0, 1000, 2500, 5000]))
            terms = desking.ScenarioTerms(
                type=deal_type,
                vehicle_price=vehicle.list_price,
                down_payment=down,
                apr=apr,
                term_months=term,
                tax_rate=demo.tax_rate,
                fees=fee_lines,
            )
            figures = desking.compute(terms)
            scenarios.append(
                DealScenario(
                    dealership_id=dealership_id,
                    deal_id=deal.id,
                    name=name,
                    type=deal_type,
                    vehicle_price=vehicle.list_price,
                    down_payment=down,
                    apr=apr,
                    term_months=term,
                    tax_rate=demo.tax_rate,
                    tax_amount=figures.tax_amount,
                    fees=[
                        {
                            "name": f.name,
                            "kind": f.kind,
                            "amount": str(f.amount),
                            "taxable": f.taxable,
                        }
                        for f in fee_lines
                    ],
                    fees_total=figures.fees_total,
                    amount_financed=figures.amount_financed,
                    monthly_payment=figures.monthly_payment,
                    total_of_payments=figures.total_of_payments,
                )
            )
        session.add_all(scenarios)
        await session.flush()
        deal.active_scenario_id = scenarios[0].id

    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    for n in range(20):
        begins = start + timedelta(days=n // 4, hours=(n % 4) * 2)
        session.add(
            Appointment(
                dealership_id=dealership_id,
                customer_id=rng.choice(customers).id,
                user_id=rng.choice(salespeople).id,
                type=rng.choice(list(AppointmentType)),
                status=AppointmentStatus.SCHEDULED,
                starts_at=begins,
                ends_at=begins + timedelta(minutes=45),
                location="Showroom",
            )
        )

    available = [v for v in vehicles if v.status is VehicleStatus.AVAILABLE]
    for vehicle in rng.sample(available, 10):
        figures = desking.compute(
            desking.ScenarioTerms(
                type=DealType.FINANCE,
                vehicle_price=vehicle.list_price,
                down_payment=Decimal(2000),
                apr=Decimal("6.4900"),
                term_months=60,
                tax_rate=demo.tax_rate,
            )
        )
        session.add(
            QuickQuote(
                dealership_id=dealership_id,
                vehicle_id=vehicle.id,
                customer_id=rng.choice(customers).id,
                created_by_id=rng.choice(salespeople).id,
                status=QuickQuoteStatus.DRAFT,
                deal_type=DealType.FINANCE,
                vehicle_price=vehicle.list_price,
                down_payment=Decimal(2000),
                apr=Decimal("6.4900"),
                term_months=60,
                tax_rate=demo.tax_rate,
                monthly_payment=figures.monthly_payment,
                expires_at=now + timedelta(days=7),
            )
        )
    await session.flush()
    count = await session.scalar(select(func.count()).select_from(Vehicle))
    assert count == len(vehicles)


__all__ = ["DEMO_DEALERSHIPS", "DEMO_PASSWORD", "demo_seeded", "seed_demo"]
