"""Deals, their desking scenarios, trade-ins, and the per-day deal number counter."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import (
    Base,
    BigId,
    Factor,
    Money,
    Rate,
    TenantMixin,
    Timestamp,
    Timestamps,
    Versioned,
    tenant_fk,
)
from db.models.enums import DealStatus, DealType, text_enum
from db.types import JSONValue

# Statuses in which a deal holds its vehicle. At most one such deal per vehicle: the partial
# unique index below makes a double-booked vehicle impossible even if application code errs.
LIVE_DEAL_STATUSES = (
    DealStatus.OPEN,
    DealStatus.PENDING_APPROVAL,
    DealStatus.APPROVED,
    DealStatus.CONTRACTED,
)
_LIVE_SQL = ", ".join(f"'{s.value}'" for s in LIVE_DEAL_STATUSES)


class Deal(TenantMixin, Versioned, Timestamps, Base):
    __tablename__ = "deals"
    __table_args__ = (
        UniqueConstraint("dealership_id", "deal_number"),
        tenant_fk("customer_id", "customers"),
        tenant_fk("vehicle_id", "vehicles"),
        tenant_fk("salesperson_id", "users"),
        tenant_fk("sales_manager_id", "users", ondelete="SET NULL"),
        tenant_fk("finance_manager_id", "users", ondelete="SET NULL"),
        ForeignKeyConstraint(
            ["dealership_id", "active_scenario_id"],
            ["deal_scenarios.dealership_id", "deal_scenarios.id"],
            ondelete="SET NULL (active_scenario_id)",
            use_alter=True,
        ),
        ForeignKeyConstraint(
            ["dealership_id", "selected_decision_id"],
            ["lender_decisions.dealership_id", "lender_decisions.id"],
            ondelete="SET NULL (selected_decision_id)",
            use_alter=True,
        ),
        Index(
            "uq_deals_live_vehicle",
            "dealership_id",
            "vehicle_id",
            unique=True,
            postgresql_where=text(f"status IN ({_LIVE_SQL})"),
        ),
        Index("ix_deals_dealership_id_status", "dealership_id", "status"),
        Index("ix_deals_dealership_id_customer_id", "dealership_id", "customer_id"),
        Index("ix_deals_dealership_id_salesperson_id", "dealership_id", "salesperson_id"),
        Index("ix_deals_dealership_id_vehicle_id", "dealership_id", "vehicle_id"),
        Index("ix_deals_dealership_id_created_at", "dealership_id", "created_at"),
    )

    deal_number: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[BigId]
    vehicle_id: Mapped[BigId]
    salesperson_id: Mapped[BigId]
    sales_manager_id: Mapped[BigId | None]
    finance_manager_id: Mapped[BigId | None]
    status: Mapped[DealStatus] = mapped_column(
        text_enum(DealStatus, "deal_status"), server_default=DealStatus.OPEN.value
    )
    active_scenario_id: Mapped[BigId | None]
    selected_decision_id: Mapped[BigId | None]
    notes: Mapped[str | None] = mapped_column(Text)
    lost_reason: Mapped[str | None] = mapped_column(Text)
    contracted_at: Mapped[Timestamp | None]
    delivered_at: Mapped[Timestamp | None]
    closed_at: Mapped[Timestamp | None]  # lost, cancelled or unwound


class DealScenario(TenantMixin, Versioned, Timestamps, Base):
    """One way to structure a deal (cash, finance or lease) with its computed payment."""

    __tablename__ = "deal_scenarios"
    __table_args__ = (
        tenant_fk("deal_id", "deals", ondelete="CASCADE"),
        CheckConstraint("term_months IS NULL OR term_months BETWEEN 1 AND 120", name="term"),
        CheckConstraint("down_payment >= 0", name="down_payment_nonnegative"),
        Index("ix_deal_scenarios_dealership_id_deal_id", "dealership_id", "deal_id"),
    )

    deal_id: Mapped[BigId]
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[DealType] = mapped_column(text_enum(DealType, "deal_type"))
    vehicle_price: Mapped[Money]
    down_payment: Mapped[Money] = mapped_column(server_default="0")
    rebates: Mapped[Money] = mapped_column(server_default="0")
    trade_allowance: Mapped[Money] = mapped_column(server_default="0")
    trade_payoff: Mapped[Money] = mapped_column(server_default="0")
    apr: Mapped[Rate | None]
    money_factor: Mapped[Factor | None]
    term_months: Mapped[int | None] = mapped_column(Integer)
    residual_percent: Mapped[Rate | None]
    residual_value: Mapped[Money | None]
    tax_rate: Mapped[Rate] = mapped_column(server_default="0")
    tax_amount: Mapped[Money] = mapped_column(server_default="0")
    # A snapshot of the fee lines at desking time: [{"name", "kind", "amount", "taxable"}],
    # amounts as decimal strings. Templates may change later; a quoted deal must not.
    fees: Mapped[list[JSONValue]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    fees_total: Mapped[Money] = mapped_column(server_default="0")
    amount_financed: Mapped[Money] = mapped_column(server_default="0")
    monthly_payment: Mapped[Money] = mapped_column(server_default="0")
    total_of_payments: Mapped[Money] = mapped_column(server_default="0")


class TradeVehicle(TenantMixin, Timestamps, Base):
    __tablename__ = "trade_vehicles"
    __table_args__ = (
        tenant_fk("deal_id", "deals", ondelete="SET NULL"),
        tenant_fk("customer_id", "customers"),
        CheckConstraint("allowance >= 0 AND payoff_amount >= 0", name="amounts_nonnegative"),
        Index("ix_trade_vehicles_dealership_id_deal_id", "dealership_id", "deal_id"),
        Index("ix_trade_vehicles_dealership_id_customer_id", "dealership_id", "customer_id"),
    )

    deal_id: Mapped[BigId | None]
    customer_id: Mapped[BigId | None]
    vin: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    make: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    trim: Mapped[str | None] = mapped_column(Text)
    mileage: Mapped[int | None] = mapped_column(Integer)
    allowance: Mapped[Money] = mapped_column(server_default="0")
    actual_cash_value: Mapped[Money | None]
    payoff_amount: Mapped[Money] = mapped_column(server_default="0")
    payoff_lender: Mapped[str | None] = mapped_column(Text)


class DealNumberCounter(Base):
    """Last deal number issued per dealership and local day; the row lock taken by the
    increment serialises concurrent createDeal calls, and a rollback returns the number."""

    __tablename__ = "deal_number_counters"
    __table_args__ = (PrimaryKeyConstraint("dealership_id", "day"),)

    dealership_id: Mapped[BigId] = mapped_column(ForeignKey("dealerships.id"))
    day: Mapped[date] = mapped_column(Date)
    last_value: Mapped[int] = mapped_column(Integer)


__all__ = ["LIVE_DEAL_STATUSES", "Deal", "DealNumberCounter", "DealScenario", "TradeVehicle"]
