"""The standard data set, built in a fresh database through the project's own migrations.

10 dealerships (made by the storage layer's `create_dealership`, so each has its settings and
default role permissions), 200 users (20 per dealership, every role), 50,000 customers,
100,000 vehicles, 50,000 deals, 150,000 scenarios (3 per deal, the first active), 25,000 trade
vehicles, 40 lenders, 10,000 rate requests with 20,000 lender decisions.

Everything is a pure function of the row id (md5-based hashes, fixed timestamps), so every
build is identical; the bulk rows are inserted set-based (INSERT ... SELECT generate_series)
as the database owner in one transaction, then VACUUM ANALYZE. Row i of a tenant table
belongs to dealership ((i - 1) % 10) + 1, and deal i was created 10 minutes after deal i - 1,
so ordering deals by created_at is ordering them by id.

The database's comment records the data set's version; a build is skipped when it matches.
Rows the benchmark itself adds (createDeal) are deleted again by `reset`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

import asyncpg

from bench.common import say
from db.engine import PoolConfig, create_engine, dispose
from db.migrate import head_revision, upgrade
from db.storage.dealerships import create_dealership

DATASET_VERSION = "1"
DEALERSHIPS = 10
USERS = 200
CUSTOMERS = 50_000
VEHICLES = 100_000
DEALS = 50_000
SCENARIOS_PER_DEAL = 3

# Who the benchmark acts as: the sales manager of dealership 3 (user k*10 + d has role
# index k in dealership d: 0 admin, 1 sales manager, 2 finance manager, 3 read-only,
# 4..19 salespeople).
DEALERSHIP = 3
SALES_MANAGER = 1 * 10 + DEALERSHIP
SALESPERSON = 4 * 10 + DEALERSHIP
Q2_DEAL = 12_343  # a deal of dealership 3
# Vehicles the benchmark adds for createDeal get ids above this and this stock prefix.
BENCH_STOCK_PREFIX = "WRK"

CITIES = [
    ("Austin", "TX"),
    ("Denver", "CO"),
    ("Chicago", "IL"),
    ("Phoenix", "AZ"),
    ("Seattle", "WA"),
    ("Boston", "MA"),
    ("Omaha", "NE"),
    ("Tucson", "AZ"),
    ("Portland", "OR"),
    ("Raleigh", "NC"),
]
NAMES = [
    "Sunrise",
    "Lakeside",
    "Metro",
    "Valley",
    "Summit",
    "Harbor",
    "Prairie",
    "Canyon",
    "Riverside",
    "Pinecrest",
]

# The bulk of the data, as the owner (row-level security does not apply to it).
# pg_temp.h(text) is a 48-bit hash; T0 is the first timestamp.
SEED_SQL = [
    """CREATE FUNCTION pg_temp.h(text) RETURNS bigint LANGUAGE sql IMMUTABLE
       AS $$ SELECT ('x' || substr(md5($1), 1, 12))::bit(48)::bigint $$""",
    # 20 users per dealership: role by k = (i - 1) / 10.
    """INSERT INTO users (dealership_id, id, email, first_name, last_name, phone, title, role,
                          created_at, updated_at)
       SELECT d, i, 'user' || i || '@dealer' || d || '.example',
              (ARRAY['Alex','Sam','Jordan','Taylor','Morgan','Casey','Riley','Jamie','Drew',
                     'Avery'])[1 + (i * 7) % 10],
              (ARRAY['Smith','Garcia','Nguyen','Patel','Brown','Lopez','Kim','Wilson','Clark',
                     'Reyes'])[1 + (i * 3) % 10],
              '+1555' || lpad((1000000 + i)::text, 7, '0'),
              CASE k WHEN 0 THEN 'General Manager' WHEN 1 THEN 'Sales Manager'
                     WHEN 2 THEN 'F&I Manager' WHEN 3 THEN 'Office' ELSE 'Sales Consultant' END,
              CASE k WHEN 0 THEN 'admin' WHEN 1 THEN 'sales_manager'
                     WHEN 2 THEN 'finance_manager' WHEN 3 THEN 'read_only'
                     ELSE 'salesperson' END,
              TIMESTAMPTZ '2024-12-01 15:00:00+00', TIMESTAMPTZ '2024-12-01 15:00:00+00'
       FROM (SELECT i, ((i - 1) % 10) + 1 AS d, (i - 1) / 10 AS k
             FROM generate_series(1, 200) AS i) s""",
    """INSERT INTO customers (dealership_id, id, first_name, last_name, email, phone,
                              address_line1, city, state, postal_code, source,
                              created_at, updated_at)
       SELECT d, i,
              (ARRAY['Ana','Ben','Chloe','Dev','Eli','Fay','Gus','Hana','Ivan','Jade','Kai',
                     'Lena'])[1 + (i * 7) % 12],
              (ARRAY['Miller','Davis','Martinez','Anderson','Thomas','Moore','Jackson','White',
                     'Harris','Lewis','Young'])[1 + (i * 5) % 11],
              'customer' || i || '@mail.example',
              '+1555' || lpad((2000000 + i)::text, 7, '0'),
              (100 + i % 9800) || ' Main St',
              (ARRAY['Austin','Denver','Chicago','Phoenix','Seattle','Boston','Omaha','Tucson',
                     'Portland','Raleigh'])[d],
              (ARRAY['TX','CO','IL','AZ','WA','MA','NE','AZ','OR','NC'])[d],
              lpad((10000 + i % 89999)::text, 5, '0'),
              (ARRAY['walk-in','web','phone','referral'])[1 + i % 4],
              TIMESTAMPTZ '2025-01-01 13:00:00+00' + i * INTERVAL '9 minutes',
              TIMESTAMPTZ '2025-01-01 13:00:00+00' + i * INTERVAL '9 minutes'
       FROM (SELECT i, ((i - 1) % 10) + 1 AS d FROM generate_series(1, 50000) AS i) s""",
    """INSERT INTO vehicles (dealership_id, id, vin, stock_number, condition, year, make, model,
                             trim, body_style, exterior_color, interior_color, mileage, cost,
                             list_price, msrp, status, received_on, created_at, updated_at)
       SELECT d, i, upper(substr(md5('vin' || i), 1, 17)), 'S' || lpad(i::text, 6, '0'),
              CASE WHEN h % 10 < 5 THEN 'new' WHEN h % 10 < 8 THEN 'used' ELSE 'certified' END,
              CASE WHEN h % 10 < 5 THEN 2025 + (h / 10) % 2 ELSE 2015 + (h / 10) % 10 END,
              (ARRAY['Toyota','Honda','Ford','Chevrolet','Nissan','Hyundai','Kia','Subaru',
                     'Mazda','BMW'])[1 + (h / 100) % 10],
              (ARRAY['Sedan','SUV','Truck','Coupe','Hatch','Wagon','Van'])[1 + (h / 1000) % 7],
              (ARRAY['Base','Sport','Touring','Limited'])[1 + (h / 7000) % 4],
              (ARRAY['sedan','suv','truck','coupe','hatchback','wagon','van'])[1 + (h / 1000) % 7],
              (ARRAY['White','Black','Silver','Gray','Blue','Red'])[1 + (h / 28000) % 6],
              (ARRAY['Black','Gray','Beige'])[1 + (h / 168000) % 3],
              CASE WHEN h % 10 < 5 THEN (h / 504000) % 40 ELSE 5000 + (h / 504000) % 95000 END,
              cost, round(cost * 1.12, -2) - 5,
              CASE WHEN h % 10 < 5 THEN round(cost * 1.18, -2) END,
              CASE WHEN h % 100 < 4 THEN 'on_hold' WHEN h % 100 < 7 THEN 'in_transit'
                   ELSE 'available' END,
              DATE '2024-12-01' + (i / 300),
              TIMESTAMPTZ '2024-12-01 14:00:00+00' + i * INTERVAL '4 minutes',
              TIMESTAMPTZ '2024-12-01 14:00:00+00' + i * INTERVAL '4 minutes'
       FROM (SELECT i, ((i - 1) % 10) + 1 AS d, pg_temp.h('v' || i) AS h,
                    (15000 + pg_temp.h('c' || i) % 60000)::numeric(12,2) AS cost
             FROM generate_series(1, 100000) AS i) s""",
    # Deal i: dealership d, its k-th deal; vehicle ((k * 7919) % 10000) * 10 + d is a
    # permutation, so no vehicle is in two deals.
    """INSERT INTO deals (dealership_id, id, deal_number, customer_id, vehicle_id, salesperson_id,
                          sales_manager_id, finance_manager_id, status, notes, lost_reason,
                          contracted_at, delivered_at, closed_at, created_at, updated_at)
       SELECT d, i,
              to_char(ts AT TIME ZONE 'America/New_York', 'YYYY-MMDD') || '-'
                || lpad(row_number() OVER (
                     PARTITION BY d, (ts AT TIME ZONE 'America/New_York')::date
                     ORDER BY i)::text, 4, '0'),
              (h % 5000) * 10 + d,
              ((k * 7919) % 10000) * 10 + d,
              (4 + (h / 5000) % 16) * 10 + d,
              CASE WHEN status <> 'open' THEN 10 + d END,
              CASE WHEN status IN ('contracted', 'delivered', 'unwound') THEN 20 + d END,
              status,
              CASE WHEN h % 7 = 0 THEN 'Customer wants to come back Saturday.' END,
              CASE WHEN status = 'lost' THEN 'Bought elsewhere' END,
              CASE WHEN status IN ('contracted', 'delivered', 'unwound')
                   THEN ts + INTERVAL '2 days' END,
              CASE WHEN status IN ('delivered', 'unwound') THEN ts + INTERVAL '3 days' END,
              CASE WHEN status IN ('lost', 'cancelled', 'unwound') THEN ts + INTERVAL '5 days' END,
              ts, ts + CASE WHEN status = 'open' THEN INTERVAL '0' ELSE INTERVAL '5 days' END
       FROM (SELECT i, ((i - 1) % 10) + 1 AS d, (i - 1) / 10 AS k, pg_temp.h('d' || i) AS h,
                    TIMESTAMPTZ '2025-01-06 13:00:00+00' + i * INTERVAL '10 minutes' AS ts,
                    CASE WHEN s < 30 THEN 'open' WHEN s < 35 THEN 'pending_approval'
                         WHEN s < 40 THEN 'approved' WHEN s < 45 THEN 'contracted'
                         WHEN s < 80 THEN 'delivered' WHEN s < 94 THEN 'lost'
                         WHEN s < 99 THEN 'cancelled' ELSE 'unwound' END AS status
             FROM (SELECT i, pg_temp.h('s' || i) % 100 AS s
                   FROM generate_series(1, 50000) AS i) g) s""",
    # Scenario (i - 1) * 3 + t of deal i: t = 1 cash, 2 finance, 3 lease.
    """INSERT INTO deal_scenarios (dealership_id, id, deal_id, name, type, vehicle_price,
                                   down_payment, rebates, apr, money_factor, term_months,
                                   residual_percent, residual_value, tax_rate, tax_amount, fees,
                                   fees_total, amount_financed, monthly_payment,
                                   total_of_payments, created_at, updated_at)
       SELECT d, (deal - 1) * 3 + t, deal,
              CASE t WHEN 1 THEN 'Cash' WHEN 2 THEN 'Finance ' || term || ' mo'
                     ELSE 'Lease 36 mo' END,
              CASE t WHEN 1 THEN 'cash' WHEN 2 THEN 'finance' ELSE 'lease' END,
              price, down, 0,
              CASE t WHEN 2 THEN apr END,
              CASE t WHEN 3 THEN round(apr / 2400, 7) END,
              CASE t WHEN 2 THEN term WHEN 3 THEN 36 END,
              CASE t WHEN 3 THEN rp END,
              CASE t WHEN 3 THEN round(price * rp / 100, 2) END,
              7.25, tax,
              '[{"name": "Documentation fee", "kind": "doc", "amount": "499.00",
                 "taxable": false}]'::jsonb,
              499,
              CASE t WHEN 1 THEN 0 ELSE financed END,
              CASE t
                WHEN 1 THEN 0
                WHEN 2 THEN round(financed * (apr / 1200) / (1 - power(1 + apr / 1200, -term)), 2)
                ELSE round((financed - price * rp / 100) / 36
                           + (financed + price * rp / 100) * round(apr / 2400, 7), 2)
              END,
              CASE t
                WHEN 1 THEN price + tax + 499
                WHEN 2 THEN term * round(financed * (apr / 1200)
                                         / (1 - power(1 + apr / 1200, -term)), 2) + down
                ELSE 36 * round((financed - price * rp / 100) / 36
                                + (financed + price * rp / 100) * round(apr / 2400, 7), 2) + down
              END,
              created_at, created_at
       FROM (SELECT dl.dealership_id AS d, dl.id AS deal, dl.created_at, t, v.list_price AS price,
                    least((h % 41) * 250, round(v.list_price * 0.1, -2)) AS down,
                    round(v.list_price * 0.0725, 2) AS tax,
                    v.list_price + round(v.list_price * 0.0725, 2) + 499
                      - least((h % 41) * 250, round(v.list_price * 0.1, -2)) AS financed,
                    (2.99 + (h / 41) % 700 / 100.0)::numeric(7,4) AS apr,
                    (ARRAY[36, 48, 60, 72])[1 + (h / 28700) % 4] AS term,
                    (52 + (h / 114800) % 10)::numeric(7,4) AS rp
             FROM deals dl
             JOIN vehicles v ON v.dealership_id = dl.dealership_id AND v.id = dl.vehicle_id
             CROSS JOIN LATERAL (SELECT pg_temp.h('p' || dl.id) AS h) hh
             CROSS JOIN generate_series(1, 3) AS t) s""",
    # A trade-in on every second deal.
    """INSERT INTO trade_vehicles (dealership_id, id, deal_id, customer_id, vin, year, make,
                                   model, trim, mileage, allowance, actual_cash_value,
                                   payoff_amount, payoff_lender, created_at, updated_at)
       SELECT dl.dealership_id, dl.id / 2, dl.id, dl.customer_id,
              upper(substr(md5('trade' || dl.id), 1, 17)), 2012 + h % 10,
              (ARRAY['Toyota','Honda','Ford','Chevrolet','Nissan'])[1 + (h / 10) % 5],
              (ARRAY['Sedan','SUV','Truck','Hatch'])[1 + (h / 50) % 4], 'Base',
              30000 + (h / 200) % 90000, 2000 + (h / 7) % 12000,
              1800 + (h / 7) % 12000, CASE WHEN h % 3 = 0 THEN (h / 11) % 9000 ELSE 0 END,
              CASE WHEN h % 3 = 0 THEN 'First Auto Credit' END,
              dl.created_at, dl.created_at
       FROM deals dl CROSS JOIN LATERAL (SELECT pg_temp.h('t' || dl.id) AS h) hh
       WHERE dl.id % 2 = 0""",
    # 4 lenders per dealership: lender m * 10 + d.
    """INSERT INTO lenders (dealership_id, id, name, code, contact_name, phone, email,
                            max_ltv_percent, created_at, updated_at)
       SELECT ((i - 1) % 10) + 1, i,
              (ARRAY['First Auto Credit','Metro Credit Union','Summit Bank',
                     'Harbor Finance'])[1 + (i - 1) / 10],
              (ARRAY['FAC','MCU','SMB','HBF'])[1 + (i - 1) / 10],
              'Funding desk', '+18005550' || lpad(i::text, 3, '0'),
              'funding' || i || '@lender.example', 125,
              TIMESTAMPTZ '2024-12-01 15:00:00+00', TIMESTAMPTZ '2024-12-01 15:00:00+00'
       FROM generate_series(1, 40) AS i""",
    # A rate request on every fifth deal, for its finance scenario.
    """INSERT INTO rate_requests (dealership_id, id, deal_id, scenario_id, requested_by_id,
                                  status, credit_score, amount_requested, down_payment,
                                  trade_value, trade_payoff, term_months, monthly_income,
                                  monthly_debt, submitted_at, created_at, updated_at)
       SELECT dl.dealership_id, dl.id / 5, dl.id, sc.id, dl.salesperson_id,
              CASE WHEN dl.status = 'open' THEN 'submitted' ELSE 'decisioned' END,
              560 + h % 290, sc.amount_financed, sc.down_payment, 0, 0, sc.term_months,
              3500 + (h / 290) % 9000, 400 + (h / 7) % 2000,
              dl.created_at + INTERVAL '1 hour', dl.created_at + INTERVAL '1 hour',
              dl.created_at + INTERVAL '2 hours'
       FROM deals dl
       JOIN deal_scenarios sc
         ON sc.dealership_id = dl.dealership_id AND sc.id = (dl.id - 1) * 3 + 2
       CROSS JOIN LATERAL (SELECT pg_temp.h('r' || dl.id) AS h) hh
       WHERE dl.id % 5 = 0""",
    # Two decisions per decisioned request: one approval (or counter-offer), one other.
    """INSERT INTO lender_decisions (dealership_id, id, rate_request_id, lender_id, decision,
                                     approved_amount, apr, buy_rate, dealer_reserve, term_months,
                                     monthly_payment, ltv_percent, dti_percent, stipulations,
                                     decided_at, created_at, updated_at)
       SELECT rr.dealership_id, (rr.id - 1) * 2 + j, rr.id,
              ((rr.id + j) % 4) * 10 + rr.dealership_id,
              CASE WHEN j = 1 THEN (CASE WHEN h % 5 = 0 THEN 'counter_offer' ELSE 'approved' END)
                   ELSE (CASE WHEN h % 2 = 0 THEN 'declined' ELSE 'conditional' END) END,
              CASE WHEN j = 1 OR h % 2 = 1 THEN rr.amount_requested END,
              CASE WHEN j = 1 OR h % 2 = 1 THEN (4.49 + (h / 2) % 500 / 100.0)::numeric(7,4) END,
              CASE WHEN j = 1 OR h % 2 = 1 THEN (3.49 + (h / 2) % 500 / 100.0)::numeric(7,4) END,
              CASE WHEN j = 1 OR h % 2 = 1 THEN round(rr.amount_requested * 0.02, 2) END,
              CASE WHEN j = 1 OR h % 2 = 1 THEN rr.term_months END,
              CASE WHEN j = 1 OR h % 2 = 1
                   THEN round(rr.amount_requested / rr.term_months * 1.12, 2) END,
              (95 + h % 30)::numeric(7,4), (20 + h % 25)::numeric(7,4),
              CASE WHEN j = 2 AND h % 2 = 1 THEN ARRAY['proof of income']
                   ELSE ARRAY[]::text[] END,
              rr.submitted_at + INTERVAL '30 minutes', rr.submitted_at + INTERVAL '30 minutes',
              rr.submitted_at + INTERVAL '30 minutes'
       FROM rate_requests rr CROSS JOIN generate_series(1, 2) AS j
       CROSS JOIN LATERAL (SELECT pg_temp.h('l' || rr.id || '-' || j) AS h) hh
       WHERE rr.status = 'decisioned'""",
    # The first scenario is the active one; contracted and later deals with an approval
    # go ahead with it.
    """UPDATE deals dl
       SET active_scenario_id = (dl.id - 1) * 3 + 1,
           selected_decision_id = CASE
             WHEN dl.id % 5 = 0 AND dl.status IN ('contracted', 'delivered', 'unwound')
             THEN (dl.id / 5 - 1) * 2 + 1 END""",
    # Vehicles of live deals are pending, of delivered deals sold.
    """UPDATE vehicles v
       SET status = CASE WHEN dl.status = 'delivered' THEN 'sold' ELSE 'pending' END,
           sold_at = CASE WHEN dl.status = 'delivered' THEN dl.delivered_at END
       FROM deals dl
       WHERE v.dealership_id = dl.dealership_id AND v.id = dl.vehicle_id
         AND dl.status IN ('open', 'pending_approval', 'approved', 'contracted', 'delivered')""",
]

TABLES_WITH_IDS = [
    "users",
    "customers",
    "vehicles",
    "deals",
    "deal_scenarios",
    "trade_vehicles",
    "lenders",
    "rate_requests",
    "lender_decisions",
]

EXPECTED_COUNTS = {
    "dealerships": DEALERSHIPS,
    "users": USERS,
    "customers": CUSTOMERS,
    "vehicles": VEHICLES,
    "deals": DEALS,
    "deal_scenarios": DEALS * SCENARIOS_PER_DEAL,
    "trade_vehicles": DEALS // 2,
    "lenders": 40,
    "rate_requests": DEALS // 5,
}

# Rows the benchmark adds (createDeal, the race) go again; the seeded rows stay as built.
RESET_SQL = [
    # The audit trails are append-only (their triggers refuse DELETE): the bench's throw-away
    # rows go with the triggers switched off for this transaction only, and the chains start
    # again from their genesis.
    "SET LOCAL session_replication_role = replica",
    "DELETE FROM audit_logs",
    "DELETE FROM security_audit_logs",
    "DELETE FROM audit_chain_heads",
    "SET LOCAL session_replication_role = origin",
    f"DELETE FROM deals WHERE id > {DEALS}",  # noqa: S608 - constants
    f"DELETE FROM customers WHERE id > {CUSTOMERS}",  # noqa: S608
    f"DELETE FROM vehicles WHERE id > {VEHICLES}",  # noqa: S608
    "DELETE FROM deal_number_counters",
]


def version_tag() -> str:
    """Changes whenever the migrations' head or the seed changes."""
    digest = hashlib.sha256("\n".join(SEED_SQL).encode()).hexdigest()[:12]
    return f"dealerdesk-bench-dataset v{DATASET_VERSION} {head_revision()} {digest}"


def database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + f"/{name}"


async def _existing_tag(server_url: str, name: str) -> str | None:
    conn = await asyncpg.connect(server_url)
    try:
        row = await conn.fetchrow(
            "SELECT shobj_description(oid, 'pg_database') AS tag FROM pg_database"
            " WHERE datname = $1",
            name,
        )
    finally:
        await conn.close()
    if row is None:
        return None
    return str(row["tag"] or "")


async def ensure_dataset(server_url: str, name: str, *, rebuild: bool) -> str:
    """The URL of a database holding the standard data set; built when missing or stale."""
    tag = version_tag()
    existing = await _existing_tag(server_url, name)
    url = database_url(server_url, name)
    if existing == tag and not rebuild:
        say(f"data set {name} is current ({tag}); --rebuild forces a new one")
        await reset(url)
        return url
    started = time.monotonic()
    say(f"building the standard data set in a fresh database {name}")
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    await asyncio.to_thread(upgrade, url)
    say(f"  migrated ({head_revision()}) in {time.monotonic() - started:.1f} s")
    engine = create_engine(PoolConfig(url=url, max_size=2, min_size=0))
    try:
        for n in range(DEALERSHIPS):
            city, state = CITIES[n]
            await create_dealership(
                engine,
                code=f"bench-{n + 1:02d}",
                name=f"{NAMES[n]} Motors",
                city=city,
                state=state,
            )
    finally:
        await dispose(engine)
    conn = await asyncpg.connect(url)
    try:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM dealerships ORDER BY id")]
        if ids != list(range(1, DEALERSHIPS + 1)):
            raise RuntimeError(f"expected dealerships 1..{DEALERSHIPS}, got {ids}")
        async with conn.transaction():
            for statement in SEED_SQL:
                await conn.execute(statement)
            for table in TABLES_WITH_IDS:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                    f" (SELECT max(id) FROM {table}))"
                )
        say(f"  rows inserted in {time.monotonic() - started:.1f} s")
        for table, expected in EXPECTED_COUNTS.items():
            got = await conn.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            if got != expected:
                raise RuntimeError(f"{table}: expected {expected} rows, got {got}")
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{tag}'")
    finally:
        await conn.close()
    say(f"data set built in {time.monotonic() - started:.1f} s")
    return url


_BUSY = """SELECT count(*) FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid()
             AND state IS NOT NULL AND state <> 'idle'"""


async def reset(url: str, *, settle_s: float = 30) -> int:
    """Delete what the benchmark added; returns how many deals went.

    A load tool's connections close at the end of a run while the server may still finish
    requests it had read, so first wait (up to `settle_s`) until no other session of the
    database is busy, and retry if a late commit still slips in."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + settle_s
        quiet = 0
        while quiet < 3 and time.monotonic() < deadline:
            quiet = quiet + 1 if not await conn.fetchval(_BUSY) else 0
            await asyncio.sleep(0.1)
        added = 0
        for attempt in range(5):
            try:
                added = await conn.fetchval(f"SELECT count(*) FROM deals WHERE id > {DEALS}")  # noqa: S608
                async with conn.transaction():
                    for statement in RESET_SQL:
                        await conn.execute(statement)
                break
            except asyncpg.ForeignKeyViolationError:
                if attempt == 4:
                    raise
                await asyncio.sleep(1)
    finally:
        await conn.close()
    return int(added or 0)


async def add_vehicles(url: str, count: int, tag: str) -> list[int]:
    """`count` new available vehicles of the benchmark's dealership, for createDeal."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            f"""INSERT INTO vehicles (dealership_id, vin, stock_number, condition, year, make,
                                     model, cost, list_price, received_on)
                SELECT $1, upper(substr(md5($2 || g), 1, 17)),
                       '{BENCH_STOCK_PREFIX}' || $2 || '-' || g, 'used', 2022, 'Honda',
                       'Civic', 18000, 21995, DATE '2026-01-05'
                FROM generate_series(1, $3::int) AS g
                RETURNING id""",  # noqa: S608 - constant prefix
            DEALERSHIP,
            tag,
            count,
        )
    finally:
        await conn.close()
    return [int(r["id"]) for r in rows]
