"""`node(id:)` and `nodes(ids:)`: any object by its global id, through the request's loaders.
Each Node type registers how to load it in NODE_LOADERS, and the action that reading it
needs in NODE_ACTIONS (a type without one is never returned)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import strawberry

from resolvers.context import Info
from resolvers.loaders import Loaders
from resolvers.permissions import allows, requires
from schema.relay import Node, from_global_id

NodeLoader = Callable[[Loaders, int], Awaitable[Node | None]]

NODE_LOADERS: dict[str, NodeLoader] = {
    "Dealership": lambda loaders, pk: loaders.dealership.load(pk),
    "User": lambda loaders, pk: loaders.user.load(pk),
    "Customer": lambda loaders, pk: loaders.customer.load(pk),
    "CustomerNote": lambda loaders, pk: loaders.customer_note.load(pk),
    "Vehicle": lambda loaders, pk: loaders.vehicle.load(pk),
    "DealershipSettings": lambda loaders, pk: loaders.dealership_settings.load(pk),
    "FeeTemplate": lambda loaders, pk: loaders.fee_template.load(pk),
    "Appointment": lambda loaders, pk: loaders.appointment.load(pk),
    "QuickQuote": lambda loaders, pk: loaders.quick_quote.load(pk),
    "QuickQuoteContact": lambda loaders, pk: loaders.quick_quote_contact.load(pk),
    "Deal": lambda loaders, pk: loaders.deal.load(pk),
    "DealScenario": lambda loaders, pk: loaders.deal_scenario.load(pk),
    "TradeVehicle": lambda loaders, pk: loaders.trade_vehicle.load(pk),
    "TaxJurisdiction": lambda loaders, pk: loaders.tax_jurisdiction.load(pk),
    "Lender": lambda loaders, pk: loaders.lender.load(pk),
    "LenderProgram": lambda loaders, pk: loaders.lender_program.load(pk),
    "RateRequest": lambda loaders, pk: loaders.rate_request.load(pk),
    "LenderDecision": lambda loaders, pk: loaders.lender_decision.load(pk),
    "AuditLog": lambda loaders, pk: loaders.audit_log.load(pk),
    "SecurityAuditLog": lambda loaders, pk: loaders.security_audit_log.load(pk),
}


# What the root field of each type asks: node(id:) is no way around it.
NODE_ACTIONS: dict[str, str] = {
    "Dealership": "viewer.read",
    "User": "user.read",
    "Customer": "customer.read",
    "CustomerNote": "customer.read",
    "Vehicle": "vehicle.read",
    "DealershipSettings": "settings.read",
    "FeeTemplate": "fee.read",
    "Appointment": "appointment.read",
    "QuickQuote": "quote.read",
    "QuickQuoteContact": "quote.read",
    "Deal": "deal.read",
    "DealScenario": "deal.read",
    "TradeVehicle": "deal.read",
    "TaxJurisdiction": "tax.read",
    "Lender": "lender.read",
    "LenderProgram": "lender.read",
    "RateRequest": "rate_request.read",
    "LenderDecision": "rate_request.read",
    "AuditLog": "audit.read",
    "SecurityAuditLog": "security_audit.read",
}


async def node(info: Info, id: strawberry.ID) -> Node | None:
    """The object with this id, or null if there is none you can see (or your role may
    not read its type)."""
    info.context.require_principal()
    try:
        type_name, pk = from_global_id(id)
    except ValueError:
        return None
    load = NODE_LOADERS.get(type_name)
    if load is None:
        return None
    if not allows(info, NODE_ACTIONS.get(type_name, f"{type_name}.unreadable"), type=type_name):
        return None
    return await load(info.context.loaders, pk)


async def nodes(info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
    """The objects with these ids, in order; null where there is none you can see."""
    from db.errors import ValidationFailed

    if len(ids) > 100:
        raise ValidationFailed("at most 100 ids at a time", field=("ids",), code="TOO_MANY_IDS")
    # Gathered, so that loads of the same type are batched into one statement.
    return list(await asyncio.gather(*(node(info, i) for i in ids)))


@strawberry.type
class NodeQuery:
    node: Node | None = strawberry.field(resolver=node, extensions=requires("node.read"))
    nodes: list[Node | None] = strawberry.field(resolver=nodes, extensions=requires("node.read"))
