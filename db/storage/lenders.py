"""Lenders and their rate programs: list, create, update, deactivate, and the programs
that fit a deal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal, TypedDict

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import ValidationFailed
from db.models import Lender, LenderProgram
from db.models.enums import DealType
from db.storage import pagination
from db.storage.audit import Actor, delete_and_record, flush_and_record, snapshot
from db.storage.ownership import load_owned
from db.storage.sql import like_pattern
from db.storage.vehicles import today_of
from db.validation import (
    credit_score,
    money_factor,
    optional_email,
    optional_phone,
    optional_text,
    percent,
    require_text,
    required,
    term_months,
)

LENDER = "Lender"
PROGRAM = "LenderProgram"
MAX_LTV = Decimal("300")
MAX_ADVANCE = Decimal("300")
MAX_BUY_RATE = Decimal("100")
MAX_MONEY_FACTOR = Decimal("0.1")


class LenderFields(TypedDict, total=False):
    name: str | None
    code: str | None
    contact_name: str | None
    phone: str | None
    email: str | None
    max_ltv_percent: Decimal | None


class LenderProgramFields(TypedDict, total=False):
    name: str | None
    deal_type: DealType | None
    min_credit_score: int | None
    max_credit_score: int | None
    min_term_months: int | None
    max_term_months: int | None
    buy_rate: Decimal | None
    money_factor: Decimal | None
    max_advance_percent: Decimal | None
    effective_from: date | None
    effective_to: date | None


_BOUNDS: tuple[
    tuple[
        Literal["min_credit_score", "max_credit_score", "min_term_months", "max_term_months"],
        str,
    ],
    ...,
] = (
    ("min_credit_score", "minCreditScore"),
    ("max_credit_score", "maxCreditScore"),
    ("min_term_months", "minTermMonths"),
    ("max_term_months", "maxTermMonths"),
)


class LenderOrderField(StrEnum):
    NAME = "name"
    CREATED_AT = "created_at"


@dataclass(frozen=True)
class LenderFilter:
    search: str | None = None  # partial match on name, code or contact
    include_inactive: bool = False


def clean_lender(fields: LenderFields, *, path: tuple[str, ...]) -> LenderFields:
    clean: LenderFields = {}
    if "name" in fields:
        clean["name"] = require_text(fields["name"], field=(*path, "name"))
    if "code" in fields:
        code = optional_text(fields["code"], field=(*path, "code"), max_length=20)
        clean["code"] = None if code is None else code.upper()
    if "contact_name" in fields:
        clean["contact_name"] = optional_text(fields["contact_name"], field=(*path, "contactName"))
    if "phone" in fields:
        clean["phone"] = optional_phone(fields["phone"], field=(*path, "phone"))
    if "email" in fields:
        clean["email"] = optional_email(fields["email"], field=(*path, "email"))
    if "max_ltv_percent" in fields:
        ltv = fields["max_ltv_percent"]
        clean["max_ltv_percent"] = (
            None
            if ltv is None
            else percent(
                ltv,
                field=(*path, "maxLtvPercent"),
                high=MAX_LTV,
                high_inclusive=True,
                positive=True,
                what="a loan-to-value limit",
            )
        )
    return clean


def clean_program(fields: LenderProgramFields, *, path: tuple[str, ...]) -> LenderProgramFields:
    """Each field on its own; how they fit together is checked by check_program."""
    clean: LenderProgramFields = {}
    if "name" in fields:
        clean["name"] = require_text(fields["name"], field=(*path, "name"))
    if "deal_type" in fields:
        deal_type = fields["deal_type"]
        if deal_type is None:
            raise required((*path, "dealType"))
        if deal_type is DealType.CASH:
            raise ValidationFailed(
                "a lender program finances or leases; cash needs none",
                field=(*path, "dealType"),
                code="INVALID_DEAL_TYPE",
            )
        clean["deal_type"] = deal_type
    for key, name in _BOUNDS:
        if key in fields:
            bound = fields[key]
            if bound is None:
                raise required((*path, name))
            check = credit_score if key.endswith("credit_score") else term_months
            clean[key] = check(bound, field=(*path, name))
    if "buy_rate" in fields:
        rate = fields["buy_rate"]
        clean["buy_rate"] = (
            None
            if rate is None
            else percent(rate, field=(*path, "buyRate"), high=MAX_BUY_RATE, what="a buy rate")
        )
    if "money_factor" in fields:
        factor = fields["money_factor"]
        clean["money_factor"] = (
            None
            if factor is None
            else money_factor(factor, field=(*path, "moneyFactor"), high=MAX_MONEY_FACTOR)
        )
    if "max_advance_percent" in fields:
        advance = fields["max_advance_percent"]
        clean["max_advance_percent"] = (
            None
            if advance is None
            else percent(
                advance,
                field=(*path, "maxAdvancePercent"),
                high=MAX_ADVANCE,
                high_inclusive=True,
                positive=True,
                what="an advance limit",
            )
        )
    if "effective_from" in fields:
        clean["effective_from"] = fields["effective_from"]
    if "effective_to" in fields:
        clean["effective_to"] = fields["effective_to"]
    return clean


def check_program(program: LenderProgram, sent: LenderProgramFields, path: tuple[str, ...]) -> None:
    """The program as a whole, after the client's fields are applied: bands in order and the
    rate its deal type needs. The rate of the other type is refused if sent, else cleared."""
    if program.min_credit_score > program.max_credit_score:
        name = "maxCreditScore" if "max_credit_score" in sent else "minCreditScore"
        raise ValidationFailed(
            "the minimum credit score must not exceed the maximum",
            field=(*path, name),
            code="INVALID_RANGE",
        )
    if program.min_term_months > program.max_term_months:
        name = "maxTermMonths" if "max_term_months" in sent else "minTermMonths"
        raise ValidationFailed(
            "the minimum term must not exceed the maximum",
            field=(*path, name),
            code="INVALID_RANGE",
        )
    if (
        program.effective_from is not None
        and program.effective_to is not None
        and program.effective_from > program.effective_to
    ):
        name = "effectiveTo" if "effective_to" in sent else "effectiveFrom"
        raise ValidationFailed(
            "a program cannot end before it starts", field=(*path, name), code="INVALID_RANGE"
        )
    lease = program.deal_type is DealType.LEASE
    other_sent = sent.get("buy_rate") if lease else sent.get("money_factor")
    needed_name, other_name = ("moneyFactor", "buyRate") if lease else ("buyRate", "moneyFactor")
    if other_sent is not None:
        raise ValidationFailed(
            f"a {program.deal_type.value} program has no {other_name}",
            field=(*path, other_name),
            code="NOT_APPLICABLE",
        )
    if lease:
        program.buy_rate = None
    else:
        program.money_factor = None
    if (program.money_factor if lease else program.buy_rate) is None:
        raise ValidationFailed(
            f"a {program.deal_type.value} program needs a {needed_name}",
            field=(*path, needed_name),
            code="REQUIRED",
        )


def _filtered(filter: LenderFilter) -> Select[Lender]:
    stmt = select(Lender)
    if not filter.include_inactive:
        stmt = stmt.where(Lender.is_active)
    if filter.search and filter.search.strip():
        pattern = like_pattern(filter.search.strip())
        stmt = stmt.where(
            or_(
                Lender.name.ilike(pattern),
                Lender.code.ilike(pattern),
                Lender.contact_name.ilike(pattern),
            )
        )
    return stmt


def _sort_keys(order: LenderOrderField, descending: bool) -> list[pagination.SortKey]:
    column = Lender.name if order is LenderOrderField.NAME else Lender.created_at
    return [pagination.SortKey(column, descending), pagination.SortKey(Lender.id, descending)]


async def list_lenders(
    session: AsyncSession,
    *,
    filter: LenderFilter,
    order: LenderOrderField = LenderOrderField.NAME,
    descending: bool = False,
    page: pagination.PageArgs,
) -> pagination.Page[Lender]:
    return await pagination.paginate(
        session, _filtered(filter), _sort_keys(order, descending), page
    )


async def count_lenders(session: AsyncSession, *, filter: LenderFilter) -> int:
    return await pagination.count(session, _filtered(filter))


async def create_lender(
    session: AsyncSession, actor: Actor, *, fields: LenderFields, path: tuple[str, ...]
) -> Lender:
    if fields.get("name") is None:
        raise required((*path, "name"))
    clean = clean_lender(fields, path=path)
    lender = Lender(dealership_id=actor.dealership_id, **clean)
    session.add(lender)
    await flush_and_record(
        session, actor, lender, action="lender.create", entity_type=LENDER, before=None
    )
    return lender


async def update_lender(
    session: AsyncSession,
    actor: Actor,
    *,
    lender_id: int,
    fields: LenderFields,
    path: tuple[str, ...],
) -> Lender:
    clean = clean_lender(fields, path=path)
    lender = await load_owned(
        session, Lender, lender_id, entity=LENDER, field=(*path, "id"), for_update=True
    )
    before = snapshot(lender)
    for key, value in clean.items():
        setattr(lender, key, value)
    if snapshot(lender) == before:
        return lender
    await flush_and_record(
        session, actor, lender, action="lender.update", entity_type=LENDER, before=before
    )
    return lender


async def deactivate_lender(
    session: AsyncSession, actor: Actor, *, lender_id: int, path: tuple[str, ...]
) -> Lender:
    lender = await load_owned(
        session, Lender, lender_id, entity=LENDER, field=(*path, "id"), for_update=True
    )
    if not lender.is_active:
        return lender
    before = snapshot(lender)
    lender.is_active = False
    await flush_and_record(
        session, actor, lender, action="lender.deactivate", entity_type=LENDER, before=before
    )
    return lender


async def create_program(
    session: AsyncSession,
    actor: Actor,
    *,
    lender_id: int,
    fields: LenderProgramFields,
    path: tuple[str, ...],
) -> LenderProgram:
    if fields.get("name") is None:
        raise required((*path, "name"))
    if fields.get("deal_type") is None:
        raise required((*path, "dealType"))
    for key, name in _BOUNDS:
        if fields.get(key) is None:
            raise required((*path, name))
    clean = clean_program(fields, path=path)
    program = LenderProgram(dealership_id=actor.dealership_id, lender_id=lender_id, **clean)
    check_program(program, clean, path)
    # Locked so a program is never added to a lender being deactivated at the same moment.
    await load_owned(
        session, Lender, lender_id, entity=LENDER, field=(*path, "lenderId"), for_update=True
    )
    session.add(program)
    await flush_and_record(
        session, actor, program, action="lender_program.create", entity_type=PROGRAM, before=None
    )
    return program


async def update_program(
    session: AsyncSession,
    actor: Actor,
    *,
    program_id: int,
    fields: LenderProgramFields,
    path: tuple[str, ...],
) -> LenderProgram:
    clean = clean_program(fields, path=path)
    program = await load_owned(
        session, LenderProgram, program_id, entity=PROGRAM, field=(*path, "id"), for_update=True
    )
    before = snapshot(program)
    for key, value in clean.items():
        setattr(program, key, value)
    check_program(program, clean, path)
    if snapshot(program) == before:
        return program
    await flush_and_record(
        session, actor, program, action="lender_program.update", entity_type=PROGRAM, before=before
    )
    return program


async def delete_program(
    session: AsyncSession, actor: Actor, *, program_id: int, path: tuple[str, ...]
) -> LenderProgram:
    """Remove a program for good; returns the removed row (detached)."""
    program = await load_owned(
        session, LenderProgram, program_id, entity=PROGRAM, field=(*path, "id"), for_update=True
    )
    await delete_and_record(
        session, actor, program, action="lender_program.delete", entity_type=PROGRAM
    )
    return program


async def matching_programs(
    session: AsyncSession,
    *,
    deal_type: DealType,
    score: int,
    months: int,
    today: date | None = None,
) -> list[LenderProgram]:
    """Programs of active lenders whose score band and term range hold the deal and that
    are in effect today (the dealership's day), cheapest rate first."""
    credit_score(score, field=("creditScore",))
    term_months(months, field=("termMonths",))
    day = today or await today_of(session)
    rate = LenderProgram.money_factor if deal_type is DealType.LEASE else LenderProgram.buy_rate
    stmt = (
        select(LenderProgram)
        .join(
            Lender,
            (Lender.dealership_id == LenderProgram.dealership_id)
            & (Lender.id == LenderProgram.lender_id),
        )
        .where(
            Lender.is_active,
            LenderProgram.deal_type == deal_type,
            LenderProgram.min_credit_score <= score,
            LenderProgram.max_credit_score >= score,
            LenderProgram.min_term_months <= months,
            LenderProgram.max_term_months >= months,
            or_(LenderProgram.effective_from.is_(None), LenderProgram.effective_from <= day),
            or_(LenderProgram.effective_to.is_(None), LenderProgram.effective_to >= day),
        )
        .order_by(rate.asc().nulls_last(), Lender.name, LenderProgram.id)
    )
    return list((await session.scalars(stmt)).all())
