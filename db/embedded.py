"""An embedded PostgreSQL for development when no DATABASE_URL is given.

It uses the `pgserver` package (a PostgreSQL build shipped as a wheel), so a machine with
only Python can run the server. Data lives in the project's git-ignored `.data/` folder.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Protocol, cast

log = logging.getLogger("dealerdesk.embedded")

DATABASE = "dealerdesk"


class _PostgresServer(Protocol):
    def get_uri(self, database: str | None = None) -> str: ...
    def psql(self, command: str) -> str: ...
    def cleanup(self) -> None: ...


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_handles(data_dir: Path) -> None:
    """pgserver stops the server when its last user exits, counting users in a pid file. A
    process killed outright never removes itself, and the server would then never stop:
    drop the pids of processes that are gone."""
    handles = data_dir / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    if isinstance(pids, list):
        handles.write_text(json.dumps([p for p in pids if isinstance(p, int) and _pid_alive(p)]))


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: _PostgresServer | None = None

    def start(self) -> str:
        """Start (initialising on first use) and return a libpq URL for our database."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless.
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import get_server

            self.data_dir.mkdir(parents=True, exist_ok=True)
            _forget_dead_handles(self.data_dir)
            server = cast(_PostgresServer, get_server(self.data_dir, cleanup_mode="stop"))
        self._server = server
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")  # noqa: S608
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE};")
        log.info("embedded PostgreSQL running", extra={"data_dir": str(self.data_dir)})
        return server.get_uri(DATABASE)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
