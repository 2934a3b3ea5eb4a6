"""The Starlette application: GraphQL endpoint, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.crypto import FieldCipher
from db.engine import PoolConfig, create_engine, dispose, warm
from db.migrate import current_revision, head_revision
from schema.limits import QueryLimits
from schema.root import build_schema
from server.auth import AuthPolicy, AuthService
from server.config import Settings
from server.http import GraphQLEndpoint, HTTPOptions
from server.logs import request_id_from, request_id_var
from server.observe import (
    RequestObserver,
    metrics_registry,
    multiprocess,
    sample_pool,
    tracing_from_environment,
    worker_exited,
)
from server.tokens import JWKSTokenVerifier, LocalTokenVerifier, TokenSigner, TokenVerifier

log = logging.getLogger("dealerdesk.app")


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    signer: TokenSigner
    cipher: FieldCipher  # sensitive customer data (db/crypto.py)
    auth: AuthService


def pool_config(settings: Settings, database_url: str) -> PoolConfig:
    return PoolConfig(
        url=database_url,
        max_size=settings.db_pool_max,
        min_size=settings.db_pool_min,
        connect_timeout_ms=settings.db_connect_timeout,
        idle_timeout_ms=settings.db_idle_timeout,
        max_lifetime_ms=settings.db_max_lifetime,
        statement_timeout_ms=settings.db_statement_timeout,
        slow_query_ms=settings.db_slow_query_threshold,
        pre_ping=settings.db_pool_pre_ping,
    )


def signer_for(settings: Settings) -> TokenSigner:
    return TokenSigner(
        secret=settings.token_secret(),
        issuer=settings.auth_token_issuer,
        audience=settings.auth_token_audience,
    )


def verifiers_for(settings: Settings, signer: TokenSigner) -> list[TokenVerifier]:
    """Our own tokens, and an external provider's when AUTH_JWKS_URL is set."""
    verifiers: list[TokenVerifier] = [LocalTokenVerifier(signer)]
    if settings.auth_jwks_url is not None:
        assert settings.auth_external_issuer
        assert settings.auth_external_audience
        verifiers.append(
            JWKSTokenVerifier.from_url(
                settings.auth_jwks_url,
                issuer=settings.auth_external_issuer,
                audience=settings.auth_external_audience,
            )
        )
    return verifiers


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        max_nodes=settings.graphql_max_nodes,
        introspection=settings.introspection,
    )


def dev_token_ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.dev_token_ttl_seconds)


class RequestIdMiddleware:
    """Every response carries X-Request-ID (the caller's, when sane), and every log line of
    the request has it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id")
        request_id = request_id_from(incoming.decode("latin-1") if incoming else None)
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class DealerdeskApp(Starlette):
    """Starlette, with GraphQL requests sent straight to their endpoint (with their request
    id): the router and the error and exception middleware cost a one-deal query more than
    its GraphQL execution's permission check, and the endpoint answers every failure itself
    (a masked 500 with the request id). Health, readiness, metrics and lifespan go through
    Starlette as usual."""

    graphql: ASGIApp | None = None
    graphql_path = "/graphql"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.graphql is not None
            and scope["type"] == "http"
            and scope["path"] == self.graphql_path
        ):
            scope["app"] = self  # as Starlette sets it: the endpoint reads app.state
            await self.graphql(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    state: AppState = request.app.state.dealerdesk
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            revision = await current_revision(conn)
    except Exception as exc:
        log.warning("readiness check failed", exc_info=exc)
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, 503)
    head = head_revision()
    if revision != head:
        return JSONResponse(
            {
                "status": "unavailable",
                "reason": "database not migrated",
                "revision": revision,
                "head": head,
            },
            503,
        )
    return JSONResponse({"status": "ready", "revision": revision})


def metrics_endpoint(registry: CollectorRegistry) -> Route:
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics)


def create_app(settings: Settings, database_url: str) -> Starlette:
    observer = RequestObserver(tracing_from_environment())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(pool_config(settings, database_url))
        signer = signer_for(settings)
        auth = AuthService(
            engine, signer, verifiers_for(settings, signer), AuthPolicy.from_settings(settings)
        )
        app.state.dealerdesk = AppState(
            settings=settings,
            engine=engine,
            signer=signer,
            cipher=FieldCipher(settings.data_keyring()),
            auth=auth,
        )
        try:
            await warm(engine, settings.db_pool_min)
        except Exception:
            log.warning("could not open the initial connections", exc_info=True)
        sampler = asyncio.create_task(sample_pool()) if multiprocess() else None
        try:
            yield
        finally:
            if sampler is not None:
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
                worker_exited()
            if observer.tracing is not None:
                observer.tracing.shutdown()
            await dispose(engine)

    graphql = GraphQLEndpoint(
        build_schema(query_limits(settings)),
        HTTPOptions(
            graphiql=not settings.is_production,
            max_body_bytes=settings.graphql_max_body_bytes,
            allow_batching=settings.graphql_allow_batching,
            max_batch_size=settings.graphql_max_batch_size,
        ),
        observer,
    )
    app = DealerdeskApp(
        routes=[
            Route("/graphql", graphql),
            Route("/health", health),
            Route("/ready", ready),
            metrics_endpoint(metrics_registry()),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(RequestIdMiddleware)
    app.graphql = RequestIdMiddleware(graphql)
    return app
