"""The first slice of the schema end to end: viewer and dealership, signed in or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.models.enums import Role
from tests.conftest import GraphQLClient
from tests.factories import Factory

VIEWER = """
{ viewer { role user { id email fullName role isActive dealership { code } }
           dealership { id code name } }
  dealership { code isActive } }
"""


async def test_viewer_with_a_valid_token(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    data = await client.data(VIEWER, token=tenant.tokens[Role.SALESPERSON])
    viewer = data["viewer"]
    assert viewer["role"] == "SALESPERSON"
    assert viewer["user"]["email"] == f"salesperson.{tenant.code}@example.com"
    assert viewer["user"]["dealership"]["code"] == tenant.code
    assert viewer["dealership"]["code"] == tenant.code
    assert data["dealership"] == {"code": tenant.code, "isActive": True}


async def test_viewer_without_a_token_is_a_clear_error(client: GraphQLClient) -> None:
    result = await client.execute("{ viewer { role } }")
    assert result["data"] is None
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Authorization" in error["message"]


async def test_a_forged_token_is_rejected_with_401(client: GraphQLClient) -> None:
    response = await client.post("{ viewer { role } }", token="not.a.jwt")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_expired_token_is_rejected(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    expired = client.signer.issue(
        user_id=tenant.users[Role.ADMIN],
        dealership_id=tenant.dealership_id,
        role=Role.ADMIN,
        ttl=timedelta(minutes=5),
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    response = await client.post("{ viewer { role } }", token=expired)
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


async def test_a_token_signed_with_another_secret_is_rejected(
    client: GraphQLClient, factory: Factory
) -> None:
    from server.tokens import TokenSigner

    tenant = await factory.tenant()
    other = TokenSigner(
        secret="another-secret-" + "y" * 40,
        issuer=client.signer.issuer,
        audience=client.signer.audience,
    )
    forged = other.issue(
        user_id=tenant.users[Role.ADMIN],
        dealership_id=tenant.dealership_id,
        role=Role.ADMIN,
        ttl=timedelta(minutes=5),
    )
    response = await client.post("{ viewer { role } }", token=forged)
    assert response.status_code == 401


async def test_request_id_is_echoed_or_made(client: GraphQLClient) -> None:
    response = await client.post("{ __typename }", headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    response = await client.post("{ __typename }", headers={"x-request-id": "bad id\n"})
    assert response.headers["x-request-id"] != "bad id\n"
    assert len(response.headers["x-request-id"]) == 32
