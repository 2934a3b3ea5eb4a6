"""Trade-in queries and mutations (attaching and detaching live with the deal's)."""

from __future__ import annotations

from typing import cast

import strawberry

from db.storage import trade_vehicles as storage
from resolvers.context import Info
from resolvers.ids import decode_id
from resolvers.mutations import mutation, write
from resolvers.permissions import requires
from schema.base import from_row
from schema.deals import Deal
from schema.inputs import provided
from schema.relay import to_global_id
from schema.trade_vehicles import (
    AddTradeVehicleInput,
    AddTradeVehicleResult,
    AddTradeVehicleSuccess,
    RemoveTradeVehicleInput,
    RemoveTradeVehicleResult,
    RemoveTradeVehicleSuccess,
    TradeVehicle,
    UpdateTradeVehicleInput,
    UpdateTradeVehicleResult,
    UpdateTradeVehicleSuccess,
)

INPUT = ("input",)


async def trade_vehicle(info: Info, id: strawberry.ID) -> TradeVehicle | None:
    """A trade-in by id."""
    return await info.context.loaders.trade_vehicle.load(
        decode_id(id, "TradeVehicle", field=("id",))
    )


@mutation
async def add_trade_vehicle(info: Info, input: AddTradeVehicleInput) -> AddTradeVehicleResult:
    """A new trade-in on an editable deal, owned by the deal's customer. Existing scenarios
    keep their trade figures; new ones default to the deal's trade-in totals."""
    deal_id = decode_id(input.deal_id, "Deal", field=(*INPUT, "dealId"))
    fields = cast(storage.TradeVehicleFields, provided(input, exclude=("deal_id",)))
    trade, deal = await write(
        info,
        lambda session, actor: storage.add_trade_vehicle(
            session, actor, deal_id=deal_id, fields=fields, path=INPUT
        ),
    )
    return AddTradeVehicleSuccess(
        trade_vehicle=from_row(TradeVehicle, trade), deal=from_row(Deal, deal)
    )


@mutation
async def update_trade_vehicle(
    info: Info, input: UpdateTradeVehicleInput
) -> UpdateTradeVehicleResult:
    trade_id = decode_id(input.id, "TradeVehicle", field=(*INPUT, "id"))
    fields = cast(storage.TradeVehicleFields, provided(input, exclude=("id",)))
    trade = await write(
        info,
        lambda session, actor: storage.update_trade_vehicle(
            session, actor, trade_vehicle_id=trade_id, fields=fields, path=INPUT
        ),
    )
    return UpdateTradeVehicleSuccess(trade_vehicle=from_row(TradeVehicle, trade))


@mutation
async def remove_trade_vehicle(
    info: Info, input: RemoveTradeVehicleInput
) -> RemoveTradeVehicleResult:
    """Delete a trade-in (e.g. the customer keeps the car)."""
    trade_id = decode_id(input.id, "TradeVehicle", field=(*INPUT, "id"))
    deal = await write(
        info,
        lambda session, actor: storage.remove_trade_vehicle(
            session, actor, trade_vehicle_id=trade_id, path=INPUT
        ),
    )
    return RemoveTradeVehicleSuccess(
        removed_trade_vehicle_id=to_global_id("TradeVehicle", trade_id),
        deal=None if deal is None else from_row(Deal, deal),
    )


@strawberry.type
class TradeVehicleQuery:
    trade_vehicle: TradeVehicle | None = strawberry.field(
        resolver=trade_vehicle, extensions=requires("deal.read")
    )


@strawberry.type
class TradeVehicleMutation:
    add_trade_vehicle: AddTradeVehicleResult = strawberry.field(
        resolver=add_trade_vehicle, extensions=requires("deal.write")
    )
    update_trade_vehicle: UpdateTradeVehicleResult = strawberry.field(
        resolver=update_trade_vehicle, extensions=requires("deal.write")
    )
    remove_trade_vehicle: RemoveTradeVehicleResult = strawberry.field(
        resolver=remove_trade_vehicle, extensions=requires("deal.write")
    )
