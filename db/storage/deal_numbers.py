"""Deal numbers: YYYY-MMDD-XXXX, the day in the dealership's time zone, XXXX per day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import DomainError
from db.models import DealNumberCounter

MAX_PER_DAY = 9999


class DealNumberSpaceExhausted(DomainError):
    code = "DEAL_NUMBER_SPACE_EXHAUSTED"


def local_day(now: datetime, time_zone: str) -> date:
    return now.astimezone(ZoneInfo(time_zone)).date()


def format_deal_number(day: date, sequence: int) -> str:
    return f"{day:%Y-%m%d}-{sequence:04d}"


async def next_deal_number(session: AsyncSession, *, dealership_id: int, day: date) -> str:
    """Take the next number of `day`. The upsert locks the day's counter row until the
    transaction ends, so concurrent callers queue instead of colliding, and a rollback gives
    the number back: retries leave no gaps."""
    stmt = (
        insert(DealNumberCounter)
        .values(dealership_id=dealership_id, day=day, last_value=1)
        .on_conflict_do_update(
            index_elements=[DealNumberCounter.dealership_id, DealNumberCounter.day],
            set_={"last_value": DealNumberCounter.last_value + 1},
        )
        .returning(DealNumberCounter.last_value)
    )
    sequence = (await session.execute(stmt)).scalar_one()
    if sequence > MAX_PER_DAY:
        raise DealNumberSpaceExhausted(
            f"all {MAX_PER_DAY} deal numbers of {day.isoformat()} are taken"
        )
    return format_deal_number(day, sequence)
