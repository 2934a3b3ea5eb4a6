"""The tools the benchmark needs, installed on first use and reused after that:
wrk (Debian package), Node 22 (npm package `node@22`, into bench/.cache/node22) and
PostGraphile (npm, pinned by bench/postgraphile/package-lock.json)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.common import BENCH, CACHE, BenchError, is_root, run, say

NODE_DIR = CACHE / "node22"
NODE_MAJOR = 22
POSTGRAPHILE_DIR = BENCH / "postgraphile"


def ensure_wrk() -> str:
    """The wrk binary; installs Debian's package when missing (needs root)."""
    found = shutil.which("wrk")
    if found:
        return found
    if not is_root() or shutil.which("apt-get") is None:
        raise BenchError(
            "wrk is not installed and cannot be installed here (needs root and apt-get): "
            "install it with `apt-get install -y wrk`"
        )
    say("installing wrk (apt-get install -y wrk)")
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if run(["apt-get", "install", "-y", "wrk"], env=env, check=False).returncode != 0:
        run(["apt-get", "update"], env=env)
        run(["apt-get", "install", "-y", "wrk"], env=env)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get installed wrk but it is not on PATH")
    return found


def wrk_version(wrk: str) -> str:
    result = run([wrk, "--version"], check=False)
    return (result.stdout or result.stderr).splitlines()[0].strip() if result.stdout else ""


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise BenchError("npm is needed to install Node 22 and PostGraphile: install nodejs/npm")
    return npm


def _node_version(node: Path) -> str | None:
    if not node.exists():
        return None
    result = run([node, "--version"], check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_node22() -> Path:
    """A Node 22 binary. PostGraphile v5 needs Node >= 22 (it calls Promise.withResolvers);
    the machine's Node 20 starts it but every database query then fails."""
    node = NODE_DIR / "node_modules" / ".bin" / "node"
    version = _node_version(node)
    if version and version.startswith(f"v{NODE_MAJOR}."):
        return node
    say(f"installing Node {NODE_MAJOR} into {NODE_DIR} (npm install node@{NODE_MAJOR})")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    package = NODE_DIR / "package.json"
    if not package.exists():
        package.write_text(json.dumps({"name": "bench-node22", "private": True}) + "\n")
    run(
        [_npm(), "install", "--no-audit", "--no-fund", f"node@{NODE_MAJOR}"],
        cwd=NODE_DIR,
        timeout=600,
    )
    version = _node_version(node)
    if not (version and version.startswith(f"v{NODE_MAJOR}.")):
        raise BenchError(
            f"npm install node@{NODE_MAJOR} did not give a Node {NODE_MAJOR}: {version}"
        )
    return node


def postgraphile_version() -> str:
    """The version package.json pins."""
    pins = json.loads((POSTGRAPHILE_DIR / "package.json").read_text())["dependencies"]
    return str(pins["postgraphile"])


def ensure_postgraphile() -> Path:
    """PostGraphile's CLI entry point, installed from the committed lock file."""
    cli = POSTGRAPHILE_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    installed = POSTGRAPHILE_DIR / "node_modules" / "postgraphile" / "package.json"
    wanted = postgraphile_version()
    if (
        cli.exists()
        and installed.exists()
        and json.loads(installed.read_text()).get("version") == wanted
    ):
        return cli
    say(f"installing PostGraphile {wanted} (npm ci in {POSTGRAPHILE_DIR})")
    run([_npm(), "ci", "--no-audit", "--no-fund"], cwd=POSTGRAPHILE_DIR, timeout=900)
    if not cli.exists():
        raise BenchError(f"npm ci finished but {cli} is missing")
    return cli
