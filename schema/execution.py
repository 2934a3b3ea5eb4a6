"""A faster execution of the same schema: fields that need no resolver machinery are
executed without it.

graphql-core runs every field through the same steps: a path, a resolve-info object, the
resolver (Strawberry's wrapper, which builds its own Info and looks for extensions even
around a plain getattr), awaitable checks and the completion dispatch. On a page of deals
most fields are plain attributes - a deal's number, a customer's name - or relations the
request has already loaded, and those steps cost several times what the value does.

Each selection set is planned once per operation (graphql-core memoizes the collected
fields of a selection set, so a list of fifty deals shares one plan). A field is planned:

- LEAF: Strawberry calls it basic (no resolver, no extension - so no permission check or
  mask), it takes no arguments and its type is a scalar or enum. The value is read and
  serialized inline; a value the fast path cannot serialize, and every error, goes the
  normal way.
- DIRECT: a basic field of object or list type, or a field declared with `fast_field`
  (whose function takes the parent and the context). The function is called directly and
  its value completed exactly as graphql-core completes a resolver's value.
- NORMAL: everything else (resolvers with arguments, permission or masking extensions,
  async resolvers, introspection, `__typename`).

Results and errors are the same as without this class: tests/test_execution.py runs the
same queries, valid and failing, through both and compares them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry import Info
from strawberry import field as strawberry_field
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
# The metadata key under which `fast_field` keeps a field's direct function.
FAST_RESOLVER = "dealerdesk.fast_resolver"

FastResolver = Callable[[Any, Any], object]

_NORMAL, _LEAF, _DIRECT = 0, 1, 2


class _Plan:
    __slots__ = ("coerce", "field_def", "kind", "nullable", "python_name", "resolve")

    def __init__(
        self,
        kind: int,
        field_def: GraphQLField | None = None,
        python_name: str = "",
        coerce: Callable[[Any], Any] | None = None,
        nullable: bool = False,
        resolve: FastResolver | None = None,
    ) -> None:
        self.kind = kind
        self.field_def = field_def
        self.python_name = python_name
        self.coerce = coerce
        self.nullable = nullable
        self.resolve = resolve


_NORMAL_PLAN = _Plan(_NORMAL)
# Plans by field definition. The definition is kept beside its plan so that its id cannot
# be reused by another schema's field (tests build several schemas).
_FIELD_PLANS: dict[int, tuple[GraphQLField, _Plan]] = {}


def _field_plan(field_def: GraphQLField) -> _Plan:
    entry = _FIELD_PLANS.get(id(field_def))
    if entry is None or entry[0] is not field_def:
        entry = (field_def, _make_plan(field_def))
        _FIELD_PLANS[id(field_def)] = entry
    return entry[1]


def _make_plan(field_def: GraphQLField) -> _Plan:
    field = (field_def.extensions or {}).get(BACKREF)
    if not isinstance(field, StrawberryField) or field_def.args:
        return _NORMAL_PLAN
    if field.extensions or field.permission_classes:
        return _NORMAL_PLAN
    metadata: dict[str, Any] = dict(field.metadata or {})
    fast = metadata.get(FAST_RESOLVER)
    if fast is not None:
        return _Plan(_DIRECT, field_def, resolve=fast)
    if not field.is_basic_field:
        return _NORMAL_PLAN
    field_type = field_def.type
    nullable = not isinstance(field_type, GraphQLNonNull)
    named = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return _Plan(_LEAF, field_def, field.python_name, named.coerce_output_value, nullable)
    name = field.python_name
    return _Plan(_DIRECT, field_def, resolve=lambda source, _context: getattr(source, name))


def fast_field(
    *,
    graphql_type: Any,
    description: str | None = None,
    deprecation_reason: str | None = None,
) -> Callable[[FastResolver], Any]:
    """Declare a field without arguments answered by `method(self, context)` - typically a
    relation read from the request's loaders. FastExecutionContext calls the method directly;
    for any other executor a Strawberry resolver around it answers the same."""

    def declare(method: FastResolver) -> Any:
        def resolver(root: Any, info: Info) -> object:
            return method(root, info.context)

        resolver.__name__ = method.__name__
        resolver.__qualname__ = method.__qualname__
        resolver.__doc__ = method.__doc__
        return strawberry_field(
            resolver=resolver,
            graphql_type=graphql_type,
            description=description,
            deprecation_reason=deprecation_reason,
            metadata={FAST_RESOLVER: method},
        )

    return declare


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Strawberry always passes a middleware manager, and even an empty one is truthy;
        # schema extensions with a `resolve` hook make one with middleware in it, and then
        # every field must go through it.
        manager = self.middleware_manager
        self._fast = manager is None or not getattr(manager, "middlewares", ())
        self._set_plans: dict[int, tuple[GroupedFieldSet, list[_Plan]]] = {}

    def _plans(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> list[_Plan]:
        entry = self._set_plans.get(id(fields))
        if entry is None or entry[0] is not fields:
            plans: list[_Plan] = []
            for field_details_list in fields.values():
                node = field_details_list[0].node
                field_def = parent_type.fields.get(node.name.value)
                if field_def is None or node.arguments:
                    plans.append(_NORMAL_PLAN)
                else:
                    plans.append(_field_plan(field_def))
            entry = (fields, plans)
            self._set_plans[id(fields)] = entry
        return entry[1]

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if not self._fast or source_value is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plans = self._plans(parent_type, grouped_field_set)
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for plan, (response_name, field_details_list) in zip(
                plans, grouped_field_set.items(), strict=True
            ):
                kind = plan.kind
                if kind == _LEAF:
                    value = getattr(source_value, plan.python_name, Undefined)
                    if value is None:
                        if plan.nullable:
                            results[response_name] = None
                            continue
                    elif value is not Undefined:
                        try:
                            coerced = plan.coerce(value)  # type: ignore[misc]
                        except Exception:
                            coerced = Undefined
                        if coerced is not None and coerced is not Undefined:
                            results[response_name] = coerced
                            continue
                field_path = Path(path, response_name, parent_type.name)
                if kind == _DIRECT:
                    result = self._execute_direct(
                        plan, parent_type, source_value, field_details_list, field_path
                    )
                else:
                    result = self.execute_field(
                        parent_type, source_value, field_details_list, field_path, position_context
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gather_fields(results, awaitable_fields)

    async def _gather_fields(
        self, results: dict[str, Any], awaitable_fields: list[str]
    ) -> dict[str, Any]:
        # As graphql-core's execute_fields: await the pending fields concurrently.
        if len(awaitable_fields) == 1:
            name = awaitable_fields[0]
            results[name] = await results[name]
        else:
            values = await gather_with_cancel(*(results[name] for name in awaitable_fields))
            results.update(zip(awaitable_fields, values, strict=True))
        return results

    def _execute_direct(
        self,
        plan: _Plan,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        """graphql-core's execute_field with the plan's function in place of the resolver."""
        field_def = plan.field_def
        resolve = plan.resolve
        assert field_def is not None
        assert resolve is not None
        return_type = field_def.type
        info = self.build_resolve_info(field_def, to_nodes(field_details_list), parent_type, path)
        try:
            result = resolve(source, self.context_value)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, None
                )
            completed = self.complete_value(
                return_type, field_details_list, info, path, result, None
            )
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _await_completed(
        self,
        completed: Awaitable[Any],
        return_type: Any,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
