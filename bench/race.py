"""createDeal over HTTP from Python: one request at a time (for the SQL counts) and the
contention case, 50 concurrent createDeal calls for the same vehicle: how long until all 50
have their answer, and that exactly one of them wins."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx

from bench.queries import CREATE_DEAL_MUTATION, global_id

RACERS = 50


def create_deal_body(vehicle: str, salesperson: str, n: int | str, tag: str) -> dict[str, object]:
    return {
        "query": CREATE_DEAL_MUTATION,
        "variables": {
            "input": {
                "vehicleId": vehicle,
                "salespersonId": salesperson,
                "customer": {
                    "firstName": "Bench",
                    "lastName": f"L{n}",
                    "email": f"wrk-{tag}-{n}@example.com",
                },
            }
        },
    }


def outcome(response: httpx.Response) -> str:
    """The createDeal union member, or what went wrong."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    body = response.json()
    if body.get("errors"):
        return "GraphQL error"
    return str(((body.get("data") or {}).get("createDeal") or {}).get("__typename"))


async def race(url: str, token: str, salesperson_pk: int, vehicle_pk: int) -> dict[str, object]:
    headers = {"authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=RACERS, max_keepalive_connections=RACERS)
    salesperson = global_id("User", salesperson_pk)
    vehicle = global_id("Vehicle", vehicle_pk)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as http:
        # Open the 50 connections first, so the race measures the server, not TCP set-up.
        await asyncio.gather(
            *(http.post(url, json={"query": "{ __typename }"}) for _ in range(RACERS))
        )

        async def one(n: int) -> tuple[str, float]:
            body = create_deal_body(vehicle, salesperson, n, f"race{vehicle_pk}")
            response = await http.post(url, json=body)
            return outcome(response), time.perf_counter()

        started = time.perf_counter()
        results = await asyncio.gather(*(one(n) for n in range(RACERS)))
        settled = max(t for _, t in results) - started
    kinds = Counter(kind for kind, _ in results)
    return {
        "racers": RACERS,
        "settle_ms": round(settled * 1000, 1),
        "winners": kinds.get("CreateDealSuccess", 0),
        "outcomes": dict(kinds),
        "ok": kinds.get("CreateDealSuccess", 0) == 1
        and kinds.get("VehicleNotAvailableError", 0) == RACERS - 1,
    }
