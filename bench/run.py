"""dealerdesk's load benchmark, beside PostGraphile v5 on the same data, in one command.

    .venv/bin/python bench/run.py                     # the full run (about 14 minutes)
    .venv/bin/python bench/run.py --rounds 1 --secs 10 --warmup 3      # a quick one
    .venv/bin/python bench/run.py --servers dd2,pgl --queries Q3       # one comparison
    .venv/bin/python bench/run.py --profile           # in-process profiles of Q2 and Q3

Steps: install what is missing (wrk, Node 22, PostGraphile: bench/tools.py); start a private
PostgreSQL 15 cluster in bench/.cache/pg unless --database-url names a server
(bench/pgcluster.py); build the standard data set through the migrations unless it exists
(bench/dataset.py); start dealerdesk with 1 and 2 workers and PostGraphile
(bench/servers.py); check both servers return the same data; count SQL statements per
request (bench/sqlcount.py); load each server with wrk, servers alternating inside each round
(bench/load.py); race 50 createDeal calls for one vehicle (bench/race.py); write
bench/out/results.json and print markdown tables. Everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx

from bench import dataset, load, procs, race, sqlcount, tools
from bench.common import (
    DEFAULT_DB_NAME,
    DEFAULT_PG_PORT,
    OUT,
    PORTS,
    ROOT,
    TOKEN_SECRET,
    BenchError,
    num,
    run,
    say,
)
from bench.pgcluster import Cluster
from bench.queries import (
    ALL_QUERIES,
    CREATE_DEAL,
    EXPECTED_DEALS,
    READ_QUERIES,
    global_id,
    normalise,
    output_fields,
    query_for,
)
from bench.servers import Server, start_dealerdesk, start_postgraphile, stop, wait_ready
from db.models.enums import Role
from server.app import signer_for
from server.config import Settings

SERVER_NAMES = ("dd1", "dd2", "pgl")
# query -> server -> figures (also server -> query -> figures for the SQL counts)
Summary = dict[str, dict[str, dict[str, object]]]
RLS_NOTE = (
    "PostGraphile connects as the postgres superuser, so row-level security does not apply "
    "to it (it is told the dealership in each query); dealerdesk runs every query as the "
    "non-superuser application role under row-level security, with authentication on."
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Load-test dealerdesk beside PostGraphile v5 on the standard data set.",
    )
    p.add_argument("--servers", default="dd1,dd2,pgl", help="of dd1, dd2, pgl")
    p.add_argument("--queries", default=",".join(ALL_QUERIES), help="of " + ",".join(ALL_QUERIES))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--secs", type=float, default=15, help="seconds of each measured run")
    p.add_argument("--warmup", type=float, default=5, help="seconds of warm-up per pair")
    p.add_argument("--conns", type=int, default=32, help="wrk connections")
    p.add_argument(
        "--sql-requests", type=int, default=50, help="sequential requests for SQL counts (0: skip)"
    )
    p.add_argument("--no-race", action="store_true", help="skip the 50-racer createDeal case")
    p.add_argument(
        "--create-cap",
        type=int,
        default=1500,
        help="createDeal/s a run may reach: vehicles prepared per run = secs x this",
    )
    p.add_argument(
        "--database-url",
        help="use this PostgreSQL server (postgresql://superuser@host:port/postgres) "
        "instead of the private cluster",
    )
    p.add_argument("--pg-port", type=int, default=DEFAULT_PG_PORT)
    p.add_argument("--db-name", default=DEFAULT_DB_NAME)
    p.add_argument("--rebuild", action="store_true", help="rebuild the data set")
    p.add_argument("--skip-check", action="store_true", help="do not compare the servers' data")
    p.add_argument("--out", type=Path, default=OUT / "results.json")
    p.add_argument("--profile", action="store_true", help="in-process profiles only (no load)")
    p.add_argument("--profile-queries", default="Q2,Q3")
    p.add_argument("--profile-iterations", type=int, default=200)
    args = p.parse_args(argv)
    args.server_list = [s for s in args.servers.split(",") if s]
    args.query_list = [q for q in args.queries.split(",") if q]
    for s in args.server_list:
        if s not in SERVER_NAMES:
            p.error(f"unknown server {s!r}: use {', '.join(SERVER_NAMES)}")
    for q in args.query_list:
        if q not in ALL_QUERIES:
            p.error(f"unknown query {q!r}: use {', '.join(ALL_QUERIES)}")
    return args


def issue_token(database_url: str) -> str:
    """A bearer token of the sales manager of dealership 3, signed with the servers' secret."""
    settings = Settings(database_url=database_url, auth_token_secret=TOKEN_SECRET)
    return signer_for(settings).issue(
        user_id=dataset.SALES_MANAGER,
        dealership_id=dataset.DEALERSHIP,
        role=Role.SALES_MANAGER,
        ttl=timedelta(hours=12),
    )


class Harness:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cluster: Cluster | None = None
        self.servers: dict[str, Server] = {}
        self.db_url = ""
        self.token = ""
        self.wrk = ""
        self.results: dict[str, object] = {}
        self.runs: list[dict[str, object]] = []
        self.run_tag = datetime.now(UTC).strftime("%H%M%S")
        self.salesperson = global_id("User", dataset.SALESPERSON)
        self.foreign = procs.ForeignCpu(self._ours)

    def _ours(self) -> tuple[set[int], int | None, str]:
        groups = {s.process.pid for s in self.servers.values() if s.process is not None}
        postmaster = self.cluster.postmaster_pid() if self.cluster else None
        return groups, postmaster, self.args.db_name

    # --- setup ----------------------------------------------------------------------------

    async def prepare_database(self) -> None:
        if self.args.database_url:
            server_url = self.args.database_url
        else:
            self.cluster = Cluster(self.args.pg_port)
            self.cluster.start()
            server_url = self.cluster.server_url
        self.db_url = await dataset.ensure_dataset(
            server_url, self.args.db_name, rebuild=self.args.rebuild
        )

    async def start_servers(self) -> None:
        node = cli = None
        if "pgl" in self.args.server_list:
            node = tools.ensure_node22()
            cli = tools.ensure_postgraphile()
        for name in self.args.server_list:
            if name == "pgl":
                assert node is not None
                assert cli is not None
                server = start_postgraphile(PORTS[name], self.db_url, node, cli)
            else:
                server = start_dealerdesk(name, PORTS[name], self.db_url)
            self.servers[name] = server
        for server in self.servers.values():
            await wait_ready(server)
            say(f"{server.name} ({server.describe()}) is up on {server.url}")

    def stop_servers(self) -> None:
        for server in self.servers.values():
            stop(server)
        self.servers.clear()

    # --- requests -------------------------------------------------------------------------

    def headers(self, server: Server) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if server.is_dealerdesk else {}

    def read_servers(self) -> list[Server]:
        return list(self.servers.values())

    def write_servers(self) -> list[Server]:
        return [s for s in self.servers.values() if s.is_dealerdesk]

    async def post(
        self, http: httpx.AsyncClient, server: Server, body: dict[str, object]
    ) -> dict[str, object]:
        response = await http.post(server.url, json=body, headers=self.headers(server))
        if response.status_code != 200:
            raise BenchError(f"{server.name}: HTTP {response.status_code}: {response.text[:500]}")
        answer: dict[str, object] = response.json()
        return answer

    # --- the data check -------------------------------------------------------------------

    async def check(self) -> dict[str, object]:
        """Every read query answers without errors on every server (and lists the deals it
        should); dealerdesk and PostGraphile return the same data for Q2, Q3 and Q3-100."""
        report: dict[str, object] = {}
        async with httpx.AsyncClient(timeout=30) as http:
            for name in READ_QUERIES:
                answers: dict[str, object] = {}
                sizes: dict[str, int] = {}
                for server in self.read_servers():
                    body = await self.post(http, server, {"query": query_for(server.kind, name)})
                    if body.get("errors") or body.get("data") is None:
                        raise BenchError(f"{name} on {server.name} failed: {str(body)[:800]}")
                    data = normalise(body["data"])
                    if name in EXPECTED_DEALS:
                        assert isinstance(data, dict)
                        got = len(data["deals"])
                        if got != EXPECTED_DEALS[name]:
                            raise BenchError(f"{name} on {server.name}: {got} deals")
                    elif name == "Q2" and not (isinstance(data, dict) and data.get("deal")):
                        raise BenchError(f"Q2 on {server.name} found no deal: {body}")
                    answers[server.name] = data
                    sizes[server.name] = len(json.dumps(body, separators=(",", ":")))
                reference = next(iter(answers.values()))
                same = all(a == reference for a in answers.values())
                fields = output_fields(reference)
                report[name] = {"same_data": same, "output_fields": fields, "bytes": sizes}
                if not same and not self.args.skip_check:
                    mismatch = {k: str(v)[:400] for k, v in answers.items()}
                    raise BenchError(f"{name}: the servers' data differ: {mismatch}")
                if len(answers) > 1:
                    say(
                        f"check {name}: {'same data' if same else 'DIFFERENT DATA'} on "
                        f"{', '.join(answers)} ({fields} output fields; bytes {sizes})"
                    )
        return report

    # --- SQL statements per request --------------------------------------------------------

    async def sql_counts(self) -> dict[str, object]:
        n = self.args.sql_requests
        counts: dict[str, object] = {}
        if n <= 0:
            return counts
        why_not = await sqlcount.available(self.db_url)
        if why_not:
            say(f"SQL counts skipped: {why_not}")
            return {"skipped": why_not}
        async with httpx.AsyncClient(timeout=30) as http:
            for server in self.read_servers():
                per_query: dict[str, object] = {}
                for name in self.args.query_list:
                    if name == CREATE_DEAL:
                        if not server.is_dealerdesk:
                            continue
                        per_query[name] = await self._sql_create_deal(http, server, n)
                        continue
                    body: dict[str, object] = {"query": query_for(server.kind, name)}

                    async def send(server: Server = server, body: dict[str, object] = body) -> None:
                        answer = await self.post(http, server, body)
                        if answer.get("errors"):
                            raise BenchError(f"{server.name}: {answer['errors']}")

                    per_query[name] = await sqlcount.measure(self.db_url, send, n)
                counts[server.name] = per_query
                say(
                    f"SQL/request on {server.name}: "
                    + ", ".join(
                        f"{q} {cast(dict[str, object], v)['per_request']}"
                        for q, v in per_query.items()
                    )
                )
        return counts

    async def _sql_create_deal(
        self, http: httpx.AsyncClient, server: Server, n: int
    ) -> dict[str, object]:
        vehicles = iter(await dataset.add_vehicles(self.db_url, n + 10, f"sql{server.name}"))
        counter = iter(range(10**9))

        async def send() -> None:
            body = race.create_deal_body(
                global_id("Vehicle", next(vehicles)),
                self.salesperson,
                next(counter),
                f"sql-{server.name}-{self.run_tag}",
            )
            answer = await self.post(http, server, body)
            data = cast(dict[str, dict[str, object]], answer.get("data") or {})
            if (data.get("createDeal") or {}).get("__typename") != "CreateDealSuccess":
                raise BenchError(f"createDeal on {server.name}: {answer}")

        try:
            return await sqlcount.measure(self.db_url, send, n)
        finally:
            await dataset.reset(self.db_url)

    # --- load -------------------------------------------------------------------------------

    async def wrk_read(self, server: Server, name: str, seconds: float) -> dict[str, object]:
        path = load.body_file({"query": query_for(server.kind, name)})
        try:
            env = {
                "BODY": str(path),
                "TOKEN": self.token if server.is_dealerdesk else "",
                "EXPECT": "__typename" if name == "Q1" else "dealNumber",
            }
            return await load.run_wrk(
                self.wrk,
                server.url,
                script="post.lua",
                env=env,
                seconds=seconds,
                connections=self.args.conns,
            )
        finally:
            path.unlink(missing_ok=True)

    async def wrk_create_deal(self, server: Server, seconds: float) -> dict[str, object]:
        count = max(100, math.ceil(seconds * self.args.create_cap))
        tag = f"{server.name}-{self.run_tag}-{len(self.runs)}"
        ids = await dataset.add_vehicles(self.db_url, count, tag)
        vehicles = OUT / "vehicles.txt"
        vehicles.write_text("".join(global_id("Vehicle", i) + "\n" for i in ids))
        template = json.dumps(
            race.create_deal_body("@V@", self.salesperson, "@N@", tag), separators=(",", ":")
        )
        try:
            result = await load.run_wrk(
                self.wrk,
                server.url,
                script="create_deal.lua",
                env={"VEHICLES": str(vehicles), "TEMPLATE": template, "TOKEN": self.token},
                seconds=seconds,
                connections=self.args.conns,
            )
        finally:
            created = await dataset.reset(self.db_url)
            vehicles.unlink(missing_ok=True)
        result["vehicles_prepared"] = count
        result["deals_created"] = created
        if num(result.get("exhausted")):
            say(f"  the {count} prepared vehicles ran out: raise --create-cap")
        return result

    async def one_run(self, server: Server, name: str, seconds: float) -> dict[str, object]:
        self.foreign.start()
        if name == CREATE_DEAL:
            result = await self.wrk_create_deal(server, seconds)
        else:
            result = await self.wrk_read(server, name, seconds)
        result["foreign_cpu_pct"] = self.foreign.stop()
        # Requests still in flight when wrk stopped must not eat into the next run.
        if server.process is not None:
            result["settle_s"] = await procs.settle(server.process.pid)
        return result

    async def measure_load(self) -> None:
        a = self.args
        for name in a.query_list:
            servers = self.write_servers() if name == CREATE_DEAL else self.read_servers()
            if a.warmup > 0:
                for server in servers:
                    await self.one_run(server, name, a.warmup)
            for rnd in range(a.rounds):
                for server in servers:
                    r = await self.one_run(server, name, a.secs)
                    r.update(server=server.name, query=name, round=rnd)
                    self.runs.append(r)
                    say(
                        f"{name:8} {server.name:4} round {rnd + 1}: {r['rps']:9.1f} req/s  "
                        f"p50 {r['p50_ms']:8.2f} ms  p99 {r['p99_ms']:8.2f} ms  "
                        f"errors {load.errors_of(r)}  other work {r['foreign_cpu_pct']}% CPU  "
                        f"steal {r['steal_pct']}%"
                    )

    async def races(self) -> dict[str, object]:
        results: dict[str, object] = {}
        for server in self.write_servers():
            ids = await dataset.add_vehicles(self.db_url, 1, f"race-{server.name}-{self.run_tag}")
            try:
                outcome = await race.race(server.url, self.token, dataset.SALESPERSON, ids[0])
            finally:
                await dataset.reset(self.db_url)
            results[server.name] = outcome
            say(
                f"race on {server.name}: 50 createDeal for one vehicle settled in "
                f"{outcome['settle_ms']} ms, {outcome['winners']} winner(s): {outcome['outcomes']}"
            )
        return results

    async def check_background(self) -> float:
        busy = await load.background_busy()
        if busy > 10:
            say(
                f"WARNING: the machine is {busy:.0f}% busy with other work while the benchmark "
                "is idle: its figures will be low and noisy"
            )
        return busy

    # --- the whole run ----------------------------------------------------------------------

    async def main(self) -> dict[str, object]:
        a = self.args
        started = time.monotonic()
        OUT.mkdir(parents=True, exist_ok=True)
        self.wrk = tools.ensure_wrk()
        await self.prepare_database()
        self.token = issue_token(self.db_url)
        busy_before = await self.check_background()
        await self.start_servers()
        check = await self.check()
        sql = await self.sql_counts()
        await self.measure_load()
        races = {} if a.no_race or CREATE_DEAL not in a.query_list else await self.races()
        await vacuum(self.db_url)
        described = {s.name: s.describe() for s in self.servers.values()}
        self.stop_servers()
        busy_after = await self.check_background()
        self.results = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                **await machine(self.db_url, self.wrk),
                "background_busy_pct_before": busy_before,
                "background_busy_pct_after": busy_after,
            },
            "config": {
                "servers": described,
                "queries": a.query_list,
                "rounds": a.rounds,
                "secs": a.secs,
                "warmup": a.warmup,
                "connections": a.conns,
                "wrk_threads": 1,
                "wrk_timeout_s": 10,
                "sql_requests": a.sql_requests,
                "dataset": dataset.version_tag(),
                "acting_as": "sales manager of dealership 3 (bearer token)",
            },
            "notes": [RLS_NOTE],
            "check": check,
            "summary": summarise(self.runs),
            "sql": sql,
            "race": races,
            "runs": self.runs,
            "elapsed_s": round(time.monotonic() - started, 1),
        }
        self.results["ratios"] = ratios(cast(Summary, self.results["summary"]))
        foreign = [num(r.get("foreign_cpu_pct")) for r in self.runs]
        self.results["foreign_cpu_pct_max"] = max(foreign, default=0.0)
        if max(foreign, default=0.0) > 5:
            say(
                f"WARNING: other work used up to {max(foreign):.0f}% of the CPU during "
                "measured runs: compare figures from one run only, and rerun on a quiet machine"
            )
        return self.results

    async def close(self) -> None:
        self.stop_servers()
        if self.db_url:
            try:
                await dataset.reset(self.db_url)
            except (OSError, asyncpg.PostgresError) as exc:
                say(f"could not reset the data set: {exc}")
        if self.cluster is not None:
            self.cluster.stop()


async def vacuum(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE deals, deal_scenarios, customers, vehicles, audit_logs")
    finally:
        await conn.close()


def _cpu_and_memory() -> tuple[str, int]:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        meminfo = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return "", 0
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "")
    return cpu, int(meminfo[0].split()[1])


async def machine(url: str, wrk: str) -> dict[str, object]:
    cpu, mem_kib = _cpu_and_memory()
    conn = await asyncpg.connect(url)
    try:
        pg = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    commit = run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=False).stdout.strip()
    node = tools.NODE_DIR / "node_modules" / ".bin" / "node"
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgresql": pg,
        "node": run([node, "--version"], check=False).stdout.strip() if node.exists() else None,
        "postgraphile": tools.postgraphile_version(),
        "wrk": tools.wrk_version(wrk),
        "dealerdesk_commit": commit,
    }


# --- summaries --------------------------------------------------------------------------------


def summarise(runs: list[dict[str, object]]) -> Summary:
    """Per query and server: the median of the rounds (min and max of req/s), error totals."""
    grouped: dict[tuple[str, str], list[dict[str, object]]] = {}
    for r in runs:
        grouped.setdefault((str(r["query"]), str(r["server"])), []).append(r)
    out: Summary = {}

    def values(rs: list[dict[str, object]], key: str) -> list[float]:
        return [num(r[key]) for r in rs]

    def total(rs: list[dict[str, object]], key: str) -> int:
        return int(sum(num(r.get(key)) for r in rs))

    for (query, server), rs in grouped.items():
        rps = values(rs, "rps")
        out.setdefault(query, {})[server] = {
            "rounds": len(rs),
            "rps": round(statistics.median(rps), 1),
            "rps_min": round(min(rps), 1),
            "rps_max": round(max(rps), 1),
            "p50_ms": round(statistics.median(values(rs, "p50_ms")), 2),
            "p90_ms": round(statistics.median(values(rs, "p90_ms")), 2),
            "p99_ms": round(statistics.median(values(rs, "p99_ms")), 2),
            "max_ms": round(max(values(rs, "max_ms")), 2),
            "requests": total(rs, "requests"),
            "non_2xx": total(rs, "err_status"),
            "timeouts": total(rs, "err_timeout"),
            "socket_errors": total(rs, "err_connect")
            + total(rs, "err_read")
            + total(rs, "err_write"),
            "graphql_errors": total(rs, "gql_errors"),
            "unexpected": total(rs, "unexpected"),
            "foreign_cpu_pct_max": max(values(rs, "foreign_cpu_pct")),
        }
    return out


def ratios(summary: Summary) -> dict[str, dict[str, float]]:
    """dealerdesk req/s as a share of PostGraphile's, per query and dealerdesk server."""
    out: dict[str, dict[str, float]] = {}
    for query, servers in summary.items():
        peer = servers.get("pgl")
        if not peer or not num(peer["rps"]):
            continue
        for name, s in servers.items():
            if name != "pgl":
                out.setdefault(query, {})[name] = round(
                    num(s["rps"]) / num(peer["rps"]),
                    3,
                )
    return out


def _n(value: object, digits: int = 1) -> str:
    number = num(value)
    if number >= 100:
        return f"{number:,.0f}"
    return f"{number:.{digits}f}"


def tables(results: dict[str, object]) -> str:
    summary = cast(Summary, results["summary"])
    sql = cast(Summary, results.get("sql") or {})
    ratio = cast(dict[str, dict[str, float]], results["ratios"])
    machine_info = cast(dict[str, object], results["machine"])
    config = cast(dict[str, object], results["config"])
    lines = [
        f"Run of {results['date']} on {machine_info['cores']} cores; "
        f"wrk -t1 -c{config['connections']}, "
        f"{config['rounds']} round(s) x {config['secs']:g} s after {config['warmup']:g} s warm-up, "
        "servers alternating; req/s and latencies are medians of the rounds. "
        f"Other work kept the CPU {machine_info['background_busy_pct_before']}% busy before "
        f"the run, {machine_info['background_busy_pct_after']}% after it, and at most "
        f"{results.get('foreign_cpu_pct_max', '?')}% during a measured run.",
        "",
        "| query | server | req/s (min-max) | p50 ms | p90 ms | p99 ms | max ms | "
        "non-2xx / timeouts / GraphQL errors | SQL/req | vs PostGraphile | other work CPU % |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for query, servers in summary.items():
        for name, s in servers.items():
            counted = sql.get(name, {}).get(query) if isinstance(sql.get(name), dict) else None
            per_req = _n(counted["per_request"], 2) if counted else "-"
            share = ratio.get(query, {}).get(name)
            bad = max(num(s["graphql_errors"]), num(s["unexpected"]))
            errors = f"{s['non_2xx']} / {s['timeouts']} / {bad:.0f}"
            if s["socket_errors"]:
                errors += f" (+{s['socket_errors']} socket)"
            lines.append(
                f"| {query} | {name} | {_n(s['rps'])} ({_n(s['rps_min'])}-{_n(s['rps_max'])}) | "
                f"{_n(s['p50_ms'], 2)} | {_n(s['p90_ms'], 2)} | {_n(s['p99_ms'], 2)} | "
                f"{_n(s['max_ms'], 2)} | {errors} | {per_req} | "
                f"{f'{share:.0%}' if share is not None else '-'} | "
                f"{s['foreign_cpu_pct_max']} |"
            )
    if sql and "skipped" not in sql:
        kinds = ["begin", "tenant", "select", "insert", "update", "delete", "commit", "rollback"]
        lines += [
            "",
            f"SQL statements per request (pg_stat_statements, {config['sql_requests']} "
            "sequential requests; top-level statements):",
            "",
            "| server | query | total | "
            + " | ".join(k.upper() for k in kinds)
            + " | other | DB exec ms/req |",
            "|---|---|---|" + "---|" * (len(kinds) + 2),
        ]
        for name, per_query in sql.items():
            for query, c in per_query.items():
                by_kind = cast(dict[str, float], c["by_kind"])
                other = sum(v for k, v in by_kind.items() if k not in kinds)
                lines.append(
                    f"| {name} | {query} | {_n(c['per_request'], 2)} | "
                    + " | ".join(_n(by_kind.get(k, 0), 2) for k in kinds)
                    + f" | {_n(other, 2)} | {_n(c['db_exec_ms_per_request'], 2)} |"
                )
    race_results = cast(dict[str, dict[str, object]], results.get("race") or {})
    if race_results:
        lines += [
            "",
            "50 concurrent createDeal for one vehicle:",
            "",
            "| server | settle ms | winners | outcomes |",
            "|---|---|---|---|",
        ]
        for name, r in race_results.items():
            lines.append(f"| {name} | {r['settle_ms']} | {r['winners']} | {r['outcomes']} |")
    lines += ["", RLS_NOTE]
    return "\n".join(lines)


async def amain(argv: Sequence[str] | None) -> int:
    args = parse_args(argv)
    harness = Harness(args)
    try:
        if args.profile:
            from bench.profiling import run_profile

            await harness.prepare_database()
            names = [q for q in args.profile_queries.split(",") if q]
            timings = await run_profile(harness.db_url, names, args.profile_iterations)
            OUT.mkdir(parents=True, exist_ok=True)
            (OUT / "profile.json").write_text(json.dumps(timings, indent=2) + "\n")
            return 0
        results = await harness.main()
    except BenchError as exc:
        say(f"failed: {exc}")
        return 1
    finally:
        await harness.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print()
    print(tables(results))
    print()
    say(f"results in {args.out} ({results['elapsed_s']} s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(amain(argv))


if __name__ == "__main__":
    sys.exit(main())
