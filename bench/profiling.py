"""In-process cost of the read queries: the real schema executed with a real context (the
caller, a tenant-bound session on the benchmark's database, fresh dataloaders) exactly as the
GraphQL endpoint builds it per request, plus the orjson encoding of the answer; no HTTP.

Prints milliseconds per request (timed without a profiler), then runs the same requests under
pyinstrument and writes bench/out/profile-<query>.html, profile-<query>.txt (the call tree)
and profile-<query>-flat.txt (functions by their own time), and the raw session
(profile-<query>.pyisession: `pyinstrument --load FILE -r html` renders it again).

    .venv/bin/python bench/run.py --profile [--profile-queries Q2,Q3] [--profile-iterations 200]
    .venv/bin/python bench/profiling.py ...   (the same)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from strawberry.types.graphql import OperationType

from bench.common import OUT, TOKEN_SECRET, say
from bench.dataset import DEALERSHIP, SALES_MANAGER
from bench.queries import DEALERDESK, EXPECTED_DEALS
from db.engine import create_engine, dispose, warm
from db.models.enums import Role
from db.tenant import TenantDB
from resolvers.context import Context
from resolvers.loaders import Loaders
from schema.root import schema
from server.app import AppState, pool_config, signer_for
from server.config import Settings
from server.tokens import Principal


async def run_profile(
    database_url: str, names: list[str], iterations: int, warmup: int = 20
) -> dict[str, dict[str, float]]:
    from pyinstrument import Profiler

    settings = Settings(
        database_url=database_url, auth_token_secret=TOKEN_SECRET, log_level="WARNING"
    )
    engine = create_engine(pool_config(settings, database_url))
    await warm(engine, 2)
    app = Starlette()
    app.state.dealerdesk = AppState(settings=settings, engine=engine, signer=signer_for(settings))
    principal = Principal(
        user_id=SALES_MANAGER,
        dealership_id=DEALERSHIP,
        role=Role.SALES_MANAGER,
        token_id="bench-profile",  # noqa: S106 - a token id, not a secret
    )
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "headers": [(b"content-type", b"application/json")],
        "query_string": b"",
        "app": app,
    }

    async def once(query: str) -> bytes:
        db = TenantDB(engine, DEALERSHIP)
        context = Context(
            request=Request(scope),
            response=None,
            request_id="bench-profile",
            principal=principal,
            db=db,
            loaders=Loaders(db),
        )
        try:
            result = await schema.execute(
                query, context_value=context, allowed_operation_types={OperationType.QUERY}
            )
        finally:
            await db.close()
        if result.errors:
            raise RuntimeError(f"{query[:60]}...: {result.errors}")
        return orjson.dumps({"data": result.data})

    OUT.mkdir(parents=True, exist_ok=True)
    timings: dict[str, dict[str, float]] = {}
    try:
        for name in names:
            query = DEALERDESK[name]
            body = b""
            for _ in range(warmup):
                body = await once(query)
            if name in EXPECTED_DEALS:
                got = len(orjson.loads(body)["data"]["deals"]["nodes"])
                assert got == EXPECTED_DEALS[name], f"{name}: {got} deals"
            samples = []
            for _ in range(iterations):
                started = time.perf_counter()
                await once(query)
                samples.append((time.perf_counter() - started) * 1000)
            samples.sort()
            timings[name] = {
                "median_ms": round(statistics.median(samples), 3),
                "mean_ms": round(statistics.fmean(samples), 3),
                "p90_ms": round(samples[int(len(samples) * 0.9) - 1], 3),
                "min_ms": round(samples[0], 3),
                "iterations": iterations,
            }
            say(
                f"in-process {name}: median {timings[name]['median_ms']:.2f} ms, "
                f"mean {timings[name]['mean_ms']:.2f} ms, p90 {timings[name]['p90_ms']:.2f} ms "
                f"({iterations} sequential requests)"
            )
            # async_mode "disabled": sample whatever the thread runs (resolvers run in tasks
            # of their own), so the tree is the process's whole CPU time per request.
            profiler = Profiler(interval=0.001, async_mode="disabled")
            profiler.start()
            for _ in range(iterations):
                await once(query)
            profiler.stop()
            stem = OUT / f"profile-{name}"
            stem.with_suffix(".html").write_text(profiler.output_html())
            stem.with_suffix(".txt").write_text(profiler.output_text(unicode=True))
            flat = OUT / f"profile-{name}-flat.txt"
            flat.write_text(profiler.output_text(unicode=True, flat=True))
            if profiler.last_session is not None:
                profiler.last_session.save(str(stem.with_suffix(".pyisession")))
            say(f"  profile: {stem}.html, .txt (call tree) and {flat.name} (by own time)")
    finally:
        await dispose(engine)
    return timings


def main() -> int:
    from bench.run import main as run_main

    return run_main(["--profile", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
