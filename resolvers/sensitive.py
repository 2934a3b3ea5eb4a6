"""Field-level masking of sensitive values: the one mechanism for every such field.

A field declared with `extensions=masked(mask)` resolves to its clear value only when the
caller's role holds `customer.sensitive.read` in their dealership (the role's permission set
is loaded once per request, by the `role_permissions` loader, through the request's own
tenant-bound session); anyone else gets `mask(value)`. Empty values stay null for everyone.

Masks (documented on the fields):
- date of birth              "****-**-**"
- driver's licence number    "•••••" and its last four characters when it has at least
                             eight, else "•••••" alone
- driver's licence state     "••"
- SSN last four              "••••"
- monthly income             null
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension

from db.crypto import FieldCipher
from resolvers.context import Info

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


async def allowed(info: Info, action: str) -> bool:
    """Whether the caller's role may take `action` in their dealership."""
    principal = info.context.principal
    if principal is None:
        return False
    actions = await info.context.loaders.role_permissions.load(principal.role)
    return action in actions


class MaskedUnlessAllowed(FieldExtension):
    def __init__(self, mask: Callable[[Any], Any], action: str = SENSITIVE_READ) -> None:
        super().__init__()
        self.mask = mask
        self.action = action

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        value = await next_(source, info, **kwargs)
        if value is None or await allowed(info, self.action):
            return value
        return self.mask(value)


def masked(mask: Callable[[Any], Any]) -> list[FieldExtension]:
    """`strawberry.field(extensions=masked(mask_date))` on a field with an async resolver."""
    return [MaskedUnlessAllowed(mask)]
