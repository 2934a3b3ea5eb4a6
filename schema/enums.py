"""The database's closed sets, registered as GraphQL enums (values appear in UPPER_CASE)."""

from __future__ import annotations

import strawberry

from db.models.enums import (
    AppointmentStatus,
    AppointmentType,
    DealStatus,
    DealType,
    DeliveryStatus,
    FeeKind,
    LenderDecisionType,
    QuickQuoteStatus,
    RateRequestStatus,
    Role,
    VehicleCondition,
    VehicleStatus,
)

# strawberry.enum registers the class in place and returns it, so the types used in the
# schema are the very enums the models store.
strawberry.enum(Role, description="A staff role; what each role may do is set per dealership.")
strawberry.enum(VehicleCondition, description="New, used or certified pre-owned.")
strawberry.enum(VehicleStatus, description="Where a vehicle is in its inventory life.")
strawberry.enum(DealStatus, description="Where a deal is in its lifecycle.")
strawberry.enum(DealType, description="How the customer pays: cash, finance or lease.")
strawberry.enum(AppointmentType)
strawberry.enum(AppointmentStatus)
strawberry.enum(QuickQuoteStatus, description="draft -> sent -> converted (to a deal).")
strawberry.enum(DeliveryStatus, description="Delivery of a quote to one recipient.")
strawberry.enum(RateRequestStatus)
strawberry.enum(LenderDecisionType, description="A lender's answer to a rate request.")
strawberry.enum(FeeKind)

__all__ = [
    "AppointmentStatus",
    "AppointmentType",
    "DealStatus",
    "DealType",
    "DeliveryStatus",
    "FeeKind",
    "LenderDecisionType",
    "QuickQuoteStatus",
    "RateRequestStatus",
    "Role",
    "VehicleCondition",
    "VehicleStatus",
]
