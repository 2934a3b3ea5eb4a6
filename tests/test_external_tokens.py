"""An external identity provider's tokens (AUTH_JWKS_URL): RS256, verified with a key of its
JWKS - served here by a real HTTP server on a thread, from a key pair made for the test -
and mapped by their `email` claim to exactly one active user."""

from __future__ import annotations

import base64
import hmac
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models.enums import Role
from server.app import create_app
from server.config import Environment, Settings
from tests.conftest import TEST_SECRET, GraphQLClient
from tests.factories import Factory
from tests.helpers import rows

ISSUER = "https://idp.example.test/"
AUDIENCE = "dealerdesk-external"
KID = "test-key-1"
VIEWER = "{ viewer { role user { email } } }"


class JWKS:
    """A JWKS endpoint: a real HTTP server that counts the fetches."""

    def __init__(self, keys: list[dict[str, object]]) -> None:
        self.keys = keys
        self.fetches = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.fetches += 1
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> JWKS:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return _key()


@pytest.fixture(scope="module")
def jwks(private_key: rsa.RSAPrivateKey) -> Iterator[JWKS]:
    public = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    with JWKS([{**public, "kid": KID, "use": "sig", "alg": "RS256"}]) as server:
        yield server


@pytest.fixture(scope="module")
async def external(
    jwks: JWKS, database_url: str, client: GraphQLClient
) -> AsyncIterator[GraphQLClient]:
    """The app with an external identity provider configured."""
    settings = Settings(
        app_env=Environment.TEST,
        database_url=database_url,
        auth_token_secret=TEST_SECRET,
        db_pool_max=5,
        db_pool_min=0,
        auth_jwks_url=jwks.url,
        auth_external_issuer=ISSUER,
        auth_external_audience=AUDIENCE,
    )
    app = create_app(settings, database_url)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http=http, signer=client.signer)


def issue(
    key: rsa.RSAPrivateKey,
    email: str,
    *,
    kid: str = KID,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
    ttl: timedelta = timedelta(minutes=5),
    **claims: object,
) -> str:
    now = datetime.now(UTC)
    body = {
        "iss": issuer,
        "aud": audience,
        "sub": uuid.uuid4().hex,
        "email": email,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def _hand_made(header: dict[str, object], claims: dict[str, object], secret: bytes | None) -> str:
    """A JWT put together by hand (PyJWT rightly refuses to make these)."""

    def part(value: dict[str, object]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{part({'typ': 'JWT', **header})}.{part(claims)}"
    signature = (
        b"" if secret is None else hmac.new(secret, signing_input.encode(), "sha256").digest()
    )
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


async def test_a_provider_token_signs_in_the_user_its_email_names(
    external: GraphQLClient, factory: Factory, private_key: rsa.RSAPrivateKey
) -> None:
    tenant = await factory.tenant()
    email = f"salesperson.{tenant.code}@example.com"
    token = issue(private_key, email.upper(), email_verified=True)
    data = await external.data(VIEWER, token=token)
    assert data["viewer"] == {"role": "SALESPERSON", "user": {"email": email}}
    # Their role's permissions apply as to anyone.
    refused = await external.execute("{ auditLogs(first: 1) { totalCount } }", token=token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Our own tokens keep working beside the provider's.
    own = await external.data(VIEWER, token=tenant.tokens[Role.ADMIN])
    assert own["viewer"]["role"] == "ADMIN"


async def test_provider_tokens_that_are_refused(
    external: GraphQLClient,
    factory: Factory,
    private_key: rsa.RSAPrivateKey,
    engine: AsyncEngine,
) -> None:
    tenant = await factory.tenant()
    email = f"sales_manager.{tenant.code}@example.com"
    other_key = _key()
    refused = {
        "another key": issue(other_key, email),
        "another issuer": issue(private_key, email, issuer="https://evil.example/"),
        "another audience": issue(private_key, email, audience="someone-else"),
        "expired": issue(private_key, email, ttl=timedelta(minutes=-5)),
        "unknown e-mail": issue(private_key, f"nobody.{tenant.code}@example.com"),
        "unverified e-mail": issue(private_key, email, email_verified=False),
        "no e-mail": jwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "iat": datetime.now(UTC),
                "exp": datetime.now(UTC) + timedelta(minutes=5),
            },
            private_key,
            algorithm="RS256",
            headers={"kid": KID},
        ),
    }
    for what, token in refused.items():
        response = await external.post(VIEWER, token=token)
        assert response.status_code == 401, what
    # Algorithm confusion: HS256 "signed" with the provider's public key as the secret, and
    # an unsigned token. Each verifier pins its algorithms, so neither gets anywhere.
    pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "email": email,
        "iat": int(datetime.now(UTC).timestamp()),
        "exp": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp()),
    }
    for header, secret in (({"alg": "HS256", "kid": KID}, pem), ({"alg": "none"}, None)):
        forged = _hand_made(header, claims, secret)
        assert (await external.post(VIEWER, token=forged)).status_code == 401, header

    # A deactivated user's provider tokens stop working too.
    await factory.run(
        tenant.dealership_id,
        lambda s: s.execute(
            text("UPDATE users SET is_active = false WHERE id = :id"),
            {"id": tenant.users[Role.SALES_MANAGER]},
        ),
    )
    assert (await external.post(VIEWER, token=issue(private_key, email))).status_code == 401
    (event,) = await rows(
        engine,
        tenant.dealership_id,
        "SELECT * FROM security_audit_logs WHERE event = 'auth.token_rejected'",
    )
    assert event["details"] == {"reason": "user_inactive"}
    assert event["user_id"] == tenant.users[Role.SALES_MANAGER]


async def test_an_email_at_several_dealerships_is_ambiguous(
    external: GraphQLClient, factory: Factory, private_key: rsa.RSAPrivateKey
) -> None:
    first, second = await factory.tenant(), await factory.tenant()
    shared = f"shared.{first.code}@example.com"
    for tenant in (first, second):
        await factory.run(
            tenant.dealership_id,
            lambda s, t=tenant: s.execute(
                text("UPDATE users SET email = :email WHERE id = :id"),
                {"email": shared, "id": t.users[Role.SALESPERSON]},
            ),
        )
    response = await external.post(VIEWER, token=issue(private_key, shared))
    assert response.status_code == 401


async def test_unknown_key_ids_do_not_hammer_the_provider(
    external: GraphQLClient, factory: Factory, private_key: rsa.RSAPrivateKey, jwks: JWKS
) -> None:
    tenant = await factory.tenant()
    email = f"salesperson.{tenant.code}@example.com"
    assert (await external.post(VIEWER, token=issue(private_key, email))).status_code == 200
    before = jwks.fetches
    for n in range(5):
        token = issue(private_key, email, kid=f"made-up-{n}")
        assert (await external.post(VIEWER, token=token)).status_code == 401
    assert jwks.fetches - before <= 1
