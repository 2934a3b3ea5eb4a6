"""The migrations and the models describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from db.migrate import current_revision, head_revision
from db.models import Base


async def test_database_is_at_head(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await current_revision(conn) == head_revision()


async def test_models_match_the_migrated_schema(engine: AsyncEngine) -> None:
    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
