"""Deal numbers: YYYY-MMDD-XXXX, the day in the dealership's time zone, XXXX per day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Text, bindparam, cast, func
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


# Takes the next sequence number of a dealership's day (bound parameters `for_dealership`
# and `for_day`) and returns it (`last_value`) with the deal number it makes (`number`, as
# format_deal_number writes it, made in the database so that a statement can compare it with
# an indexed column). The upsert locks the day's counter row until the transaction ends, so
# concurrent callers queue instead of colliding, and a rollback gives the number back:
# retries leave no gaps.
NEXT_NUMBER = (
    insert(DealNumberCounter)
    .values(dealership_id=bindparam("for_dealership"), day=bindparam("for_day"), last_value=1)
    .on_conflict_do_update(
        index_elements=[DealNumberCounter.dealership_id, DealNumberCounter.day],
        set_={"last_value": DealNumberCounter.last_value + 1},
    )
    .returning(
        DealNumberCounter.last_value,
        func.concat(
            func.to_char(DealNumberCounter.day, "YYYY-MMDD-"),
            func.lpad(cast(DealNumberCounter.last_value, Text), 4, "0"),
        ).label("number"),
    )
)


def check_sequence(sequence: int, day: date) -> None:
    if sequence > MAX_PER_DAY:
        raise DealNumberSpaceExhausted(
            f"all {MAX_PER_DAY} deal numbers of {day.isoformat()} are taken"
        )


async def next_deal_number(session: AsyncSession, *, dealership_id: int, day: date) -> str:
    """Take the next number of `day` (the counter row stays locked until the transaction
    ends)."""
    sequence, number = (
        await session.execute(NEXT_NUMBER, {"for_dealership": dealership_id, "for_day": day})
    ).one()
    check_sequence(sequence, day)
    return str(number)
