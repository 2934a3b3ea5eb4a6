"""SQLAlchemy models, one module per domain; importing this package registers them all."""

from db.models.appointments import Appointment
from db.models.audit import AuditChainHead, AuditLog, SecurityAuditLog
from db.models.base import Base
from db.models.customers import Customer, CustomerNote
from db.models.dealerships import Dealership, DealershipSettings
from db.models.deals import Deal, DealNumberCounter, DealScenario, TradeVehicle
from db.models.fees import FeeTemplate
from db.models.lenders import Lender, LenderDecision, LenderProgram, RateRequest
from db.models.quotes import QuickQuote, QuickQuoteContact
from db.models.taxes import TaxJurisdiction
from db.models.users import PasswordResetToken, Permission, RefreshToken, User
from db.models.vehicles import Vehicle

__all__ = [
    "Appointment",
    "AuditChainHead",
    "AuditLog",
    "Base",
    "Customer",
    "CustomerNote",
    "Deal",
    "DealNumberCounter",
    "DealScenario",
    "Dealership",
    "DealershipSettings",
    "FeeTemplate",
    "Lender",
    "LenderDecision",
    "LenderProgram",
    "PasswordResetToken",
    "Permission",
    "QuickQuote",
    "QuickQuoteContact",
    "RateRequest",
    "RefreshToken",
    "SecurityAuditLog",
    "TaxJurisdiction",
    "TradeVehicle",
    "User",
    "Vehicle",
]
