"""Starting and stopping the servers under test, each in its own process group.

- dealerdesk: `dealerdesk serve` (uvicorn, uvloop, httptools) as users run it, APP_ENV=production,
  authentication and row-level security on, LOG_LEVEL=WARNING; `dd1` with 1 worker, `dd2`
  with 2 workers.
- PostGraphile v5 (`pgl`): the Amber preset, a pool of 10, NODE_ENV=production, Node 22. It
  connects as the database superuser, so row-level security does not apply to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import DATA_KEY, OUT, ROOT, TOKEN_SECRET, BenchError, port_free
from bench.tools import POSTGRAPHILE_DIR

WORKERS = {"dd1": 1, "dd2": 2}


@dataclass
class Server:
    name: str
    kind: str  # "dealerdesk" or "postgraphile"
    port: int
    workers: int = 1
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def is_dealerdesk(self) -> bool:
        return self.kind == "dealerdesk"

    def describe(self) -> str:
        if self.is_dealerdesk:
            return f"dealerdesk, {self.workers} worker{'s' if self.workers > 1 else ''}"
        return "PostGraphile v5"


def _dealerdesk_command() -> list[str]:
    script = Path(sys.executable).parent / "dealerdesk"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "server.cli"]


def _spawn(cmd: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - fixed argument lists
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def start_dealerdesk(name: str, port: int, database_url: str) -> Server:
    workers = WORKERS[name]
    if not port_free(port):
        raise BenchError(f"port {port} for {name} is in use")
    env = {
        **os.environ,
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        "AUTH_TOKEN_SECRET": TOKEN_SECRET,
        # Production requires a data key; the bench's data has no encrypted fields to read.
        "DATA_ENCRYPTION_KEY": DATA_KEY,
        "LOG_LEVEL": "WARNING",
    }
    log = OUT / "logs" / f"{name}.log"
    cmd = [
        *_dealerdesk_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    server = Server(name, "dealerdesk", port, workers, log=log)
    server.process = _spawn(cmd, env=env, cwd=ROOT, log=log)
    return server


def start_postgraphile(port: int, database_url: str, node: Path, cli: Path) -> Server:
    if not port_free(port):
        raise BenchError(f"port {port} for PostGraphile is in use")
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "PG_POOL_MAX": "10",
    }
    log = OUT / "logs" / "pgl.log"
    server = Server("pgl", "postgraphile", port, log=log)
    server.process = _spawn(
        [str(node), str(cli), "-C", "./graphile.config.mjs"],
        env=env,
        cwd=POSTGRAPHILE_DIR,
        log=log,
    )
    return server


async def wait_ready(server: Server, limit_s: float = 90) -> None:
    """Until the server answers `{ __typename }`."""
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            if server.process is not None and server.process.poll() is not None:
                raise BenchError(f"{server.name} exited at start-up; see {server.log}")
            try:
                response = await http.post(server.url, json={"query": "{ __typename }"})
                if response.status_code == 200 and "errors" not in response.json():
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    raise BenchError(f"{server.name} did not answer within {limit_s:.0f} s; see {server.log}")


def stop(server: Server, timeout: float = 30) -> None:
    process = server.process
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        # The group is the one this harness created for the server (start_new_session).
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    # Anything left in the server's own process group (e.g. a uvicorn worker) goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    server.process = None
