"""Closed sets of values stored as text with CHECK constraints (easier to migrate than
PostgreSQL enum types) and exposed as GraphQL enums."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


class Role(StrEnum):
    ADMIN = "admin"
    SALES_MANAGER = "sales_manager"
    FINANCE_MANAGER = "finance_manager"
    SALESPERSON = "salesperson"
    READ_ONLY = "read_only"


class VehicleCondition(StrEnum):
    NEW = "new"
    USED = "used"
    CERTIFIED = "certified"


class VehicleStatus(StrEnum):
    AVAILABLE = "available"
    ON_HOLD = "on_hold"
    PENDING = "pending"  # a live deal holds it
    SOLD = "sold"
    IN_TRANSIT = "in_transit"
    WHOLESALE = "wholesale"


class DealStatus(StrEnum):
    OPEN = "open"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    CONTRACTED = "contracted"
    DELIVERED = "delivered"
    LOST = "lost"
    CANCELLED = "cancelled"
    UNWOUND = "unwound"


class DealType(StrEnum):
    CASH = "cash"
    FINANCE = "finance"
    LEASE = "lease"


class AppointmentType(StrEnum):
    SALES_CONSULTATION = "sales_consultation"
    TEST_DRIVE = "test_drive"
    DELIVERY = "delivery"
    FINANCE_REVIEW = "finance_review"
    FOLLOW_UP = "follow_up"


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class QuickQuoteStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    CONVERTED = "converted"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class RateRequestStatus(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    DECISIONED = "decisioned"
    CLOSED = "closed"


class LenderDecisionType(StrEnum):
    APPROVED = "approved"
    CONDITIONAL = "conditional"
    DECLINED = "declined"
    COUNTER_OFFER = "counter_offer"


class FeeKind(StrEnum):
    DOC = "doc"
    TITLE = "title"
    REGISTRATION = "registration"
    LICENSE = "license"
    INSPECTION = "inspection"
    DEALER_PREP = "dealer_prep"
    OTHER = "other"


def text_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
