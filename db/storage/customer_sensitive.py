"""A customer's sensitive data: what identifies them for credit (FTC Safeguards Rule).

Date of birth, driver's licence number and state, the last four digits of the SSN and
monthly income are encrypted in Python before they reach the database (db/crypto.py), each
bound to its table, column, dealership and customer, and decrypted only to be shown. Only
the last four digits of an SSN are accepted: anything else, a full SSN included, is refused
and never stored. The audit trail records which of them changed, never a value or a
ciphertext (db.storage.audit.snapshot redacts the columns), and no error message repeats a
value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from db.crypto import FieldCipher, place
from db.errors import ValidationFailed
from db.models import Customer
from db.storage.audit import Actor, mark_changed, record_change, snapshot
from db.storage.ownership import bump_version, check_version, load_owned
from db.validation import nonnegative_money, state_code

ENTITY = "Customer"
TABLE = "customers"

# field -> encrypted column
COLUMNS: dict[str, str] = {
    "date_of_birth": "date_of_birth_enc",
    "drivers_license_number": "drivers_license_number_enc",
    "drivers_license_state": "drivers_license_state_enc",
    "ssn_last4": "ssn_last4_enc",
    "monthly_income": "monthly_income_enc",
}

MIN_AGE, MAX_AGE = 16, 120
LICENSE_MAX = 20
_LICENSE = re.compile(r"^[A-Z0-9]{1,20}$")
_LAST4 = re.compile(r"^[0-9]{4}$")


class SensitiveFields(TypedDict, total=False):
    """What a client may set; absent keys are left as they are, None clears."""

    date_of_birth: date | None
    drivers_license_number: str | None
    drivers_license_state: str | None
    ssn_last4: str | None
    monthly_income: Decimal | None


def age_on(day: date, born: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _date_of_birth(value: date | None, *, field: tuple[str, ...], today: date) -> str | None:
    if value is None:
        return None
    if value >= today:
        raise ValidationFailed(
            "a date of birth is in the past", field=field, code="DATE_NOT_IN_PAST"
        )
    if not MIN_AGE <= age_on(today, value) <= MAX_AGE:
        raise ValidationFailed(
            f"the customer must be {MIN_AGE} to {MAX_AGE} years old",
            field=field,
            code="AGE_OUT_OF_RANGE",
        )
    return value.isoformat()


def _license_number(value: str | None, *, field: tuple[str, ...]) -> str | None:
    number = (value or "").strip().upper()
    if not number:
        return None
    if not _LICENSE.match(number):
        raise ValidationFailed(
            f"a licence number is 1 to {LICENSE_MAX} letters and digits",
            field=field,
            code="INVALID_LICENSE_NUMBER",
        )
    return number


def _ssn_last4(value: str | None, *, field: tuple[str, ...]) -> str | None:
    digits = (value or "").strip()
    if not digits:
        return None
    if not _LAST4.match(digits) or digits == "0000":
        raise ValidationFailed(
            "send only the last four digits of the SSN (a full SSN is never stored)",
            field=field,
            code="INVALID_SSN_LAST4",
        )
    return digits


def _income(value: Decimal | None, *, field: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    return str(nonnegative_money(value, field=field).quantize(Decimal("0.01")))


def clean_sensitive(
    fields: SensitiveFields, *, path: tuple[str, ...], today: date
) -> dict[str, str | None]:
    """Validate what a client sent; the clear text to store (None: clear) by column."""
    clean: dict[str, str | None] = {}
    if "date_of_birth" in fields:
        clean[COLUMNS["date_of_birth"]] = _date_of_birth(
            fields["date_of_birth"], field=(*path, "dateOfBirth"), today=today
        )
    if "drivers_license_number" in fields:
        clean[COLUMNS["drivers_license_number"]] = _license_number(
            fields["drivers_license_number"], field=(*path, "driversLicenseNumber")
        )
    if "drivers_license_state" in fields:
        clean[COLUMNS["drivers_license_state"]] = state_code(
            fields["drivers_license_state"], field=(*path, "driversLicenseState")
        )
    if "ssn_last4" in fields:
        clean[COLUMNS["ssn_last4"]] = _ssn_last4(fields["ssn_last4"], field=(*path, "ssnLast4"))
    if "monthly_income" in fields:
        clean[COLUMNS["monthly_income"]] = _income(
            fields["monthly_income"], field=(*path, "monthlyIncome")
        )
    return clean


def where(column: str, *, dealership_id: int, customer_id: int) -> str:
    """The associated data binding a ciphertext to its customer's column."""
    return place(TABLE, column, dealership_id=dealership_id, row_id=customer_id)


def decrypt(
    cipher: FieldCipher,
    stored: bytes | None,
    *,
    column: str,
    dealership_id: int,
    customer_id: int,
) -> str | None:
    """The clear text of a stored value (None when empty). Raises DecryptionFailed."""
    if stored is None:
        return None
    return cipher.decrypt(
        stored, where=where(column, dealership_id=dealership_id, customer_id=customer_id)
    )


@dataclass(frozen=True)
class SensitiveData:
    """A customer's sensitive data in the clear, for code that needs it (a credit
    application, say)."""

    date_of_birth: date | None
    drivers_license_number: str | None
    drivers_license_state: str | None
    ssn_last4: str | None
    monthly_income: Decimal | None


def reveal(cipher: FieldCipher, customer: Customer) -> SensitiveData:
    def clear(field: str) -> str | None:
        return decrypt(
            cipher,
            getattr(customer, COLUMNS[field]),
            column=COLUMNS[field],
            dealership_id=customer.dealership_id,
            customer_id=customer.id,
        )

    born, income = clear("date_of_birth"), clear("monthly_income")
    return SensitiveData(
        date_of_birth=None if born is None else date.fromisoformat(born),
        drivers_license_number=clear("drivers_license_number"),
        drivers_license_state=clear("drivers_license_state"),
        ssn_last4=clear("ssn_last4"),
        monthly_income=None if income is None else Decimal(income),
    )


async def update_sensitive_data(
    session: AsyncSession,
    actor: Actor,
    *,
    cipher: FieldCipher,
    customer_id: int,
    version: int,
    fields: SensitiveFields,
    path: tuple[str, ...],
    today: date | None = None,
) -> Customer:
    """Set or clear a customer's sensitive fields. Only the values that differ are
    re-encrypted; nothing changed means no new version and no audit row."""
    clean = clean_sensitive(fields, path=path, today=today or datetime.now(UTC).date())
    customer = await load_owned(
        session, Customer, customer_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    check_version(customer, version, entity=ENTITY)
    before = snapshot(customer)
    changed: set[str] = set()
    for column, value in clean.items():
        place_of = where(column, dealership_id=customer.dealership_id, customer_id=customer.id)
        stored: bytes | None = getattr(customer, column)
        current = None if stored is None else cipher.decrypt(stored, where=place_of)
        if current == value:
            continue
        setattr(customer, column, None if value is None else cipher.encrypt(value, where=place_of))
        changed.add(column)
    if not changed:
        return customer
    bump_version(customer)
    await session.flush()
    await record_change(
        session,
        actor,
        action="customer.update_sensitive_data",
        entity_type=ENTITY,
        entity_id=customer.id,
        before=before,
        after=mark_changed(snapshot(customer), before, frozenset(changed)),
    )
    return customer
