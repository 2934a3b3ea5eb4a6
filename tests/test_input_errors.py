"""A client's malformed input is answered as a request error that says what is wrong; it is
never masked as an internal error nor logged as one. (Both cases were found by the fuzz run.)"""

from __future__ import annotations

import logging

import httpx
import pytest

from db.models.enums import Role
from tests.factories import Factory

GQL = "application/graphql-response+json"
BY_PRICE = "query($min: Money) { vehicles(filter: {priceMin: $min}) { totalCount } }"
BY_STATUS = "query($s: [DealStatus!]) { deals(filter: {status: $s}) { totalCount } }"


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        (
            '{ vehicles(filter: {priceMin: "12.345"}) { totalCount } }',
            None,
            "Money has at most two decimal places",
        ),
        (
            '{ vehicles(filter: {priceMin: ""}) { totalCount } }',
            None,
            "Money must be a decimal string such as \"1234.50\", not ''",
        ),
        (BY_PRICE, {"min": "abc"}, "Variable '$min' has invalid value: Money must be"),
        (BY_PRICE, {"min": "1e400"}, "Money must be below 10,000,000,000"),
        (BY_STATUS, {"s": ["OPN"]}, "Value 'OPN' does not exist in 'DealStatus' enum."),
    ],
)
async def test_bad_input_is_a_request_error_not_an_internal_one(
    http: httpx.AsyncClient,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
    query: str,
    variables: dict[str, object] | None,
    message: str,
) -> None:
    tenant = await factory.tenant()
    with caplog.at_level(logging.ERROR):
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"accept": GQL, "authorization": f"Bearer {tenant.tokens[Role.ADMIN]}"},
        )
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert message in error["message"]
    assert "INTERNAL_SERVER_ERROR" not in response.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
