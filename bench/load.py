"""Driving a server with wrk: one thread, N connections, a Lua script that reports one RESULT
line of JSON (throughput, latency percentiles, socket errors, non-2xx, timeouts, GraphQL
error bodies). The machine's idle and steal CPU shares during the run are recorded too."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from bench.common import LUA, BenchError, num


def _cpu() -> list[int]:
    with open("/proc/stat") as f:
        return [int(v) for v in f.readline().split()[1:]]


async def run_wrk(
    wrk: str,
    url: str,
    *,
    script: str,
    env: dict[str, str],
    seconds: float,
    connections: int,
    timeout_s: int = 10,
) -> dict[str, object]:
    before = _cpu()
    started = time.time()
    process = await asyncio.create_subprocess_exec(
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        f"{timeout_s}s",
        "-s",
        str(LUA / script),
        url,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    after = _cpu()
    stdout = out.decode(errors="replace")
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    if process.returncode != 0 or not lines:
        raise BenchError(f"wrk failed ({process.returncode}):\n{stdout}\n{err.decode()}")
    result: dict[str, object] = json.loads(lines[0][len("RESULT ") :])
    delta = [b - a for a, b in zip(before, after, strict=False)]
    total = sum(delta) or 1
    result["idle_pct"] = round(100 * delta[3] / total, 1)
    result["steal_pct"] = round(100 * delta[7] / total, 1) if len(delta) > 7 else None
    result["started"] = started
    return result


async def background_busy(seconds: float = 3) -> float:
    """The machine's busy CPU share over a few seconds while the benchmark runs nothing: other
    work on a shared machine (a test suite, a build) skews every figure."""
    before = _cpu()
    await asyncio.sleep(seconds)
    delta = [b - a for a, b in zip(before, _cpu(), strict=False)]
    total = sum(delta) or 1
    idle = delta[3] + (delta[4] if len(delta) > 4 else 0)
    return round(100 * (total - idle) / total, 1)


def errors_of(result: dict[str, object]) -> int:
    """Everything that is not a clean answer: socket errors, non-2xx, timeouts, GraphQL
    error bodies and answers without the expected content."""
    keys = ("err_connect", "err_read", "err_write", "err_status", "err_timeout")
    socket_and_status = sum(num(result.get(k)) for k in keys)
    bad = max(num(result.get("gql_errors")), num(result.get("unexpected")))
    return int(socket_and_status + bad)


def body_file(payload: dict[str, object]) -> Path:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(payload, f, separators=(",", ":"))
        return Path(f.name)
