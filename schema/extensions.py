"""Schema extensions: error policy (which also notes the operation run), releasing the
request's database session, confirming the caller."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext

from db.errors import DomainError
from resolvers.context import Context

log = logging.getLogger("dealerdesk.graphql")

INTERNAL_MESSAGE = "Internal server error"

# What may leave the parse / validate / pre-execution hooks as it is: errors written for
# clients (syntax, validation, query limits) and Strawberry's signals that the HTTP layer
# turns into statuses.
_EXPECTED = (
    GraphQLError,
    MissingQueryError,
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)


class ErrorPolicy(SchemaExtension):
    """Clients see domain refusals with a stable `extensions.code`; anything unexpected is
    masked to a generic message carrying the request id, and logged in full."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        request_id = str(getattr(context, "request_id", ""))
        try:
            yield
        except _EXPECTED:
            raise
        except Exception as exc:
            # A failure in a hook before execution (parsing, validation, limits): Strawberry
            # would show its text as the error message.
            log.error(
                "unhandled error before execution", exc_info=exc, extra={"request_id": request_id}
            )
            raise self._internal(None, request_id) from None
        finally:
            # Here rather than in an extension of its own: one more hook per request costs
            # more than these few lines.
            if isinstance(context, Context):
                note_operation(self.execution_context, context)
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [self._public(error, request_id) for error in result.errors]

    @staticmethod
    def _internal(error: GraphQLError | None, request_id: str) -> GraphQLError:
        return GraphQLError(
            INTERNAL_MESSAGE,
            nodes=error.nodes if error else None,
            path=error.path if error else None,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )

    def _public(self, error: GraphQLError, request_id: str) -> GraphQLError:
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
        return self._internal(error, request_id)


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


class ReleaseSession(SchemaExtension):
    """Return the request's connection to the pool as soon as execution ends, before the
    response is serialised. The HTTP endpoint closes it again as a safety net."""

    async def on_operation(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            db = getattr(self.execution_context.context, "db", None)
            if db is not None:
                await db.close()


class ConfirmCaller(SchemaExtension):
    """A token's caller is confirmed in the database (still active, session live, current
    role) when the operation starts executing: after parsing, validation and the query
    limits, so a refused operation costs no SQL; before any resolver runs."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        confirm = getattr(context, "confirm_caller", None)
        if confirm is not None:
            context.confirm_caller = None
            await confirm()
        yield
