"""The request pipeline around each operation, in the places Strawberry's extensions hook
into: query limits (parsing, validation rules, the node budget), confirming the caller,
releasing the request's database session, and the error policy (which also notes the
operation run).

It is one extensions runner (`RequestPipeline`, which the schema hands Strawberry in place of
its own) rather than a list of SchemaExtension classes: Strawberry builds every extension and
wraps each of its hooks in a new context-manager function for every request, which cost
about a tenth of a one-deal query's server time. The stages keep the order the extensions
had: limits before the caller check, so a refused operation costs no SQL; the session is
released before errors are masked and the operation noted.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
)
from strawberry.exceptions import MissingQueryError
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from db.errors import DomainError
from resolvers.context import Context
from resolvers.narrowing import narrowed_columns
from schema.limits import QueryLimits, check_node_budget, parse_limited, validation_rules
from schema.memo import DocumentMemo

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

log = logging.getLogger("dealerdesk.graphql")

INTERNAL_MESSAGE = "Internal server error"

# What may leave the parse / validate / pre-execution stages as it is: errors written for
# clients (syntax, validation, query limits) and Strawberry's signals that the HTTP layer
# turns into statuses.
_EXPECTED = (
    GraphQLError,
    MissingQueryError,
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)


class RequestPipeline(SchemaExtensionsRunner):
    """What runs around one operation, stage by stage (see the module's docstring)."""

    def __init__(
        self,
        execution_context: ExecutionContext,
        limits: QueryLimits,
        validate: DocumentMemo[list[GraphQLError]],
    ) -> None:
        super().__init__(execution_context, [])
        self.limits = limits
        self._validate = validate
        self._operation = _Operation(self)
        self._parsing = _Stage(self._parse)
        self._validation = _Stage(self._validate_document)
        self._executing = _Stage(None, self._start_execution)

    # Strawberry enters these (async with) around each stage.
    def operation(self) -> _Operation:  # type: ignore[override]
        return self._operation

    def parsing(self) -> _Stage:  # type: ignore[override]
        return self._parsing

    def validation(self) -> _Stage:  # type: ignore[override]
        return self._validation

    def executing(self) -> _Stage:  # type: ignore[override]
        return self._executing

    def _begin_operation(self) -> None:
        execution = self.execution_context
        execution.validation_rules = (
            *execution.validation_rules,
            *validation_rules(self.limits),
        )

    def _parse(self) -> None:
        execution = self.execution_context
        if execution.graphql_document is None and execution.query:
            execution.graphql_document = parse_limited(execution.query, self.limits)

    def _validate_document(self) -> None:
        execution = self.execution_context
        assert execution.graphql_document is not None
        execution.pre_execution_errors = self._validate(
            execution.graphql_document,
            execution.schema._schema,
            tuple(execution.validation_rules),
        )

    async def _start_execution(self) -> None:
        execution = self.execution_context
        assert execution.graphql_document is not None
        check_node_budget(
            execution.schema._schema,
            execution.graphql_document,
            execution.operation_name,
            execution.variables,
            self.limits,
        )
        context = execution.context
        if isinstance(context, Context):
            context.loaders.narrow(
                narrowed_columns(
                    execution.schema._schema, execution.graphql_document, execution.operation_name
                )
            )
        # The caller is confirmed in the database once the operation has passed validation
        # and limits, before any resolver runs.
        confirm = getattr(context, "confirm_caller", None)
        if confirm is not None:
            context.confirm_caller = None
            await confirm()

    async def _end_operation(self, failure: BaseException | None) -> None:
        """Release the session, note the operation, then apply the error policy: clients see
        domain refusals with a stable `extensions.code`; anything unexpected is masked to a
        generic message carrying the request id, and logged in full."""
        execution = self.execution_context
        context = execution.context
        request_id = str(getattr(context, "request_id", ""))
        try:
            # The connection goes back to the pool as soon as execution ends, before the
            # response is serialised (the HTTP endpoint closes it again as a safety net).
            db = getattr(context, "db", None)
            if db is not None:
                await db.close()
        except Exception as exc:
            failure = failure or exc
            if failure is exc:
                log.error("could not release the session", exc_info=exc)
                raise _internal(None, request_id) from None
        finally:
            if isinstance(context, Context):
                note_operation(execution, context)
        if failure is not None:
            if isinstance(failure, _EXPECTED) or not isinstance(failure, Exception):
                return  # the stage's exception goes on as it is
            # A failure in a stage before execution (parsing, validation, limits): Strawberry
            # would show its text as the error message.
            log.error(
                "unhandled error before execution",
                exc_info=failure,
                extra={"request_id": request_id},
            )
            raise _internal(None, request_id) from None
        result = execution.result
        if result is None or not result.errors:
            return
        result.errors = [_public(error, request_id) for error in result.errors]


class _Stage:
    """A stage that only does something on entering (sync or async)."""

    __slots__ = ("_enter", "_enter_async")

    def __init__(
        self,
        enter: Callable[[], None] | None,
        enter_async: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._enter = enter
        self._enter_async = enter_async

    async def __aenter__(self) -> None:
        if self._enter is not None:
            self._enter()
        if self._enter_async is not None:
            await self._enter_async()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


class _Operation:
    """The stage around the whole operation."""

    __slots__ = ("_pipeline",)

    def __init__(self, pipeline: RequestPipeline) -> None:
        self._pipeline = pipeline

    async def __aenter__(self) -> None:
        self._pipeline._begin_operation()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._pipeline._end_operation(exc)


def _internal(error: GraphQLError | None, request_id: str) -> GraphQLError:
    return GraphQLError(
        INTERNAL_MESSAGE,
        nodes=error.nodes if error else None,
        path=error.path if error else None,
        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    )


def _public(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        # Syntax and validation errors, and graphql-core's own wrapping of them (a variable
        # whose value does not coerce): written for clients, safe to show as they are.
        return error
    if isinstance(original, DomainError):
        error.extensions = {**(error.extensions or {}), "code": original.code}
        return error
    log.error(
        "unhandled error in resolver",
        exc_info=original,
        extra={"request_id": request_id, "path": error.path},
    )
    return _internal(error, request_id)


def note_operation(execution: ExecutionContext, context: Context) -> None:
    """The operation's name (given, or the document's first) and, once parsed, its type."""
    name = context.operation_name = execution.operation_name
    document = execution.graphql_document
    if document is None:
        return
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name is not None and definition.name.value == name)
        ):
            context.operation_type = definition.operation.value
            return


def cached_validation(maxsize: int) -> DocumentMemo[list[GraphQLError]]:
    """GraphQL validation remembered by document (see schema/memo.py), schema and rules."""

    def validate(
        document: DocumentNode, schema: GraphQLSchema, rules: tuple[type[ASTValidationRule], ...]
    ) -> list[GraphQLError]:
        return validate_document(schema, document, rules)

    return DocumentMemo(validate, maxsize)
