"""Lenders, their rate programs, rate requests and each lender's decision on them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
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
    tenant_fk,
)
from db.models.enums import DealType, LenderDecisionType, RateRequestStatus, text_enum


class Lender(TenantMixin, Timestamps, Base):
    __tablename__ = "lenders"

    name: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    max_ltv_percent: Mapped[Rate | None]
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))


class LenderProgram(TenantMixin, Timestamps, Base):
    """A rate tier: for this credit-score band and term range, the lender's buy rate."""

    __tablename__ = "lender_programs"
    __table_args__ = (
        tenant_fk("lender_id", "lenders", ondelete="CASCADE"),
        CheckConstraint("min_credit_score <= max_credit_score", name="score_band"),
        CheckConstraint("min_term_months <= max_term_months", name="term_band"),
        Index("ix_lender_programs_lender", "dealership_id", "lender_id"),
    )

    lender_id: Mapped[BigId]
    name: Mapped[str] = mapped_column(Text)
    deal_type: Mapped[DealType] = mapped_column(text_enum(DealType, "deal_type"))
    min_credit_score: Mapped[int] = mapped_column(Integer)
    max_credit_score: Mapped[int] = mapped_column(Integer)
    min_term_months: Mapped[int] = mapped_column(Integer)
    max_term_months: Mapped[int] = mapped_column(Integer)
    buy_rate: Mapped[Rate | None]
    money_factor: Mapped[Factor | None]
    max_advance_percent: Mapped[Rate | None]
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)


class RateRequest(TenantMixin, Timestamps, Base):
    __tablename__ = "rate_requests"
    __table_args__ = (
        tenant_fk("deal_id", "deals", ondelete="CASCADE"),
        tenant_fk("scenario_id", "deal_scenarios", ondelete="SET NULL"),
        tenant_fk("requested_by_id", "users"),
        CheckConstraint("credit_score BETWEEN 300 AND 850", name="credit_score_range"),
        Index("ix_rate_requests_deal", "dealership_id", "deal_id"),
    )

    deal_id: Mapped[BigId]
    scenario_id: Mapped[BigId | None]
    requested_by_id: Mapped[BigId]
    status: Mapped[RateRequestStatus] = mapped_column(
        text_enum(RateRequestStatus, "rate_request_status"),
        server_default=RateRequestStatus.PENDING.value,
    )
    credit_score: Mapped[int] = mapped_column(Integer)
    amount_requested: Mapped[Money]
    down_payment: Mapped[Money] = mapped_column(server_default="0")
    trade_value: Mapped[Money] = mapped_column(server_default="0")
    trade_payoff: Mapped[Money] = mapped_column(server_default="0")
    term_months: Mapped[int] = mapped_column(Integer)
    monthly_income: Mapped[Money | None]
    monthly_debt: Mapped[Money | None]
    submitted_at: Mapped[Timestamp | None]


class LenderDecision(TenantMixin, Timestamps, Base):
    """A lender's answer to a rate request; approved ones are the deal's approved lenders."""

    __tablename__ = "lender_decisions"
    __table_args__ = (
        tenant_fk("rate_request_id", "rate_requests", ondelete="CASCADE"),
        tenant_fk("lender_id", "lenders"),
        Index("ix_lender_decisions_request", "dealership_id", "rate_request_id"),
    )

    rate_request_id: Mapped[BigId]
    lender_id: Mapped[BigId]
    decision: Mapped[LenderDecisionType] = mapped_column(
        text_enum(LenderDecisionType, "lender_decision")
    )
    approved_amount: Mapped[Money | None]
    apr: Mapped[Rate | None]
    buy_rate: Mapped[Rate | None]
    dealer_reserve: Mapped[Money | None]
    term_months: Mapped[int | None] = mapped_column(Integer)
    monthly_payment: Mapped[Money | None]
    ltv_percent: Mapped[Rate | None]
    dti_percent: Mapped[Rate | None]
    stipulations: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )
    money_factor: Mapped[Factor | None]
    decided_at: Mapped[Timestamp]
