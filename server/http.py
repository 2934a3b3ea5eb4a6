"""GraphQL over HTTP: one endpoint, following the GraphQL-over-HTTP specification.

- GET runs queries only (parameters in the URL); POST runs queries and mutations and needs
  `Content-Type: application/json`, so a cross-site form or `text/plain` request can never
  run a mutation (those cannot be sent without a CORS preflight).
- The response is `application/graphql-response+json` when the client asks for it (request
  errors then answer 400 without `data`), otherwise `application/json` (always 200).
- Bearer tokens are verified, and their user confirmed in the database (still active, with
  the role they have now), before anything runs; a bad token answers 401 and is audited.
- Batched requests (a JSON array) are refused unless enabled; when enabled, a POST body may
  be an array of up to `max_batch_size` operations, run one after the other, each with its
  own context and under every query limit, answered with an array of results (status 200).
- Each request is observed (server/observe.py): metrics, one log line, a span when tracing
  is on. A failure nothing else caught is logged with the request id and answered 500 with
  the same masked message as an internal error inside GraphQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from db.errors import Unauthenticated
from db.storage.auth import ClientInfo
from db.tenant import TenantDB
from resolvers.context import Context
from resolvers.loaders import Loaders
from schema.extensions import INTERNAL_MESSAGE
from schema.root import DealerdeskSchema
from server.auth import AuthService
from server.logs import request_id_var
from server.observe import (
    BATCH,
    GRAPHQL_ERROR,
    INTERNAL_ERROR,
    NO_CODE,
    OK,
    REJECTED,
    RequestObserver,
    RequestRecord,
)
from server.tokens import InvalidToken, Principal, TokenIdentity

log = logging.getLogger("dealerdesk.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


@dataclass(frozen=True)
class HTTPOptions:
    graphiql: bool = True
    max_body_bytes: int = 256 * 1024
    allow_batching: bool = False
    max_batch_size: int = 10


class RequestError(Exception):
    """A request that cannot be executed at all: answered with a status and a message."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        code: str = "BAD_REQUEST",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.code = code


@dataclass(frozen=True)
class GraphQLParams:
    query: str
    operation_name: str | None
    variables: dict[str, object] | None
    extensions: dict[str, object] | None


def _accepted(header: str) -> list[tuple[str, float]]:
    media: list[tuple[str, float]] = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media.append((pieces[0].lower(), quality))
    return media


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None if we offer nothing it takes.
    A missing Accept or a wildcard gets application/json (the spec's legacy default)."""
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for media, quality in _accepted(accept):
        if quality <= 0:
            continue
        if media == GRAPHQL_RESPONSE:
            candidate = (quality, 1, GRAPHQL_RESPONSE)
        elif media in (JSON, "application/*", "*/*"):
            candidate = (quality, 0, JSON)
        else:
            continue
        if best is None or candidate > best:
            best = candidate
    return None if best is None else best[2]


def _decode_json_param(raw: str | None, name: str) -> dict[str, object] | None:
    if raw is None or raw == "":
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(400, f"`{name}` is not valid JSON") from None
    if value is not None and not isinstance(value, dict):
        raise RequestError(400, f"`{name}` must be a JSON object")
    return value


def _operations(data: object, options: HTTPOptions) -> GraphQLParams | list[GraphQLParams]:
    """One operation, or a batch of them (a JSON array) when batching is enabled."""
    if not isinstance(data, list):
        return _params(data)
    if not options.allow_batching:
        raise RequestError(
            400, "batched requests are not enabled: send one operation", code="BATCHING_DISABLED"
        )
    if not data:
        raise RequestError(400, "a batch needs at least one operation")
    if len(data) > options.max_batch_size:
        raise RequestError(
            400,
            f"a batch holds at most {options.max_batch_size} operations",
            code="BATCH_TOO_LARGE",
        )
    return [_params(item) for item in data]


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul(params: GraphQLParams) -> GraphQLParams:
    """PostgreSQL text cannot hold U+0000: refuse it in any input here, once, rather than
    let it reach a query and fail there."""
    if (
        _has_nul(params.query)
        or "\\u0000" in params.query.lower()
        or _has_nul(params.variables)
        or _has_nul(params.operation_name)
    ):
        raise RequestError(
            400, "text must not contain NUL (U+0000) characters", code="INVALID_TEXT"
        )
    return params


def _params(data: object) -> GraphQLParams:
    if not isinstance(data, dict):
        raise RequestError(400, "the request body must be a JSON object")
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "`query` must be a non-empty string")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "`operationName` must be a string or null")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be an object or null")
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be an object or null")
    return _refuse_nul(GraphQLParams(query, operation_name, variables, extensions))


def _is_request_error(result: ExecutionResult) -> bool:
    """Parse, validation, limit and variable errors: nothing was executed."""
    if isinstance(result, PreExecutionError):
        return True
    return (
        result.data is None and bool(result.errors) and all(not e.path for e in result.errors or [])
    )


def _error_body(message: str, code: str, request_id: str) -> dict[str, object]:
    return {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}


def _codes(errors: Iterable[GraphQLError]) -> list[str]:
    codes = []
    for error in errors:
        code = error.extensions.get("code") if error.extensions else None
        codes.append(code if isinstance(code, str) else NO_CODE)
    return codes


class GraphQLEndpoint:
    def __init__(
        self,
        schema: DealerdeskSchema,
        options: HTTPOptions,
        observer: RequestObserver | None = None,
    ) -> None:
        self.schema = schema
        self.options = options
        self.observer = observer or RequestObserver()
        self._ide = get_graphql_ide_html("graphiql") if options.graphiql else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        observer = self.observer
        record = observer.start(request_id_var.get() or "")
        try:
            tracing = observer.tracing
            if tracing is None:
                return await self._answer(request, record)
            with tracing.start() as span:
                response = await self._answer(request, record)
                observer.annotate(span, record)
                return response
        finally:
            observer.finish(record)

    async def _answer(self, request: Request, record: RequestRecord) -> Response:
        try:
            response = await self._handle(request, record)
        except Exception:
            log.exception(
                "unhandled error answering a request", extra={"request_id": record.request_id}
            )
            record.note(INTERNAL_ERROR, ["INTERNAL_SERVER_ERROR"])
            body = _error_body(INTERNAL_MESSAGE, "INTERNAL_SERVER_ERROR", record.request_id)
            response = self._respond(body, 500, JSON)
        record.status = response.status_code
        return response

    async def _handle(self, request: Request, record: RequestRecord) -> Response:
        request_id = record.request_id
        media = negotiate(request.headers.get("accept"))
        try:
            if request.method not in ("GET", "POST"):
                raise RequestError(405, "use GET or POST", headers={"Allow": "GET, POST"})
            if (
                request.method == "GET"
                and self._ide is not None
                and "text/html" in request.headers.get("accept", "")
                and "query" not in request.query_params
            ):
                return HTMLResponse(self._ide)
            if media is None:
                raise RequestError(
                    406, f"answers are {JSON} or {GRAPHQL_RESPONSE}", code="NOT_ACCEPTABLE"
                )
            params = await self._read(request)
        except RequestError as exc:
            return self._error(exc, record, media or JSON)
        try:
            caller = await self._verify(request, request_id)
        except RequestError as exc:
            return self._error(exc, record, media)
        db = TenantDB(request.app.state.dealerdesk.engine, None)
        try:
            if isinstance(params, list):
                bodies = []
                for one in params:
                    body, status, _ = await self._execute(request, one, caller, db, media, record)
                    if status == 401:
                        return self._error(caller.rejection(), record, media)
                    bodies.append(body)
                record.operation_name, record.operation_type = BATCH, None
                return self._respond(bodies, 200, media)
            body, status, headers = await self._execute(request, params, caller, db, media, record)
            if status == 401:
                return self._error(caller.rejection(), record, media)
            return self._respond(body, status, media, headers)
        finally:
            await db.close()

    def _error(self, exc: RequestError, record: RequestRecord, media: str) -> Response:
        record.note(REJECTED, (exc.code,))
        return self._respond(
            _error_body(exc.message, exc.code, record.request_id), exc.status, media, exc.headers
        )

    async def _read(self, request: Request) -> GraphQLParams | list[GraphQLParams]:
        if request.method == "GET":
            q = request.query_params
            return _params(
                {
                    "query": q.get("query"),
                    "operationName": q.get("operationName") or None,
                    "variables": _decode_json_param(q.get("variables"), "variables"),
                    "extensions": _decode_json_param(q.get("extensions"), "extensions"),
                }
            )
        content_type = request.headers.get("content-type", "")
        media_type, _, parameters = content_type.partition(";")
        if media_type.strip().lower() != JSON:
            raise RequestError(
                415,
                f"send the operation as {JSON} (Content-Type: {JSON})",
                code="UNSUPPORTED_MEDIA_TYPE",
            )
        charset = parameters.strip().lower()
        if charset and charset.replace(" ", "") not in ("charset=utf-8", "charset=utf8"):
            raise RequestError(415, "request bodies must be UTF-8", code="UNSUPPORTED_MEDIA_TYPE")
        declared = request.headers.get("content-length")
        limit = self.options.max_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestError(413, f"request body over {limit} bytes", code="PAYLOAD_TOO_LARGE")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise RequestError(
                    413, f"request body over {limit} bytes", code="PAYLOAD_TOO_LARGE"
                )
        if not body:
            raise RequestError(400, "the request body is empty")
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RequestError(400, "the request body is not valid JSON") from None
        return _operations(data, self.options)

    async def _verify(self, request: Request, request_id: str) -> Caller:
        """The bearer token's signature, issuer, audience and expiry: no database work yet
        (a bad token is answered 401 at once)."""
        auth: AuthService = request.app.state.dealerdesk.auth
        client = ClientInfo(
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            request_id=request_id or None,
        )
        caller = Caller(auth, client)
        header = request.headers.get("authorization")
        if header is not None:
            try:
                caller.identity = await auth.verify_header(header, client)
            except InvalidToken as exc:
                caller.rejected = exc
                raise caller.rejection() from None
        return caller

    async def _execute(
        self,
        request: Request,
        params: GraphQLParams,
        caller: Caller,
        db: TenantDB,
        media: str,
        record: RequestRecord,
    ) -> tuple[dict[str, object], int, dict[str, str]]:
        """The body, status and extra headers answering one operation (401: the token's
        caller was refused when the operation started), noted in the request's record."""
        request_id = record.request_id
        context = Context(
            request=request,
            response=None,
            request_id=request_id,
            principal=caller.principal,
            db=db,
            loaders=Loaders(db),
            actions=caller.actions,
        )
        if caller.identity is not None and caller.principal is None:
            context.confirm_caller = lambda: caller.confirm(context)
        allowed = (
            {OperationType.QUERY}
            if request.method == "GET"
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        result: ExecutionResult | None = None
        try:
            result = await self.schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=params.extensions,
            )
        except InvalidOperationTypeError:
            pass
        finally:
            await context.flush_security_events()
            await db.close()
        record.operation_name = context.operation_name
        record.operation_type = context.operation_type
        if context.principal is not None:  # the token's caller, or who just signed in
            record.dealership_id = context.principal.dealership_id
            record.user_id = context.principal.user_id
        if result is None:
            record.note(REJECTED, ("METHOD_NOT_ALLOWED",))
            return (
                _error_body("mutations must be sent with POST", "METHOD_NOT_ALLOWED", request_id),
                405,
                {"Allow": "POST"},
            )
        if caller.rejected is not None:
            return {}, 401, {}

        body: dict[str, object] = {}
        request_error = _is_request_error(result)
        if not (request_error and media == GRAPHQL_RESPONSE):
            body["data"] = result.data
        if result.errors:
            body["errors"] = [_format(e) for e in result.errors]
            codes = _codes(result.errors)
            if "INTERNAL_SERVER_ERROR" in codes:
                record.note(INTERNAL_ERROR, codes)
            else:
                record.note(REJECTED if request_error else GRAPHQL_ERROR, codes)
        else:
            record.note(OK)
        if result.extensions:
            body["extensions"] = result.extensions
        status = 400 if request_error and media == GRAPHQL_RESPONSE else 200
        return body, status, {}

    @staticmethod
    def _respond(
        body: dict[str, object] | list[dict[str, object]],
        status: int,
        media: str,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return Response(
            orjson.dumps(body),
            status_code=status,
            media_type=f"{media}; charset=utf-8",
            headers=dict(headers or {}),
        )


class Caller:
    """Who a request's token names: verified before anything runs, confirmed in the database
    when the first operation starts executing (server/auth.py AuthService.confirm)."""

    def __init__(self, auth: AuthService, client: ClientInfo) -> None:
        self.auth = auth
        self.client = client
        self.identity: TokenIdentity | None = None
        self.principal: Principal | None = None
        self.actions: frozenset[str] = frozenset()
        self.rejected: InvalidToken | None = None

    async def confirm(self, context: Context) -> None:
        assert self.identity is not None
        try:
            self.principal, self.actions = await self.auth.confirm(
                context.db, self.identity, self.client
            )
        except InvalidToken as exc:
            self.rejected = exc
            raise Unauthenticated(str(exc)) from None
        context.principal = self.principal
        context.actions = self.actions

    def rejection(self) -> RequestError:
        exc = self.rejected
        message = str(exc) if exc is not None else "the access token is invalid"
        return RequestError(
            401,
            message,
            code="UNAUTHENTICATED",
            headers={
                "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'
            },
        )


def _format(error: GraphQLError) -> dict[str, object]:
    formatted: dict[str, object] = dict(error.formatted)
    return formatted
