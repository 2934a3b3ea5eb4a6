"""GraphQL-over-HTTP conformance: graphql-http's audit suite against `dealerdesk serve`.

The audit is a small Node project in tests/http_audit (graphql-http pinned by its
package-lock.json), installed with `npm ci` on first use. Node.js and npm are required: this
test fails, it does not skip, when they are missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from server.config import Settings
from tests.helpers import live_server

AUDIT = Path(__file__).resolve().parent / "http_audit"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` is not on PATH: the GraphQL-over-HTTP audit (tests/http_audit) needs "
            "Node.js 18 or newer with npm. Install them (e.g. `apt-get install nodejs npm`)."
        )
    return path


def _installed() -> bool:
    """graphql-http is in node_modules at the version package.json pins."""
    wanted = json.loads((AUDIT / "package.json").read_text())["dependencies"]["graphql-http"]
    manifest = AUDIT / "node_modules" / "graphql-http" / "package.json"
    return manifest.exists() and json.loads(manifest.read_text())["version"] == wanted


@pytest.fixture(scope="module")
def node() -> str:
    node = _tool("node")
    if not _installed():
        done = subprocess.run(
            [_tool("npm"), "ci", "--no-audit", "--no-fund"],
            cwd=AUDIT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed in {AUDIT}:\n{done.stdout}\n{done.stderr}"
    return node


def test_graphql_over_http_audit_passes_without_warnings(
    node: str, database_url: str, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert settings.auth_token_secret is not None
    with live_server(database_url, settings.auth_token_secret.get_secret_value()) as server:
        done = subprocess.run(
            [node, "audit.cjs", f"{server.url}/graphql"],
            cwd=AUDIT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    with capsys.disabled():
        print(
            f"\ngraphql-http audit: {summary['total']} audits, {summary['ok']} ok, "
            f"{summary['notice']} notice, {summary['warn']} warn, {summary['error']} error"
        )
    assert summary["error"] == 0, done.stderr
    assert summary["warn"] == 0, done.stderr
    assert summary["notice"] == 0, done.stderr
    assert summary["ok"] == summary["total"] > 50
