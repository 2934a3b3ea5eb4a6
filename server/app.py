"""The Starlette application: GraphQL endpoint, health, readiness and metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from db.engine import PoolConfig, create_engine, dispose, warm
from db.migrate import current_revision, head_revision
from db.tenant import TenantDB
from resolvers.context import Context
from resolvers.loaders import Loaders
from schema.root import schema
from server.config import Settings
from server.logs import request_id_from, request_id_var
from server.tokens import InvalidToken, Principal, TokenSigner

log = logging.getLogger("dealerdesk.app")


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    signer: TokenSigner


def pool_config(settings: Settings, database_url: str) -> PoolConfig:
    return PoolConfig(
        url=database_url,
        max_size=settings.db_pool_max,
        min_size=settings.db_pool_min,
        connect_timeout_ms=settings.db_connect_timeout,
        idle_timeout_ms=settings.db_idle_timeout,
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


def dev_token_ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.dev_token_ttl_seconds)


class DealerdeskGraphQL(GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        state: AppState = request.app.state.dealerdesk
        principal: Principal | None = request.scope.get("dealerdesk.principal")
        db = TenantDB(state.engine, principal.dealership_id if principal else None)
        context = Context(
            request=request,
            response=response,
            request_id=request_id_var.get() or "",
            principal=principal,
            db=db,
            loaders=Loaders(db),
        )
        request.scope["dealerdesk.context"] = context
        return context


def _unauthorized(message: str, request_id: str) -> JSONResponse:
    return JSONResponse(
        {
            "errors": [
                {
                    "message": message,
                    "extensions": {"code": "UNAUTHENTICATED", "requestId": request_id},
                }
            ]
        },
        status_code=401,
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'
        },
    )


class GraphQLEndpoint:
    """Authenticates the bearer token, runs Strawberry, and always releases the session."""

    def __init__(self, graphql: ASGIApp) -> None:
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_var.get() or ""
        header = dict(scope.get("headers", [])).get(b"authorization")
        if header is not None:
            state: AppState = scope["app"].state.dealerdesk
            scheme, _, token = header.decode("latin-1").partition(" ")
            try:
                if scheme.lower() != "bearer" or not token.strip():
                    raise InvalidToken("use an `Authorization: Bearer <token>` header")
                scope["dealerdesk.principal"] = state.signer.verify(token.strip())
            except InvalidToken as exc:
                await _unauthorized(str(exc), request_id)(scope, receive, send)
                return
        try:
            await self.graphql(scope, receive, send)
        finally:
            context = scope.get("dealerdesk.context")
            if isinstance(context, Context):
                await context.db.close()


class RequestIdMiddleware:
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


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings, database_url: str) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(pool_config(settings, database_url))
        app.state.dealerdesk = AppState(
            settings=settings, engine=engine, signer=signer_for(settings)
        )
        try:
            await warm(engine, settings.db_pool_min)
        except Exception:
            log.warning("could not open the initial connections", exc_info=True)
        try:
            yield
        finally:
            await dispose(engine)

    graphql = DealerdeskGraphQL(
        schema,
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=True,
        multipart_uploads_enabled=False,
    )
    app = Starlette(
        routes=[
            Route("/graphql", GraphQLEndpoint(graphql), methods=["GET", "POST"]),
            Route("/health", health),
            Route("/ready", ready),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(RequestIdMiddleware)
    return app
