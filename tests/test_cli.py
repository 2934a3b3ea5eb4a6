"""The command line: tokens for seeded users, the SDL, and configuration errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from schema.root import schema
from server.config import Settings
from server.tokens import TokenSigner


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def cli_env(database_url: str, settings: Settings) -> dict[str, str]:
    import os

    assert settings.auth_token_secret is not None
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "AUTH_TOKEN_SECRET": settings.auth_token_secret.get_secret_value(),
    }


def test_seed_then_token(cli_env: dict[str, str], signer: TokenSigner) -> None:
    seeded = _run(["seed", "--demo"], cli_env)
    assert seeded.returncode == 0, seeded.stderr
    assert "manager@demo.example" in seeded.stdout
    assert "sales_manager" in seeded.stdout
    again = _run(["seed", "--demo"], cli_env)  # idempotent
    assert again.returncode == 0, again.stderr

    result = _run(["token", "manager@demo.example"], cli_env)
    assert result.returncode == 0, result.stderr
    principal = signer.verify(result.stdout.strip())
    assert principal.role.value == "sales_manager"


def test_token_for_an_unknown_user_fails_clearly(cli_env: dict[str, str]) -> None:
    result = _run(["token", "nobody@nowhere.example"], cli_env)
    assert result.returncode != 0
    assert "no user with e-mail nobody@nowhere.example" in result.stderr


def test_export_schema_prints_the_sdl(cli_env: dict[str, str]) -> None:
    result = _run(["export-schema"], cli_env)
    assert result.returncode == 0
    assert result.stdout.strip() == schema.as_str().strip()


def test_bad_configuration_names_the_variable(cli_env: dict[str, str]) -> None:
    result = _run(["migrate"], {**cli_env, "DB_POOL_MAX": "many"})
    assert result.returncode == 2
    assert "DB_POOL_MAX" in result.stderr
