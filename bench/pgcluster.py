"""A private PostgreSQL 15 cluster for the measurements, in bench/.cache/pg.

Created with initdb (as the `postgres` OS user) on first use and configured like the peer
measurements' cluster: 127.0.0.1 only, pg_stat_statements preloaded and tracking nested
statements too, 512 MB shared buffers, 200 connections, synchronous_commit off. The system's
own cluster and its configuration are never touched.
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from bench.common import CACHE, BenchError, is_root, port_free, run, say

PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
CLUSTER_DIR = CACHE / "pg"
DATA = CLUSTER_DIR / "data"
LOG = CLUSTER_DIR / "log.txt"
OS_USER = "postgres"

SETTINGS = """\
# Written by bench/pgcluster.py on every start; edits here are overwritten.
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
max_connections = 200
shared_buffers = 512MB
work_mem = 16MB
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.max = 10000
synchronous_commit = off
"""


class Cluster:
    def __init__(self, port: int) -> None:
        self.port = port
        self.started_here = False

    @property
    def server_url(self) -> str:
        """URL of the maintenance database (as the superuser, trust auth)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str | Path, check: bool = True) -> str:
        cmd = [str(a) for a in args]
        if pwd.getpwuid(os.geteuid()).pw_name != OS_USER:
            cmd = ["runuser", "-u", OS_USER, "--", *cmd]
        return run(cmd, check=check, timeout=300).stdout

    def _check_host(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise BenchError(
                f"PostgreSQL 15 server binaries not found in {PG_BIN} (apt-get install "
                "postgresql-15), or pass --database-url to use a running server"
            )
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            raise BenchError(f"there is no `{OS_USER}` OS user to run the cluster as") from None
        if not is_root() and pwd.getpwuid(os.geteuid()).pw_name != OS_USER:
            raise BenchError(
                "the private cluster is run as the `postgres` OS user, which needs root: run "
                "as root, or pass --database-url postgresql://USER@HOST:PORT/postgres"
            )

    def ensure_initialized(self) -> None:
        self._check_host()
        if (DATA / "PG_VERSION").exists():
            return
        say(f"initdb of a private PostgreSQL 15 cluster in {DATA}")
        if DATA.exists():
            shutil.rmtree(DATA)
        CLUSTER_DIR.mkdir(parents=True, exist_ok=True)
        pg = pwd.getpwnam(OS_USER)
        os.chown(CLUSTER_DIR, pg.pw_uid, pg.pw_gid)
        self._as_postgres(
            PG_BIN / "initdb",
            "-D",
            DATA,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        with (DATA / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'bench.conf'\n")

    def postmaster_pid(self) -> int | None:
        try:
            return int((DATA / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        out = self._as_postgres(PG_BIN / "pg_ctl", "-D", DATA, "status", check=False)
        return "server is running" in out

    def start(self) -> None:
        self.ensure_initialized()
        wanted = SETTINGS.format(port=self.port, socket_dir=CLUSTER_DIR)
        conf = DATA / "bench.conf"
        changed = not conf.exists() or conf.read_text() != wanted
        if self.running():
            if not changed:
                return
            say("cluster settings changed: restarting it")
            self._as_postgres(PG_BIN / "pg_ctl", "-D", DATA, "-m", "fast", "-w", "stop")
        if changed:
            conf.write_text(wanted)
            pg = pwd.getpwnam(OS_USER)
            os.chown(conf, pg.pw_uid, pg.pw_gid)
        if not port_free(self.port):
            raise BenchError(f"port {self.port} is in use: pick another with --pg-port")
        say(f"starting the private cluster on 127.0.0.1:{self.port}")
        self._as_postgres(PG_BIN / "pg_ctl", "-D", DATA, "-l", LOG, "-w", "-t", "120", "start")
        self.started_here = True

    def stop(self) -> None:
        if self.started_here and self.running():
            say("stopping the private cluster")
            self._as_postgres(PG_BIN / "pg_ctl", "-D", DATA, "-m", "fast", "-w", "stop")
            self.started_here = False
