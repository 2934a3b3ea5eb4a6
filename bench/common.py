"""Paths, constants and small helpers shared by the benchmark modules."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CACHE = BENCH / ".cache"  # git-ignored: tools, the private PostgreSQL cluster
OUT = BENCH / "out"  # git-ignored: results.json, logs, profiles
LUA = BENCH / "lua"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The secret the dealerdesk servers verify bearer tokens with; the harness issues its token
# with it. Only ever used against the benchmark's own throw-away servers.
TOKEN_SECRET = "bench-token-secret-" + "x" * 40
# A fixed 32-byte key (base64) for the servers' DATA_ENCRYPTION_KEY: bench data only.
DATA_KEY = "YmVuY2gtZGF0YS1rZXktMzItYnl0ZXMtbG9uZy4uLi4="

DEFAULT_PG_PORT = 55433
DEFAULT_DB_NAME = "dealerdesk_bench"
PORTS = {"dd1": 55501, "dd2": 55502, "pgl": 55678}


class BenchError(Exception):
    """A setup step failed; the message says what to do."""


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def run(
    cmd: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; on failure raise BenchError with that output."""
    args = [str(c) for c in cmd]
    result = subprocess.run(  # noqa: S603 - fixed argument lists built by the harness
        args,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise BenchError(
            f"`{' '.join(args)}` exited with {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def num(value: object) -> float:
    """A number read back from JSON-ish results (0 for anything else)."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def port_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port (connections in TIME_WAIT do not count: the servers
    bind with SO_REUSEADDR too)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def is_root() -> bool:
    return os.geteuid() == 0
