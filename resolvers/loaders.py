"""Per-request dataloaders: every relation is fetched in one statement per batch.

Built fresh for each request in the context getter and cleared after each committed unit of
work, so a cache never outlives its request nor serves another tenant's rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Generic, TypeVar, cast

from aiodataloader import DataLoader
from sqlalchemy import BigInteger, Column, ColumnElement, Table, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

from db import models
from db.storage import customers, dealerships, vehicles
from db.tenant import TenantDB
from schema.appointments import Appointment
from schema.audit import AuditLog, SecurityAuditLog
from schema.base import from_row
from schema.customers import Customer, CustomerHistoryEntry, CustomerHistoryKind, CustomerNote
from schema.dealerships import Dealership, DealershipSettings, settings_from_row
from schema.deals import Deal
from schema.fees import FeeTemplate
from schema.lenders import Lender, LenderProgram
from schema.quotes import QuickQuote, QuickQuoteContact
from schema.rate_requests import LenderDecision, RateRequest
from schema.relay import to_global_id
from schema.scenarios import DealScenario
from schema.taxes import TaxJurisdiction
from schema.trade_vehicles import TradeVehicle
from schema.users import User
from schema.vehicles import Vehicle

T = TypeVar("T")


class MissingRow(LookupError):
    """A required relation points at a row this session cannot see."""


_BIGINT_ARRAY = cast("TypeEngine[list[int]]", ARRAY(BigInteger))


def _ids_param(name: str, keys: Sequence[int]) -> BindParameter[list[int]]:
    # `= ANY($1)` keeps the SQL text (and asyncpg's prepared statement) the same for any batch.
    return bindparam(name, list(keys), type_=_BIGINT_ARRAY)


class ByIdLoader(DataLoader[int, T | None], Generic[T]):
    """Rows of one table by primary key, built into GraphQL objects."""

    def __init__(self, db: TenantDB, table: Table, build: Callable[[Row[tuple[object, ...]]], T]):
        super().__init__()
        self._db = db
        self._table = table
        self._build = build

    async def batch_load_fn(self, keys: Sequence[int]) -> list[T | None]:
        stmt = select(self._table).where(self._table.c.id == any_(_ids_param("ids", keys)))
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
        by_id = {row.id: self._build(row) for row in rows}
        return [by_id.get(key) for key in keys]

    async def load_one(self, key: int) -> T:
        value = await self.load(key)
        if value is None:
            raise MissingRow(f"{self._table.name} {key}")
        return value


class ByParentLoader(DataLoader[int, list[T]], Generic[T]):
    """Child rows grouped by a parent id column (one-to-many)."""

    def __init__(
        self,
        db: TenantDB,
        table: Table,
        parent: Column[int],
        build: Callable[[Row[tuple[object, ...]]], T],
        order_by: Sequence[ColumnElement[object]] = (),
    ):
        super().__init__()
        self._db = db
        self._table = table
        self._parent = parent
        self._build = build
        self._order_by = order_by or (table.c.id,)

    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[T]]:
        stmt = (
            select(self._table)
            .where(self._parent == any_(_ids_param("ids", keys)))
            .order_by(*self._order_by)
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
        grouped: dict[int, list[T]] = defaultdict(list)
        parent_key = self._parent.key
        for row in rows:
            grouped[row._mapping[parent_key]].append(self._build(row))
        return [grouped.get(key, []) for key in keys]


K = TypeVar("K")
S = TypeVar("S")


class BatchLoader(DataLoader[K, T], Generic[K, S, T]):
    """A loader over a storage function that answers for many keys in one statement and
    returns results aligned with the keys."""

    def __init__(
        self,
        db: TenantDB,
        fetch: Callable[[AsyncSession, Sequence[K]], Awaitable[list[S]]],
        build: Callable[[S], T],
    ):
        super().__init__()
        self._db = db
        self._fetch = fetch
        self._build = build

    async def batch_load_fn(self, keys: Sequence[K]) -> list[T]:
        async with self._db.session() as session:
            results = await self._fetch(session, keys)
        return [self._build(result) for result in results]


def _builder(cls: type[T]) -> Callable[[Row[tuple[object, ...]]], T]:
    return lambda row: from_row(cls, row)


def table_of(model: type[models.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def history_entry(entry: customers.HistoryEntry) -> CustomerHistoryEntry:
    return CustomerHistoryEntry(
        kind=CustomerHistoryKind(entry.kind),
        occurred_at=entry.occurred_at,
        summary=entry.summary,
        subject_id=to_global_id(entry.entity_type, entry.entity_id),
    )


class Loaders:
    """The request's loaders, one attribute per relation."""

    def __init__(self, db: TenantDB) -> None:
        self.dealership = ByIdLoader(db, table_of(models.Dealership), _builder(Dealership))
        self.user = ByIdLoader(db, table_of(models.User), _builder(User))
        self.customer = ByIdLoader(db, table_of(models.Customer), _builder(Customer))
        self.customer_note = ByIdLoader(db, table_of(models.CustomerNote), _builder(CustomerNote))
        self.customer_notes = ByParentLoader(
            db,
            table_of(models.CustomerNote),
            table_of(models.CustomerNote).c.customer_id,
            _builder(CustomerNote),
            order_by=(table_of(models.CustomerNote).c.created_at.desc(),),
        )
        self.customer_history: BatchLoader[
            int, list[customers.HistoryEntry], list[CustomerHistoryEntry]
        ] = BatchLoader(
            db,
            lambda s, ids: customers.histories(s, customer_ids=ids),
            lambda entries: [history_entry(e) for e in entries],
        )
        self.customer_duplicates: BatchLoader[int, list[models.Customer], list[Customer]] = (
            BatchLoader(
                db,
                lambda s, ids: customers.duplicates_of(s, customer_ids=ids),
                lambda rows: [from_row(Customer, r) for r in rows],
            )
        )
        self.vehicle = ByIdLoader(db, table_of(models.Vehicle), _builder(Vehicle))
        # Keyed by dealership id: today in its time zone (Vehicle.daysInStock).
        self.dealership_today: BatchLoader[int, date, date] = BatchLoader(
            db, vehicles.todays, lambda today: today
        )
        self.dealership_settings: BatchLoader[
            int, models.DealershipSettings | None, DealershipSettings | None
        ] = BatchLoader(
            db,
            lambda s, ids: dealerships.settings_of(s, dealership_ids=list(ids)),
            lambda row: None if row is None else settings_from_row(row),
        )
        self.fee_template = ByIdLoader(db, table_of(models.FeeTemplate), _builder(FeeTemplate))
        self.appointment = ByIdLoader(db, table_of(models.Appointment), _builder(Appointment))
        self.customer_appointments = ByParentLoader(
            db,
            table_of(models.Appointment),
            table_of(models.Appointment).c.customer_id,
            _builder(Appointment),
            order_by=(table_of(models.Appointment).c.starts_at, table_of(models.Appointment).c.id),
        )
        self.quick_quote = ByIdLoader(db, table_of(models.QuickQuote), _builder(QuickQuote))
        self.quick_quote_contact = ByIdLoader(
            db, table_of(models.QuickQuoteContact), _builder(QuickQuoteContact)
        )
        self.quick_quote_contacts = ByParentLoader(
            db,
            table_of(models.QuickQuoteContact),
            table_of(models.QuickQuoteContact).c.quick_quote_id,
            _builder(QuickQuoteContact),
        )
        deals, scenarios, trades = (
            table_of(models.Deal),
            table_of(models.DealScenario),
            table_of(models.TradeVehicle),
        )
        newest_deals = (deals.c.created_at.desc(), deals.c.id.desc())
        self.deal = ByIdLoader(db, deals, _builder(Deal))
        self.customer_deals = ByParentLoader(
            db, deals, deals.c.customer_id, _builder(Deal), order_by=newest_deals
        )
        self.vehicle_deals = ByParentLoader(
            db, deals, deals.c.vehicle_id, _builder(Deal), order_by=newest_deals
        )
        self.deal_scenario = ByIdLoader(db, scenarios, _builder(DealScenario))
        self.deal_scenarios = ByParentLoader(
            db, scenarios, scenarios.c.deal_id, _builder(DealScenario)
        )
        self.trade_vehicle = ByIdLoader(db, trades, _builder(TradeVehicle))
        self.deal_trade_vehicles = ByParentLoader(
            db, trades, trades.c.deal_id, _builder(TradeVehicle)
        )
        self.customer_trade_vehicles = ByParentLoader(
            db, trades, trades.c.customer_id, _builder(TradeVehicle)
        )
        self.tax_jurisdiction = ByIdLoader(
            db, table_of(models.TaxJurisdiction), _builder(TaxJurisdiction)
        )
        self.lender = ByIdLoader(db, table_of(models.Lender), _builder(Lender))
        self.lender_program = ByIdLoader(
            db, table_of(models.LenderProgram), _builder(LenderProgram)
        )
        programs = table_of(models.LenderProgram)
        self.lender_programs = ByParentLoader(
            db,
            programs,
            programs.c.lender_id,
            _builder(LenderProgram),
            order_by=(programs.c.name, programs.c.id),
        )
        self.rate_request = ByIdLoader(db, table_of(models.RateRequest), _builder(RateRequest))
        self.lender_decision = ByIdLoader(
            db, table_of(models.LenderDecision), _builder(LenderDecision)
        )
        decisions = table_of(models.LenderDecision)
        self.rate_request_decisions = ByParentLoader(
            db,
            decisions,
            decisions.c.rate_request_id,
            _builder(LenderDecision),
            order_by=(decisions.c.decided_at, decisions.c.id),
        )
        self.deal_rate_requests = ByParentLoader(
            db,
            table_of(models.RateRequest),
            table_of(models.RateRequest).c.deal_id,
            _builder(RateRequest),
        )
        self.deal_appointments = ByParentLoader(
            db,
            table_of(models.Appointment),
            table_of(models.Appointment).c.deal_id,
            _builder(Appointment),
            order_by=(table_of(models.Appointment).c.starts_at, table_of(models.Appointment).c.id),
        )
        self.audit_log = ByIdLoader(db, table_of(models.AuditLog), _builder(AuditLog))
        self.security_audit_log = ByIdLoader(
            db, table_of(models.SecurityAuditLog), _builder(SecurityAuditLog)
        )
        # Keyed by role: its permission set in the request's dealership, read at most once
        # per request (resolvers/sensitive.py masks fields with it).
        db.on_commit(self.clear_all)

    def clear_all(self) -> None:
        for loader in vars(self).values():
            if isinstance(loader, DataLoader):
                loader.clear_all()
