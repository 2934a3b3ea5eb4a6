"""Per-request dataloaders: every relation is fetched in one statement per batch.

Built fresh for each request in the context getter and cleared after each committed unit of
work, so a cache never outlives its request nor serves another tenant's rows.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import date
from functools import cache, cached_property
from typing import Any, Generic, NamedTuple, TypeVar

from aiodataloader import DataLoader
from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.storage import customers, dealerships, vehicles
from db.tenant import TenantDB
from schema.appointments import Appointment
from schema.audit import AuditLog, SecurityAuditLog
from schema.base import from_row, row_builder
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


class RowSpec(Generic[T]):
    """How one table's rows become one GraphQL type, with the SQL to read them by id and by
    a parent column written once, at import (sent with asyncpg: see TenantDB.fetch).

    A narrowed spec (`narrowed`) reads some of the columns only, and builds objects with
    those attributes only: for an operation that selects no others (resolvers/narrowing.py).
    """

    def __init__(self, table: Table, cls: type[T], columns: Sequence[str] | None = None) -> None:
        self.table = table
        self.cls = cls
        self.columns = [c.name for c in table.columns if columns is None or c.name in columns]
        self.partial = columns is not None
        # Names from our own table metadata, quoted: no input reaches these strings.
        self.select = (
            f"SELECT {', '.join(_quote(c) for c in self.columns)} FROM {_quote(table.name)}"  # noqa: S608
        )
        self.by_id = f"{self.select} WHERE id = ANY($1::bigint[])"
        self.id_index = self.columns.index("id")
        self.build = row_builder(cls, self.columns, table, partial=self.partial)
        self._narrowed: dict[frozenset[str], RowSpec[T]] = {}

    def narrowed(self, columns: frozenset[str]) -> RowSpec[T]:
        """This spec reading only these columns (made once per set)."""
        found = self._narrowed.get(columns)
        if found is None:
            found = self._narrowed[columns] = RowSpec(self.table, self.cls, sorted(columns))
        return found

    def by_parent(self, parent: str, order_by: Sequence[ColumnElement[object]]) -> str:
        order = ", ".join(
            str(e.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
            for e in order_by
        )
        return f"{self.select} WHERE {_quote(parent)} = ANY($1::bigint[]) ORDER BY {order}"


_DIALECT = PGDialect()  # type: ignore[no-untyped-call]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


V = TypeVar("V")


class RowLoader(DataLoader[int, V], Generic[V]):
    """What the row loaders share: the values this request has loaded are kept by key, so a
    relation can be answered without an await (peek) and a page's relations loaded in one
    statement without a future per key (prefetch)."""

    def __init__(self) -> None:
        super().__init__()
        self._found: dict[int, V] = {}

    async def fetch(self, keys: Sequence[int]) -> list[V]:
        """The values of these keys, in their order: one statement."""
        raise NotImplementedError

    async def batch_load_fn(self, keys: Sequence[int]) -> list[V]:
        found = await self.fetch(keys)
        self._found.update(zip(keys, found, strict=True))
        return found

    def peek(self, key: int) -> V | Awaitable[V]:
        """The value itself when this request has already loaded it, else a load to await."""
        if key in self._found:
            return self._found[key]
        return self.load(key)

    def load(self, key: int) -> asyncio.Future[V]:
        if key in self._found:
            future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
            future.set_result(self._found[key])
            return future
        return super().load(key)

    async def prefetch(self, keys: Iterable[int]) -> None:
        """Load the keys not loaded yet, now, in one statement."""
        missing = [key for key in dict.fromkeys(keys) if key not in self._found]
        if missing:
            await self.batch_load_fn(missing)

    def clear_all(self) -> RowLoader[V]:
        self._found.clear()
        super().clear_all()
        return self


class ByIdLoader(RowLoader[T | None], Generic[T]):
    """Rows of one table by primary key, built into GraphQL objects: one statement a batch."""

    def __init__(self, db: TenantDB, spec: RowSpec[T]):
        super().__init__()
        self._db = db
        self._spec = spec

    async def fetch(self, keys: Sequence[int]) -> list[T | None]:
        spec = self._spec
        rows = await self._db.fetch(spec.by_id, list(keys))
        index, build = spec.id_index, spec.build
        by_id = {row[index]: build(row) for row in rows}
        return [by_id.get(key) for key in keys]

    @property
    def spec(self) -> RowSpec[T]:
        return self._spec

    def knows(self, key: int | None) -> bool:
        """Whether this request has this row loaded (or no row is referenced)."""
        return key is None or key in self._found

    def remember(self, key: int, value: T | None) -> None:
        """A row this request found another way (load_joined): later loads read it."""
        self._found.setdefault(key, value)

    async def load_one(self, key: int) -> T:
        value = await self.load(key)
        if value is None:
            raise MissingRow(f"{self._spec.table.name} {key}")
        return value


class ByParentLoader(RowLoader[list[T]], Generic[T]):
    """Child rows grouped by a parent id column (one-to-many): one statement a batch."""

    def __init__(
        self,
        db: TenantDB,
        spec: RowSpec[T],
        parent: str,
        order_by: Sequence[ColumnElement[object]] = (),
    ):
        super().__init__()
        self._db = db
        self._spec = spec
        self._sql = spec.by_parent(parent, order_by or (spec.table.c.id,))
        self._parent_index = spec.columns.index(parent)

    async def fetch(self, keys: Sequence[int]) -> list[list[T]]:
        rows = await self._db.fetch(self._sql, list(keys))
        grouped: dict[int, list[T]] = defaultdict(list)
        index, build = self._parent_index, self._spec.build
        for row in rows:
            grouped[row[index]].append(build(row))
        return [grouped.get(key, []) for key in keys]


class ToOne(NamedTuple):
    """A to-one relation of a parent row: the parent's column naming the related row, and
    the request's loader of the related table (which keeps what is found)."""

    column: str
    loader: ByIdLoader[Any]


async def load_joined(
    db: TenantDB,
    parent: RowSpec[T],
    ids: Sequence[int],
    relations: Sequence[ToOne],
    *,
    parent_loader: ByIdLoader[T] | None = None,
) -> None:
    """Load the related rows of these parents - and the parents themselves when
    `parent_loader` is given - in one statement (LEFT JOINs, each table under its own
    row-level security), into the loaders, instead of one statement per relation."""
    sql, offsets = _joined_sql(parent, tuple(relations), with_parent=parent_loader is not None)
    rows = await db.fetch(sql, list(ids))
    seen: set[int] = set()
    for row in rows:
        for i, (relation, offset) in enumerate(zip(relations, offsets, strict=True)):
            key = row[i + 1]
            if key is None:
                continue
            spec = relation.loader.spec
            found = None if row[offset + spec.id_index] is None else _shifted(spec, offset)(row)
            relation.loader.remember(key, found)
        if parent_loader is not None:
            seen.add(row[0])
            parent_loader.remember(row[0], _shifted(parent, len(relations) + 1)(row))
    if parent_loader is not None:
        for key in ids:
            if key not in seen:
                parent_loader.remember(key, None)


# By shape, and by the specs themselves (a narrowed spec reads other columns; specs are made
# once and never freed, so their ids are stable keys).
_JOINED: dict[
    tuple[str, tuple[tuple[str, str], ...], bool, tuple[int, ...]], tuple[str, tuple[int, ...]]
] = {}


def _joined_sql(
    parent: RowSpec[T], relations: tuple[ToOne, ...], *, with_parent: bool
) -> tuple[str, tuple[int, ...]]:
    """SELECT p.id, each relation's column of p, [p's columns,] each related row's columns
    ... WHERE p.id = ANY($1); and where each related row's columns start. Made once per
    shape; names from our own table metadata, quoted."""
    shape = tuple((r.column, r.loader.spec.table.name) for r in relations)
    key = (parent.table.name, shape, with_parent, tuple(id(r.loader.spec) for r in relations))
    if key not in _JOINED:
        parts = ["p.id", *(f"p.{_quote(column)}" for column, _ in shape)]
        if with_parent:
            parts += [f"p.{_quote(c)}" for c in parent.columns]
        joins, offsets = [], []
        for i, relation in enumerate(relations):
            alias, spec = f"r{i}", relation.loader.spec
            offsets.append(len(parts))
            parts += [f"{alias}.{_quote(c)}" for c in spec.columns]
            joins.append(
                f" LEFT JOIN {_quote(spec.table.name)} {alias} ON {alias}.dealership_id ="
                f" p.dealership_id AND {alias}.id = p.{_quote(relation.column)}"
            )
        _JOINED[key] = (
            f"SELECT {', '.join(parts)} FROM {_quote(parent.table.name)} p{''.join(joins)}"  # noqa: S608
            " WHERE p.id = ANY($1::bigint[])",
            tuple(offsets),
        )
    return _JOINED[key]


@cache
def _shifted(spec: RowSpec[T], offset: int) -> Callable[[Any], T]:
    """The spec's builder for rows where its columns start at `offset`."""
    padding = [f"\x00{i}" for i in range(offset)]  # names no column has
    return row_builder(spec.cls, [*padding, *spec.columns], spec.table, partial=spec.partial)


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


DEALERSHIPS = RowSpec(table_of(models.Dealership), Dealership)
USERS = RowSpec(table_of(models.User), User)
CUSTOMERS = RowSpec(table_of(models.Customer), Customer)
CUSTOMER_NOTES = RowSpec(table_of(models.CustomerNote), CustomerNote)
VEHICLES = RowSpec(table_of(models.Vehicle), Vehicle)
FEE_TEMPLATES = RowSpec(table_of(models.FeeTemplate), FeeTemplate)
APPOINTMENTS = RowSpec(table_of(models.Appointment), Appointment)
QUICK_QUOTES = RowSpec(table_of(models.QuickQuote), QuickQuote)
QUICK_QUOTE_CONTACTS = RowSpec(table_of(models.QuickQuoteContact), QuickQuoteContact)
DEALS = RowSpec(table_of(models.Deal), Deal)
DEAL_SCENARIOS = RowSpec(table_of(models.DealScenario), DealScenario)
TRADE_VEHICLES = RowSpec(table_of(models.TradeVehicle), TradeVehicle)
TAX_JURISDICTIONS = RowSpec(table_of(models.TaxJurisdiction), TaxJurisdiction)
LENDERS = RowSpec(table_of(models.Lender), Lender)
LENDER_PROGRAMS = RowSpec(table_of(models.LenderProgram), LenderProgram)
RATE_REQUESTS = RowSpec(table_of(models.RateRequest), RateRequest)
LENDER_DECISIONS = RowSpec(table_of(models.LenderDecision), LenderDecision)
AUDIT_LOGS = RowSpec(table_of(models.AuditLog), AuditLog)
SECURITY_AUDIT_LOGS = RowSpec(table_of(models.SecurityAuditLog), SecurityAuditLog)

_NEWEST_DEALS = (DEALS.table.c.created_at.desc(), DEALS.table.c.id.desc())
_BY_START = (APPOINTMENTS.table.c.starts_at, APPOINTMENTS.table.c.id)


class Loaders:
    """The request's loaders, one per relation, each made on first use (a request touches a
    few of them; building all of them for every request would cost more than many queries).
    """

    def __init__(self, db: TenantDB) -> None:
        self._db = db
        self._narrow: Mapping[str, frozenset[str]] = {}
        db.on_commit(self.clear_all)

    def narrow(self, columns: Mapping[str, frozenset[str]]) -> None:
        """Read only these columns of these tables (by table name) in this operation; set
        before any loader is made (resolvers/narrowing.py)."""
        self._narrow = columns

    def _spec(self, spec: RowSpec[T]) -> RowSpec[T]:
        columns = self._narrow.get(spec.table.name)
        return spec if columns is None else spec.narrowed(columns)

    def clear_all(self) -> None:
        for loader in vars(self).values():
            if isinstance(loader, DataLoader):
                loader.clear_all()

    @cached_property
    def dealership(self) -> ByIdLoader[Dealership]:
        return ByIdLoader(self._db, self._spec(DEALERSHIPS))

    @cached_property
    def user(self) -> ByIdLoader[User]:
        return ByIdLoader(self._db, self._spec(USERS))

    @cached_property
    def customer(self) -> ByIdLoader[Customer]:
        return ByIdLoader(self._db, self._spec(CUSTOMERS))

    @cached_property
    def customer_note(self) -> ByIdLoader[CustomerNote]:
        return ByIdLoader(self._db, self._spec(CUSTOMER_NOTES))

    @cached_property
    def customer_notes(self) -> ByParentLoader[CustomerNote]:
        return ByParentLoader(
            self._db,
            self._spec(CUSTOMER_NOTES),
            "customer_id",
            order_by=(CUSTOMER_NOTES.table.c.created_at.desc(), CUSTOMER_NOTES.table.c.id.desc()),
        )

    @cached_property
    def customer_history(
        self,
    ) -> BatchLoader[int, list[customers.HistoryEntry], list[CustomerHistoryEntry]]:
        return BatchLoader(
            self._db,
            lambda s, ids: customers.histories(s, customer_ids=ids),
            lambda entries: [history_entry(e) for e in entries],
        )

    @cached_property
    def customer_duplicates(self) -> BatchLoader[int, list[models.Customer], list[Customer]]:
        return BatchLoader(
            self._db,
            lambda s, ids: customers.duplicates_of(s, customer_ids=ids),
            lambda rows: [from_row(Customer, r) for r in rows],
        )

    @cached_property
    def vehicle(self) -> ByIdLoader[Vehicle]:
        return ByIdLoader(self._db, self._spec(VEHICLES))

    @cached_property
    def dealership_today(self) -> BatchLoader[int, date, date]:
        """Keyed by dealership id: today in its time zone (Vehicle.daysInStock)."""
        return BatchLoader(self._db, vehicles.todays, lambda today: today)

    @cached_property
    def dealership_settings(
        self,
    ) -> BatchLoader[int, models.DealershipSettings | None, DealershipSettings | None]:
        return BatchLoader(
            self._db,
            lambda s, ids: dealerships.settings_of(s, dealership_ids=list(ids)),
            lambda row: None if row is None else settings_from_row(row),
        )

    @cached_property
    def fee_template(self) -> ByIdLoader[FeeTemplate]:
        return ByIdLoader(self._db, self._spec(FEE_TEMPLATES))

    @cached_property
    def appointment(self) -> ByIdLoader[Appointment]:
        return ByIdLoader(self._db, self._spec(APPOINTMENTS))

    @cached_property
    def customer_appointments(self) -> ByParentLoader[Appointment]:
        return ByParentLoader(self._db, self._spec(APPOINTMENTS), "customer_id", order_by=_BY_START)

    @cached_property
    def deal_appointments(self) -> ByParentLoader[Appointment]:
        return ByParentLoader(self._db, self._spec(APPOINTMENTS), "deal_id", order_by=_BY_START)

    @cached_property
    def quick_quote(self) -> ByIdLoader[QuickQuote]:
        return ByIdLoader(self._db, self._spec(QUICK_QUOTES))

    @cached_property
    def quick_quote_contact(self) -> ByIdLoader[QuickQuoteContact]:
        return ByIdLoader(self._db, self._spec(QUICK_QUOTE_CONTACTS))

    @cached_property
    def quick_quote_contacts(self) -> ByParentLoader[QuickQuoteContact]:
        return ByParentLoader(self._db, self._spec(QUICK_QUOTE_CONTACTS), "quick_quote_id")

    @cached_property
    def deal(self) -> ByIdLoader[Deal]:
        return ByIdLoader(self._db, self._spec(DEALS))

    @cached_property
    def customer_deals(self) -> ByParentLoader[Deal]:
        return ByParentLoader(self._db, self._spec(DEALS), "customer_id", order_by=_NEWEST_DEALS)

    @cached_property
    def vehicle_deals(self) -> ByParentLoader[Deal]:
        return ByParentLoader(self._db, self._spec(DEALS), "vehicle_id", order_by=_NEWEST_DEALS)

    @cached_property
    def deal_scenario(self) -> ByIdLoader[DealScenario]:
        return ByIdLoader(self._db, self._spec(DEAL_SCENARIOS))

    @cached_property
    def deal_scenarios(self) -> ByParentLoader[DealScenario]:
        return ByParentLoader(self._db, self._spec(DEAL_SCENARIOS), "deal_id")

    @cached_property
    def trade_vehicle(self) -> ByIdLoader[TradeVehicle]:
        return ByIdLoader(self._db, self._spec(TRADE_VEHICLES))

    @cached_property
    def deal_trade_vehicles(self) -> ByParentLoader[TradeVehicle]:
        return ByParentLoader(self._db, self._spec(TRADE_VEHICLES), "deal_id")

    @cached_property
    def customer_trade_vehicles(self) -> ByParentLoader[TradeVehicle]:
        return ByParentLoader(self._db, self._spec(TRADE_VEHICLES), "customer_id")

    @cached_property
    def tax_jurisdiction(self) -> ByIdLoader[TaxJurisdiction]:
        return ByIdLoader(self._db, self._spec(TAX_JURISDICTIONS))

    @cached_property
    def lender(self) -> ByIdLoader[Lender]:
        return ByIdLoader(self._db, self._spec(LENDERS))

    @cached_property
    def lender_program(self) -> ByIdLoader[LenderProgram]:
        return ByIdLoader(self._db, self._spec(LENDER_PROGRAMS))

    @cached_property
    def lender_programs(self) -> ByParentLoader[LenderProgram]:
        table = LENDER_PROGRAMS.table
        return ByParentLoader(
            self._db, LENDER_PROGRAMS, "lender_id", order_by=(table.c.name, table.c.id)
        )

    @cached_property
    def rate_request(self) -> ByIdLoader[RateRequest]:
        return ByIdLoader(self._db, self._spec(RATE_REQUESTS))

    @cached_property
    def deal_rate_requests(self) -> ByParentLoader[RateRequest]:
        return ByParentLoader(self._db, self._spec(RATE_REQUESTS), "deal_id")

    @cached_property
    def lender_decision(self) -> ByIdLoader[LenderDecision]:
        return ByIdLoader(self._db, self._spec(LENDER_DECISIONS))

    @cached_property
    def rate_request_decisions(self) -> ByParentLoader[LenderDecision]:
        table = LENDER_DECISIONS.table
        return ByParentLoader(
            self._db,
            self._spec(LENDER_DECISIONS),
            "rate_request_id",
            order_by=(table.c.decided_at, table.c.id),
        )

    @cached_property
    def audit_log(self) -> ByIdLoader[AuditLog]:
        return ByIdLoader(self._db, self._spec(AUDIT_LOGS))

    @cached_property
    def security_audit_log(self) -> ByIdLoader[SecurityAuditLog]:
        return ByIdLoader(self._db, self._spec(SECURITY_AUDIT_LOGS))
