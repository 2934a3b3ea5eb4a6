"""Process configuration, read once from the environment and validated at start-up."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from db.crypto import MAX_VERSION, MIN_VERSION, Keyring, new_key, parse_key
from schema.limits import QueryLimits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / ".data"

Millis = Annotated[int, Field(ge=0)]


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigError(Exception):
    """Raised with a message that names each bad variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    app_env: Environment = Environment.DEVELOPMENT
    # A libpq-style URL (postgresql://user@host:port/db). None means: start the embedded server.
    database_url: str | None = None

    db_pool_max: int = Field(20, ge=1, le=1000)
    db_pool_min: int = Field(5, ge=0, le=1000)
    db_connect_timeout: Millis = 10_000
    db_idle_timeout: Millis = 300_000
    db_max_lifetime: Millis = 1_800_000
    db_statement_timeout: Millis = 30_000
    db_slow_query_threshold: Millis = 1_000
    # Off: a round trip per request; a dropped connection is replaced when it fails (and a
    # unit of work retries), which is rare enough not to pay for on every checkout.
    db_pool_pre_ping: bool = False

    # HMAC secret for access tokens. Development falls back to a per-checkout secret on disk.
    auth_token_secret: SecretStr | None = None
    auth_token_issuer: str = "dealerdesk"  # noqa: S105 - a name, not a secret
    auth_token_audience: str = "dealerdesk-api"  # noqa: S105
    auth_access_token_ttl_seconds: int = Field(900, ge=60, le=86_400)
    auth_refresh_token_ttl_seconds: int = Field(30 * 86_400, ge=300, le=365 * 86_400)
    # Consecutive failed sign-ins that lock an account, and for how long.
    auth_max_failed_logins: int = Field(5, ge=1, le=100)
    auth_lockout_seconds: int = Field(900, ge=1, le=86_400)
    dev_token_ttl_seconds: int = Field(30 * 86_400, ge=60)
    # An external identity provider (optional): RS256/ES256 tokens signed by a key of this
    # JWKS, with this issuer and audience, whose `email` names exactly one active user.
    auth_jwks_url: str | None = None
    auth_external_issuer: str | None = None
    auth_external_audience: str | None = None

    # Encryption of sensitive customer data at rest (db/crypto.py): the current key, base64
    # of 32 bytes, and its version (stored with every value). Keys of earlier versions stay
    # readable through DATA_ENCRYPTION_OLD_KEYS="<version>:<base64 key>,...". Development
    # falls back to a per-checkout key on disk; production requires DATA_ENCRYPTION_KEY.
    data_encryption_key: SecretStr | None = None
    data_encryption_key_version: int = Field(1, ge=MIN_VERSION, le=MAX_VERSION)
    data_encryption_old_keys: SecretStr | None = None

    # Request limits of the GraphQL endpoint (README, "Query limits", explains the numbers).
    graphql_max_body_bytes: int = Field(256 * 1024, ge=1024, le=16 * 1024 * 1024)
    graphql_max_depth: int = Field(QueryLimits.max_depth, ge=2, le=100)
    graphql_max_aliases: int = Field(QueryLimits.max_aliases, ge=0, le=1_000)
    graphql_max_tokens: int = Field(QueryLimits.max_tokens, ge=100, le=100_000)
    graphql_max_nodes: int = Field(QueryLimits.max_nodes, ge=100, le=10_000_000)
    graphql_allow_batching: bool = False
    graphql_max_batch_size: int = Field(10, ge=1, le=100)
    # None: on, except in production (GraphiQL and schema-aware tools need it in development).
    graphql_introspection: bool | None = None

    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split("://", 1)[0]
        if "://" not in value or scheme not in {"postgresql", "postgres", "postgresql+asyncpg"}:
            raise ValueError("must be a URL like postgresql://user@host:5432/dbname")
        return value

    @field_validator("auth_token_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("data_encryption_key")
    @classmethod
    def _check_data_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parse_key(value.get_secret_value())
        return value

    @field_validator("data_encryption_old_keys")
    @classmethod
    def _check_old_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        _parse_old_keys(value.get_secret_value())
        return value

    @field_validator("auth_jwks_url")
    @classmethod
    def _check_jwks_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _check_pool(self) -> Settings:
        if self.db_pool_min > self.db_pool_max:
            raise ValueError("DB_POOL_MIN must not exceed DB_POOL_MAX")
        if self.auth_jwks_url is not None:
            if not self.auth_external_issuer or not self.auth_external_audience:
                raise ValueError(
                    "AUTH_JWKS_URL needs AUTH_EXTERNAL_ISSUER and AUTH_EXTERNAL_AUDIENCE"
                )
            if self.auth_external_issuer == self.auth_token_issuer:
                raise ValueError("AUTH_EXTERNAL_ISSUER must differ from AUTH_TOKEN_ISSUER")
            if self.is_production and not self.auth_jwks_url.startswith("https://"):
                raise ValueError("AUTH_JWKS_URL must be https:// when APP_ENV=production")
        if self.app_env is Environment.PRODUCTION:
            if self.auth_token_secret is None:
                raise ValueError("AUTH_TOKEN_SECRET is required when APP_ENV=production")
            if self.database_url is None:
                raise ValueError("DATABASE_URL is required when APP_ENV=production")
            if self.data_encryption_key is None:
                raise ValueError("DATA_ENCRYPTION_KEY is required when APP_ENV=production")
        if self.data_encryption_old_keys is not None:
            old = _parse_old_keys(self.data_encryption_old_keys.get_secret_value())
            if self.data_encryption_key_version in old:
                raise ValueError(
                    "DATA_ENCRYPTION_OLD_KEYS must not repeat DATA_ENCRYPTION_KEY_VERSION"
                )
        return self

    @property
    def is_production(self) -> bool:
        return self.app_env is Environment.PRODUCTION

    @property
    def introspection(self) -> bool:
        """Introspection and "Did you mean" hints: off in production unless asked for."""
        if self.graphql_introspection is None:
            return not self.is_production
        return self.graphql_introspection

    def token_secret(self) -> str:
        if self.auth_token_secret is not None:
            return self.auth_token_secret.get_secret_value()
        return _development_secret()

    def data_keyring(self) -> Keyring:
        """The keys sensitive data is encrypted with (the development key when unset)."""
        if self.data_encryption_key is None:
            return Keyring(current=1, keys={1: parse_key(_development_data_key())})
        keys = {
            self.data_encryption_key_version: parse_key(self.data_encryption_key.get_secret_value())
        }
        if self.data_encryption_old_keys is not None:
            keys.update(_parse_old_keys(self.data_encryption_old_keys.get_secret_value()))
        return Keyring(current=self.data_encryption_key_version, keys=keys)


def _parse_old_keys(value: str) -> dict[int, bytes]:
    """ "<version>:<base64 key>" pairs, separated by commas."""
    keys: dict[int, bytes] = {}
    for number, item in enumerate(value.split(","), start=1):
        version_text, sep, key = item.strip().partition(":")
        if not sep or not version_text.strip().isdigit():
            raise ValueError(f"entry {number} is not <version>:<base64 key>")
        version = int(version_text)
        if not MIN_VERSION <= version <= MAX_VERSION or version in keys:
            raise ValueError(f"entry {number}: versions are distinct numbers 1..255")
        try:
            keys[version] = parse_key(key)
        except ValueError as exc:
            raise ValueError(f"entry {number}: the key {exc}") from None
    return keys


def _development_data_key() -> str:
    """A random data key kept in the git-ignored data folder (development and tests only:
    values written with it are unreadable once it is gone)."""
    path = DATA_DIR / "dev-data-key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(new_key())
        path.chmod(0o600)
    return path.read_text().strip()


def _development_secret() -> str:
    """A random secret kept in the git-ignored data folder, so `dealerdesk token` and the
    server agree without configuration on a developer's machine."""
    path = DATA_DIR / "dev-token-secret"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper()
            if not name:
                lines.append(f"  {err['msg']}")
            elif "SECRET" in name or "URL" in name or "KEY" in name:  # never echo credentials
                lines.append(f"  {name}: {err['msg']}")
            else:
                lines.append(f"  {name}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
