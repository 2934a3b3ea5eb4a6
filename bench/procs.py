"""CPU accounting from /proc, for a benchmark on a shared machine.

- `ForeignCpu` measures how much CPU processes that are not part of the benchmark (another
  checkout's test suite, a build) used during a run: the load tool, the servers and
  PostgreSQL share the same cores, so such work lowers and scatters the figures.
- `settle` waits until a server has finished the requests still in flight when the load tool
  stopped, so that they do not eat into the next server's run.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HZ = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    jiffies: int
    comm: str


def snapshot() -> dict[int, Proc]:
    procs: dict[int, Proc] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.find("(") + 1 : raw.rfind(")")]
        fields = raw[raw.rfind(")") + 2 :].split()
        pid = int(entry.name)
        procs[pid] = Proc(
            pid, int(fields[1]), int(fields[2]), int(fields[11]) + int(fields[12]), comm
        )
    return procs


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _descendants(procs: dict[int, Proc], roots: set[int]) -> set[int]:
    found = set(roots)
    grew = True
    while grew:
        grew = False
        for p in procs.values():
            if p.ppid in found and p.pid not in found:
                found.add(p.pid)
                grew = True
    return found


class ForeignCpu:
    """CPU share used by processes outside the benchmark between start() and stop().

    Ours: the harness and its children (wrk), the servers' process groups, the private
    cluster's postmaster and its children, and (for a shared PostgreSQL) backends whose
    title names the benchmark's database. Processes that start and end between the two
    snapshots are missed, so this is a lower bound."""

    def __init__(self, ours: Callable[[], tuple[set[int], int | None, str]]) -> None:
        self._ours = ours  # -> (server process groups, postmaster pid, database name)
        self._before: dict[int, Proc] = {}
        self._started = 0.0

    def _is_ours(self, p: Proc, mine: set[int], groups: set[int], db_name: str) -> bool:
        if p.pid in mine or p.pgid in groups:
            return True
        return p.comm.startswith("postgres") and db_name in _cmdline(p.pid)

    def start(self) -> None:
        self._before = snapshot()
        self._started = time.monotonic()

    def stop(self) -> float:
        after = snapshot()
        elapsed = max(time.monotonic() - self._started, 1e-3)
        groups, postmaster, db_name = self._ours()
        roots = {os.getpid()} | ({postmaster} if postmaster else set())
        mine = _descendants(after, roots)
        foreign = 0
        for pid, p in after.items():
            if self._is_ours(p, mine, groups, db_name):
                continue
            before = self._before.get(pid)
            foreign += p.jiffies - before.jiffies if before else p.jiffies
        cores = os.cpu_count() or 1
        return round(100 * foreign / HZ / elapsed / cores, 1)


async def settle(pgid: int, *, quiet_s: float = 0.3, limit_s: float = 20) -> float:
    """Wait until the processes of group `pgid` use almost no CPU for `quiet_s`; returns the
    seconds waited."""
    started = time.monotonic()

    def used() -> int:
        return sum(p.jiffies for p in snapshot().values() if p.pgid == pgid)

    last = used()
    while time.monotonic() - started < limit_s:
        await asyncio.sleep(quiet_s)
        now = used()
        # Below 10 % of one core over the interval counts as idle.
        if (now - last) / HZ < 0.1 * quiet_s:
            break
        last = now
    return round(time.monotonic() - started, 2)
