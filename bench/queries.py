"""The measured operations, written against each server's own schema, and the check that
both servers return the same data for them.

Q1 `{ __typename }`; Q2 one deal with its customer and vehicle; Q3 the first 50 deals of
dealership 3 in id order with customer, vehicle, salesperson and scenarios (38 output fields
a deal: 1,900); Q3-100 the same with 100 deals; createDeal (dealerdesk only: PostGraphile has
no equivalent) on a new vehicle and a new customer each time.

dealerdesk reads as the sales manager of dealership 3, so row-level security limits every
read to that dealership; PostGraphile, connected as the superuser, is told the dealership
explicitly. dealerdesk's ids are global ids ("Deal:12343" in base64); PostGraphile calls the
row id `rowId` and names relations after the composite keys (…ByDealershipIdAndCustomerId).
"""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal

from bench.dataset import DEALERSHIP, Q2_DEAL

READ_QUERIES = ("Q1", "Q2", "Q3", "Q3-100")
CREATE_DEAL = "createDeal"
ALL_QUERIES = (*READ_QUERIES, CREATE_DEAL)


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


_DD_DEAL = (
    "id dealNumber status createdAt customer { id firstName lastName email } "
    "vehicle { id vin make model year listPrice status }"
)
_DD_DEAL_FULL = (
    f"{_DD_DEAL} salesperson {{ id firstName lastName email }} "
    "scenarios { id type apr termMonths monthlyPayment }"
)
_PGL_DEAL = (
    "rowId dealNumber status createdAt "
    "customerByDealershipIdAndCustomerId { rowId firstName lastName email } "
    "vehicleByDealershipIdAndVehicleId { rowId vin make model year listPrice status }"
)
_PGL_DEAL_FULL = (
    f"{_PGL_DEAL} userByDealershipIdAndSalespersonId {{ rowId firstName lastName email }} "
    "dealScenariosByDealershipIdAndDealId(orderBy: PRIMARY_KEY_ASC) "
    "{ nodes { rowId type apr termMonths monthlyPayment } }"
)


def _dd_list(n: int) -> str:
    return (
        f"{{ deals(first: {n}, orderBy: {{field: CREATED_AT, direction: ASC}}) "
        f"{{ nodes {{ {_DD_DEAL_FULL} }} }} }}"
    )


def _pgl_list(n: int) -> str:
    return (
        f'{{ allDeals(condition: {{dealershipId: "{DEALERSHIP}"}}, first: {n}, '
        f"orderBy: PRIMARY_KEY_ASC) {{ nodes {{ {_PGL_DEAL_FULL} }} }} }}"
    )


DEALERDESK: dict[str, str] = {
    "Q1": "{ __typename }",
    "Q2": f'{{ deal(id: "{global_id("Deal", Q2_DEAL)}") {{ {_DD_DEAL} }} }}',
    "Q3": _dd_list(50),
    "Q3-100": _dd_list(100),
}
POSTGRAPHILE: dict[str, str] = {
    "Q1": "{ __typename }",
    "Q2": (
        f'{{ dealByDealershipIdAndRowId(dealershipId: "{DEALERSHIP}", rowId: "{Q2_DEAL}") '
        f"{{ {_PGL_DEAL} }} }}"
    ),
    "Q3": _pgl_list(50),
    "Q3-100": _pgl_list(100),
}
# What each query must return: the deals it lists (Q1 and Q2 need no count).
EXPECTED_DEALS = {"Q3": 50, "Q3-100": 100}

CREATE_DEAL_MUTATION = (
    "mutation($input: CreateDealInput!) { createDeal(input: $input) { __typename "
    "... on CreateDealSuccess { deal { id dealNumber } } ... on Error { code message } } }"
)


def query_for(kind: str, name: str) -> str:
    return (DEALERDESK if kind == "dealerdesk" else POSTGRAPHILE)[name]


# --- equivalence ------------------------------------------------------------------------------

RENAMES = {
    "rowId": "id",
    "customerByDealershipIdAndCustomerId": "customer",
    "vehicleByDealershipIdAndVehicleId": "vehicle",
    "userByDealershipIdAndSalespersonId": "salesperson",
    "dealScenariosByDealershipIdAndDealId": "scenarios",
    "dealByDealershipIdAndRowId": "deal",
    "allDeals": "deals",
}
_DECIMALS = {"listPrice", "apr", "monthlyPayment"}
_UPPER = {"status", "type"}

Json = object


def _id(value: Json) -> int:
    text = str(value)
    if text.isdigit():
        return int(text)
    _, _, pk = base64.b64decode(text).decode().partition(":")
    return int(pk)


def normalise(value: Json, key: str | None = None) -> Json:
    """Both servers' answers in one shape: connections as lists, row ids as ints, enums in
    upper case, decimals and times parsed."""
    if isinstance(value, dict):
        if set(value) == {"nodes"}:
            return normalise(value["nodes"])
        return {RENAMES.get(k, k): normalise(v, RENAMES.get(k, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if value is None:
        return None
    if key == "id":
        return _id(value)
    if key in _DECIMALS:
        return Decimal(str(value)).normalize()
    if key in _UPPER:
        return str(value).upper()
    if key == "createdAt":
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return value


def output_fields(data: Json) -> int:
    """Output fields under the root field(s) of a normalised answer, as the issue counts them:
    38 a deal for Q3 (1,900 for 50 deals)."""

    def count(value: Json) -> int:
        if isinstance(value, dict):
            return sum(1 + count(v) for v in value.values())
        if isinstance(value, list):
            return sum(count(v) for v in value)
        return 0

    return sum(count(v) for v in data.values()) if isinstance(data, dict) else 0
