"""Configuration is validated at start-up with messages that name the variable."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("DB_POOL_MAX", "lots"),
        ("DB_POOL_MAX", "0"),
        ("DB_STATEMENT_TIMEOUT", "-5"),
        ("AUTH_TOKEN_SECRET", "short"),
    ],
)
def test_bad_variable_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert name in str(info.value)
    assert "short" not in str(info.value) or name != "AUTH_TOKEN_SECRET"


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DB_POOL_MAX",
        "DB_POOL_MIN",
        "DB_CONNECT_TIMEOUT",
        "DB_IDLE_TIMEOUT",
        "DB_MAX_LIFETIME",
        "DB_STATEMENT_TIMEOUT",
        "DB_SLOW_QUERY_THRESHOLD",
        "APP_ENV",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.db_pool_max, settings.db_pool_min) == (20, 5)
    assert settings.db_connect_timeout == 10_000
    assert settings.db_idle_timeout == 300_000
    assert settings.db_max_lifetime == 1_800_000
    assert settings.db_statement_timeout == 30_000
    assert settings.db_slow_query_threshold == 1_000


def test_min_above_max_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_MIN", "30")
    monkeypatch.setenv("DB_POOL_MAX", "10")
    with pytest.raises(ConfigError, match="DB_POOL_MIN"):
        load_settings()


def test_production_requires_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db:5432/dealerdesk")
    monkeypatch.delenv("AUTH_TOKEN_SECRET", raising=False)
    with pytest.raises(ConfigError, match="AUTH_TOKEN_SECRET"):
        load_settings()
