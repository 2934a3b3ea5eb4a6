"""GraphQL over HTTP: media types, status codes, CSRF-safe mutations, body limits."""

from __future__ import annotations

import httpx
import pytest

MUTATION = 'mutation { createCustomer(input: {firstName: "A", lastName: "B"}) { __typename } }'
GQL_RESPONSE = "application/graphql-response+json"


async def test_post_json_runs_a_query(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_get_runs_a_query_with_url_encoded_variables(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql",
        params={
            "query": "query($x: Boolean!) { __typename @include(if: $x) }",
            "variables": '{"x": true}',
        },
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_graphql_response_media_type_is_honoured(http: httpx.AsyncClient) -> None:
    ok = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": GQL_RESPONSE}
    )
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith(GQL_RESPONSE)
    for query in ("{", "{ noSuchField }"):
        bad = await http.post("/graphql", json={"query": query}, headers={"accept": GQL_RESPONSE})
        assert bad.status_code == 400
        assert "data" not in bad.json()
        assert bad.json()["errors"]
        legacy = await http.post(
            "/graphql", json={"query": query}, headers={"accept": "application/json"}
        )
        assert legacy.status_code == 200


async def test_variable_coercion_failure_is_a_request_error(http: httpx.AsyncClient) -> None:
    body = {"query": "query($id: ID!) { __typename }", "variables": {"id": None}}
    response = await http.post("/graphql", json=body, headers={"accept": GQL_RESPONSE})
    assert response.status_code == 400


async def test_unacceptable_accept_header_is_406(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": "text/csv"}
    )
    assert response.status_code == 406


async def test_a_mutation_cannot_run_over_get(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", params={"query": MUTATION})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"query": "' + MUTATION.replace('"', '\\"') + '"}'),
        ("application/x-www-form-urlencoded", "query=" + MUTATION),
        (
            "multipart/form-data; boundary=x",
            '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n' + MUTATION + "\r\n--x--",
        ),
        ("application/json; charset=latin-1", '{"query": "{ __typename }"}'),
    ],
)
async def test_no_cross_site_body_can_run_an_operation(
    http: httpx.AsyncClient, content_type: str, body: str
) -> None:
    response = await http.post("/graphql", content=body, headers={"content-type": content_type})
    assert response.status_code == 415


async def test_missing_content_type_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", content=b'{"query": "{ __typename }"}')
    assert response.status_code == 415


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'"just a string"',
        b'{"query": 1}',
        b'{"query": "{ a }", "variables": []}',
        b'{"query": "{ a }", "operationName": 3}',
        b'{"query": "{ a }", "extensions": "x"}',
    ],
)
async def test_malformed_bodies_are_400(http: httpx.AsyncClient, body: bytes) -> None:
    response = await http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_batched_requests_are_refused(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json=[{"query": "{ __typename }"}] * 2)
    assert response.status_code == 400
    assert "batched" in response.json()["errors"][0]["message"]
    assert response.json()["errors"][0]["extensions"]["code"] == "BATCHING_DISABLED"


async def test_body_size_limit(http: httpx.AsyncClient) -> None:
    at_limit_padding = 256 * 1024 - len('{"query":"{ __typename }","extensions":{"p":""}}')
    body = '{"query":"{ __typename }","extensions":{"p":"' + "x" * at_limit_padding + '"}}'
    assert len(body) == 256 * 1024
    ok = await http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert ok.status_code == 200
    over = body.replace('"p":"', '"p":"x', 1)
    refused = await http.post(
        "/graphql", content=over, headers={"content-type": "application/json"}
    )
    assert refused.status_code == 413


async def test_graphiql_is_served_to_browsers(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_other_methods_are_405(http: httpx.AsyncClient) -> None:
    response = await http.put("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($v: String!) { vehicleByVin(vin: $v) { id } }", {"v": "AB\u0000C"}),
        ('{ vehicleByVin(vin: "AB\\u0000C") { id } }', None),
    ],
)
async def test_nul_characters_are_refused_before_anything_runs(
    http: httpx.AsyncClient, query: str, variables: dict[str, object] | None
) -> None:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_TEXT"
