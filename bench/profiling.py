"""In-process cost of the read queries: POST /graphql through the whole ASGI app (the
endpoint, the caller's token and database check, execution, encoding) on the benchmark's
database, as the server runs it in production mode; only uvicorn's HTTP parsing is left out.

Prints milliseconds per request (timed without a profiler) and the server process's CPU per
request, then runs the same requests under pyinstrument and writes
bench/out/profile-<query>.html, profile-<query>.txt (the call tree) and
profile-<query>-flat.txt (functions by their own time), and the raw session
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

from datetime import timedelta

import orjson

from bench.common import DATA_KEY, OUT, TOKEN_SECRET, say
from bench.dataset import DEALERSHIP, SALES_MANAGER
from bench.queries import DEALERDESK, EXPECTED_DEALS
from db.models.enums import Role
from server.app import create_app, signer_for
from server.config import Environment, Settings


async def run_profile(
    database_url: str, names: list[str], iterations: int, warmup: int = 20
) -> dict[str, dict[str, float]]:
    from asgi_lifespan import LifespanManager
    from pyinstrument import Profiler

    settings = Settings(
        app_env=Environment.PRODUCTION,
        database_url=database_url,
        auth_token_secret=TOKEN_SECRET,
        data_encryption_key=DATA_KEY,
        log_level="WARNING",
    )
    app = create_app(settings, database_url)
    token = signer_for(settings).issue(
        user_id=SALES_MANAGER,
        dealership_id=DEALERSHIP,
        role=Role.SALES_MANAGER,
        ttl=timedelta(hours=1),
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"accept", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
    ]

    async def once(query: str) -> bytes:
        """One POST /graphql through the whole ASGI app (endpoint, caller check, execution,
        encoding): everything the server does for a request but uvicorn's HTTP parsing."""
        body = orjson.dumps({"query": query})
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "POST",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "root_path": "",
            "scheme": "http",
            "query_string": b"",
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        sent = False
        chunks: list[bytes] = []

        async def receive() -> dict[str, object]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))  # type: ignore[arg-type]

        await app(scope, receive, send)
        answer = b"".join(chunks)
        if b'"errors"' in answer:
            raise RuntimeError(f"{query[:60]}...: {answer[:300]!r}")
        return answer

    async with LifespanManager(app):
        OUT.mkdir(parents=True, exist_ok=True)
        timings: dict[str, dict[str, float]] = {}
        for name in names:
            query = DEALERDESK[name]
            body = b""
            for _ in range(warmup):
                body = await once(query)
            if name in EXPECTED_DEALS:
                got = len(orjson.loads(body)["data"]["deals"]["nodes"])
                assert got == EXPECTED_DEALS[name], f"{name}: {got} deals"
            samples = []
            cpu_started = time.process_time()
            for _ in range(iterations):
                started = time.perf_counter()
                await once(query)
                samples.append((time.perf_counter() - started) * 1000)
            # The server's own CPU per request (the database's runs in other processes):
            # what bounds a worker's throughput, where the wall time also waits on SQL.
            cpu_ms = (time.process_time() - cpu_started) * 1000 / iterations
            samples.sort()
            timings[name] = {
                "median_ms": round(statistics.median(samples), 3),
                "mean_ms": round(statistics.fmean(samples), 3),
                "p90_ms": round(samples[int(len(samples) * 0.9) - 1], 3),
                "min_ms": round(samples[0], 3),
                "cpu_ms": round(cpu_ms, 3),
                "iterations": iterations,
            }
            say(
                f"in-process {name}: median {timings[name]['median_ms']:.2f} ms, "
                f"mean {timings[name]['mean_ms']:.2f} ms, p90 {timings[name]['p90_ms']:.2f} ms, "
                f"server CPU {cpu_ms:.2f} ms per request "
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
    return timings


def main() -> int:
    from bench.run import main as run_main

    return run_main(["--profile", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
