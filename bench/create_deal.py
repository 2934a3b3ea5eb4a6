"""createDeal throughput and the one-vehicle race, against a real server process.

    .venv/bin/python bench/create_deal.py [--workers 1] [--clients 32] [--seconds 15]

Uses DATABASE_URL (a server to create a scratch database on; default the local
postgres://postgres@127.0.0.1:5432/postgres), starts `dealerdesk serve` on a free port, and
reports: createDeal completed per second with N concurrent clients on distinct vehicles
(p50 / p99 latency, errors), and how long 50 concurrent createDeal calls for one vehicle
take to settle (and that exactly one wins). Prints a markdown table and writes JSON to
bench/out/create_deal.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db.engine import PoolConfig, create_engine, dispose  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models.enums import Role  # noqa: E402
from db.storage.dealerships import create_dealership  # noqa: E402
from db.tenant import TenantDB  # noqa: E402
from schema.relay import to_global_id  # noqa: E402
from server.tokens import TokenSigner  # noqa: E402

SECRET = "bench-secret-" + "b" * 40
ADD_SALESPERSON = (
    "INSERT INTO users (dealership_id, email, first_name, last_name, role) "
    "VALUES (:d, 'bench.sales@example.com', 'Bench', 'Sales', 'salesperson') RETURNING id"
)
ADD_VEHICLES = (
    "INSERT INTO vehicles (dealership_id, vin, stock_number, condition, year, make, model, cost,"
    " list_price) SELECT :d, lpad(g::text, 17, 'A'), 'B' || g, 'used', 2022, 'Honda', 'Civic',"
    " 18000, 21995 FROM generate_series(1, :n) g RETURNING id"
)
CREATE = """mutation($input: CreateDealInput!) { createDeal(input: $input) {
  __typename ... on CreateDealSuccess { deal { dealNumber } } ... on Error { code } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def prepare(url: str, vehicles: int) -> tuple[int, int, list[int]]:
    """A dealership with a salesperson and `vehicles` available vehicles."""
    engine = create_engine(PoolConfig(url=url, max_size=2, min_size=0))
    try:
        dealership = await create_dealership(
            engine, code=f"bench-{uuid.uuid4().hex[:8]}", name="Bench Motors"
        )
        db = TenantDB(engine, dealership)

        async def work(session: AsyncSession) -> tuple[int, list[int]]:
            user = (await session.execute(text(ADD_SALESPERSON), {"d": dealership})).scalar_one()
            ids = (
                (await session.execute(text(ADD_VEHICLES), {"d": dealership, "n": vehicles}))
                .scalars()
                .all()
            )
            return int(user), [int(i) for i in ids]

        user, ids = await db.transaction(work)
        await db.close()
        return dealership, user, ids
    finally:
        await dispose(engine)


async def run_load(
    base: str, token: str, salesperson: str, vehicles: list[int], clients: int, seconds: float
) -> dict[str, object]:
    queue = iter(vehicles)
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    headers = {"authorization": f"Bearer {token}"}

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            vehicle = next(queue, None)
            if vehicle is None:
                return
            body = {
                "query": CREATE,
                "variables": {
                    "input": {
                        "vehicleId": to_global_id("Vehicle", vehicle),
                        "salespersonId": salesperson,
                        "customer": {
                            "firstName": "Load",
                            "lastName": str(vehicle),
                            "email": f"load{vehicle}@example.com",
                        },
                    }
                },
            }
            started = time.perf_counter()
            response = await http.post(f"{base}/graphql", json=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            kind = response.json().get("data", {}) or {}
            if (kind.get("createDeal") or {}).get("__typename") != "CreateDealSuccess":
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        started = time.monotonic()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "completed": len(latencies) - errors,
        "errors": errors,
        "seconds": round(elapsed, 2),
        "per_second": round((len(latencies) - errors) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
    }


async def run_race(base: str, token: str, salesperson: str, vehicle: int) -> dict[str, object]:
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=50)) as http:
        await http.post(f"{base}/graphql", json={"query": "{ __typename }"})

        async def one(n: int) -> str:
            body = {
                "query": CREATE,
                "variables": {
                    "input": {
                        "vehicleId": to_global_id("Vehicle", vehicle),
                        "salespersonId": salesperson,
                        "customer": {
                            "firstName": "Race",
                            "lastName": str(n),
                            "email": f"race{n}@example.com",
                        },
                    }
                },
            }
            response = await http.post(f"{base}/graphql", json=body, headers=headers)
            return str(response.json()["data"]["createDeal"]["__typename"])

        started = time.monotonic()
        kinds = await asyncio.gather(*(one(n) for n in range(50)))
        settled = time.monotonic() - started
    return {
        "settle_ms": round(settled * 1000, 1),
        "winners": kinds.count("CreateDealSuccess"),
        "not_available": kinds.count("VehicleNotAvailableError"),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--vehicles", type=int, default=20000)
    args = parser.parse_args()

    server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"dealerdesk_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(
        server.replace("postgresql://", "postgresql+asyncpg://", 1),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    process = None
    try:
        await asyncio.to_thread(upgrade, url)
        dealership, user, vehicles = await prepare(url, args.vehicles)
        token = TokenSigner(SECRET, "dealerdesk", "dealerdesk-api").issue(
            user_id=user, dealership_id=dealership, role=Role.SALESPERSON, ttl=timedelta(hours=1)
        )
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "AUTH_TOKEN_SECRET": SECRET,
            "LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                try:
                    if (await http.get(f"{base}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        salesperson = to_global_id("User", user)
        # Warm-up on vehicles the measured run does not use.
        await run_load(base, token, salesperson, vehicles[-200:], args.clients, 3)
        load = await run_load(base, token, salesperson, vehicles[:-201], args.clients, args.seconds)
        race = await run_race(base, token, salesperson, vehicles[-201])
    finally:
        if process is not None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    result = {
        "workers": args.workers,
        "clients": args.clients,
        "cores": os.cpu_count(),
        "create_deal": load,
        "race_50_one_vehicle": race,
    }
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "create_deal.json").write_text(json.dumps(result, indent=2))
    print(
        f"| workers | clients | createDeal/s | p50 ms | p99 ms | errors | "
        f"50-racer settle ms | winners |\n|---|---|---|---|---|---|---|---|\n"
        f"| {args.workers} | {args.clients} | {load['per_second']} | {load['p50_ms']} | "
        f"{load['p99_ms']} | {load['errors']} | {race['settle_ms']} | {race['winners']} |"
    )


if __name__ == "__main__":
    asyncio.run(main())
