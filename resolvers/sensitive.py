"""Field-level masking of sensitive values: the one mechanism for every such field.

A field declared with `extensions=masked(mask)` resolves to its clear value only when the
caller's role holds `customer.sensitive.read` in their dealership (resolvers/permissions.py
Sensitive, which reads the action set loaded once per request with the caller's check);
anyone else gets `mask(value)`. Empty values stay null for everyone.

Masks (documented on the fields):
- date of birth              "****-**-**"
- driver's licence number    "•••••" and its last four characters when it has at least
                             eight, else "•••••" alone
- driver's licence state     "••"
- SSN last four              "••••"
- monthly income             null
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strawberry.extensions import FieldExtension

from db.crypto import FieldCipher
from resolvers.context import Info
from resolvers.permissions import sensitive

SENSITIVE_READ = "customer.sensitive.read"

DATE_MASK = "****-**-**"
DOTS = "•"


def mask_date(value: object) -> str:
    return DATE_MASK


def mask_license_number(value: object) -> str:
    text = str(value)
    return DOTS * 5 + (text[-4:] if len(text) >= 8 else "")


def mask_all(length: int) -> Callable[[object], str]:
    return lambda value: DOTS * length


def mask_to_null(value: object) -> None:
    return None


def cipher_of(info: Info) -> FieldCipher:
    """The process's data cipher (built from settings when the app starts)."""
    cipher = info.context.request.app.state.dealerdesk.cipher
    assert isinstance(cipher, FieldCipher)
    return cipher


def masked(mask: Callable[[Any], Any]) -> list[FieldExtension]:
    """`strawberry.field(extensions=masked(mask_date))`: clear for roles holding
    customer.sensitive.read, `mask(value)` for everyone else."""
    return sensitive(SENSITIVE_READ, mask)
