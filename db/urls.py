"""Turning the libpq-style DATABASE_URL people write into what SQLAlchemy and asyncpg need."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def async_url(database_url: str) -> URL:
    """postgresql://user@host:5432/db -> postgresql+asyncpg://user@host:5432/db."""
    url = make_url(database_url)
    if url.get_backend_name() not in {"postgresql", "postgres"}:
        raise ValueError(f"not a PostgreSQL URL: {url.render_as_string(hide_password=True)}")
    query = dict(url.query)
    # libpq spells TLS as sslmode; asyncpg as ssl.
    if "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    return url.set(drivername="postgresql+asyncpg", query=query)


def libpq_url(url: URL) -> str:
    """Back to a plain postgresql:// string for psql and friends."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
