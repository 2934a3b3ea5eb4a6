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

import inspect
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry import ID as strawberry_ID
from strawberry import Info
from strawberry import field as strawberry_field
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import StrawberryOptional
from strawberry.types.field import StrawberryField

BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
# The metadata key under which `fast_field` keeps a field's direct function.
FAST_RESOLVER = "dealerdesk.fast_resolver"

FastResolver = Callable[[Any, Any], object]

_NORMAL, _LEAF, _DIRECT = 0, 1, 2
_SLOW = object()  # _complete_objects: not for the fast path


class _Plan:
    __slots__ = (
        "coerce",
        "field_def",
        "item_type",
        "kind",
        "nullable",
        "object_type",
        "origin",
        "passthrough",
        "python_name",
        "resolve",
    )

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
        # LEAF: the Python type whose values the scalar returns unchanged (str for String
        # and ID, bool for Boolean; int for Int within 32 bits), so they skip the call.
        self.passthrough: type | None = None
        # DIRECT of an object type or a list of one: what is needed to complete the value
        # here rather than through graphql-core's completion dispatch.
        self.object_type: GraphQLObjectType | None = None
        self.origin: type | None = None
        self.item_type: GraphQLOutputType | None = None  # set for a list of objects


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
    field_type = field_def.type
    nullable = not isinstance(field_type, GraphQLNonNull)
    named = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if fast is None:
        if not field.is_basic_field:
            return _NORMAL_PLAN
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            plan = _Plan(_LEAF, field_def, field.python_name, _coerce_of(named), nullable)
            plan.passthrough = _PASSTHROUGH.get(named.name) if named in _BUILT_IN else None
            return plan
        name = field.python_name

        def fast(source: Any, _context: Any) -> object:
            return getattr(source, name)

    attribute = field.python_name if metadata.get(FAST_RESOLVER) is None else ""
    plan = _Plan(_DIRECT, field_def, attribute, resolve=fast, nullable=nullable)
    item_type: GraphQLOutputType | None = None
    if isinstance(named, GraphQLList):
        item_type = named.of_type
        named = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
    if isinstance(named, GraphQLObjectType):
        definition = (named.extensions or {}).get(BACKREF)
        origin = getattr(definition, "origin", None)
        if isinstance(origin, type):
            plan.object_type, plan.origin, plan.item_type = named, origin, item_type
    return plan


# field_access: the field is a `fast_field` (a relation read from the loaders).
RELATION = "<relation>"


def field_access(field_def: GraphQLField) -> str | None:
    """What answering this field reads of its object, for fields the fast path executes:
    the attribute's name (a plain attribute: a scalar, an enum or objects), or RELATION for
    a `fast_field` (which reads only its object's keys). None for a field with a resolver
    of its own, arguments, or extensions: it may read anything."""
    plan = _field_plan(field_def)
    if plan.kind == _NORMAL:
        return None
    return plan.python_name or RELATION


def _coerce_of(named: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """The leaf's output coercion. A Strawberry enum's scans its values for each value it
    serializes; a dict from member to name answers at once (None for anything else sends
    the value down the regular path, which raises the usual error)."""
    wrapped = getattr(named, "wrapped_cls", None)
    if (
        isinstance(named, GraphQLEnumType)
        and isinstance(wrapped, type)
        and issubclass(wrapped, Enum)
    ):
        names = {wrapped(value.value): name for name, value in named.values.items()}
        return names.get
    return named.coerce_output_value


_BUILT_IN = (GraphQLString, GraphQLID, GraphQLBoolean, GraphQLInt)
_PASSTHROUGH: dict[str, type] = {"String": str, "ID": str, "Boolean": bool, "Int": int}
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def fast_field(
    *,
    graphql_type: Any,
    description: str | None = None,
    deprecation_reason: str | None = None,
) -> Callable[[FastResolver], Any]:
    """Declare a field without arguments answered by `method(self, context)`: a relation
    read from the request's loaders. FastExecutionContext calls the method directly; for any
    other executor a Strawberry resolver around it answers the same. The method reads
    nothing of its object but keys (`id`, `*_id` columns): operations that read only some
    columns (resolvers/narrowing.py) rely on it."""

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
        if not self._fast or source_value is None or position_context is not None:
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
                    value: Any = getattr(source_value, plan.python_name, Undefined)
                    value_type = type(value)
                    if value_type is plan.passthrough and (
                        value_type is not int or _INT_MIN <= value <= _INT_MAX
                    ):
                        results[response_name] = value
                        continue
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
        """graphql-core's execute_field with the plan's function in place of the resolver,
        and objects (or lists of them) of the expected class completed directly."""
        field_def = plan.field_def
        resolve = plan.resolve
        assert field_def is not None
        assert resolve is not None
        return_type = field_def.type
        try:
            result = resolve(source, self.context_value)
            if plan.origin is not None and not self.is_awaitable(result):
                completed = self._complete_objects(plan, field_details_list, path, result)
                if completed is not _SLOW:
                    if self.is_awaitable(completed):
                        return self._await_completed(
                            completed, return_type, field_details_list, path
                        )
                    return completed
            info = self.build_resolve_info(
                field_def, to_nodes(field_details_list), parent_type, path
            )
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

    def _complete_objects(
        self, plan: _Plan, field_details_list: FieldDetailsList, path: Path, result: Any
    ) -> Any:
        """The completed value of an object, or a list of objects, each of the class the
        field's type is built from - or _SLOW for anything else (null included), which
        graphql-core then completes (and reports) itself. Mirrors complete_object_value and
        complete_iterable_value, which check is_type_of and catch each item's error."""
        object_type, origin = plan.object_type, plan.origin
        assert object_type is not None
        assert origin is not None
        item_type = plan.item_type
        if item_type is None:
            if not isinstance(result, origin):
                return _SLOW
            return self.collect_and_execute_subfields(
                object_type, field_details_list, path, result, None
            )
        if type(result) is not list or field_details_list[0].node.directives:
            return _SLOW  # @stream, generators and the like: graphql-core's own way
        for item in result:
            if not isinstance(item, origin):
                return _SLOW
        completed_items: list[Any] = []
        awaitable_indices: list[int] = []
        is_awaitable = self.is_awaitable
        try:
            for index, item in enumerate(result):
                item_path = path.add_key(index, None)
                try:
                    completed = self.collect_and_execute_subfields(
                        object_type, field_details_list, item_path, item, None
                    )
                    if is_awaitable(completed):
                        completed = self._await_completed(
                            completed, item_type, field_details_list, item_path
                        )
                        awaitable_indices.append(index)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    completed = None
                completed_items.append(completed)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed_items[i] for i in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed_items
        return self._gather_items(completed_items, awaitable_indices)

    @staticmethod
    async def _gather_items(items: list[Any], awaitable_indices: list[int]) -> list[Any]:
        values = await gather_with_cancel(*(items[i] for i in awaitable_indices))
        for index, value in zip(awaitable_indices, values, strict=True):
            items[index] = value
        return items

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


# --- lean resolvers for root fields -----------------------------------------------------------

_PLAIN_ARGUMENT_TYPES: tuple[object, ...] = (str, int, bool, float, strawberry_ID)


def install_lean_resolvers(
    schema: GraphQLSchema,
    checks: Callable[[StrawberryField], list[Callable[[Any], object]] | None],
    info_class: type[Info[Any, Any]],
    argument_name: Callable[[StrawberryArgument], str],
) -> int:
    """Answer the root query fields that qualify without Strawberry's resolver wrapper, which
    for every call builds the extension chain (functools.partial over each extension),
    converts each argument by its type and name, and wraps the result to await it: for a
    one-deal query that cost more than its permission check and resolver together.

    A field qualifies when it is a module-level function of `(info, <arguments>)` whose
    arguments are all plain scalars (ID, String, Int, Float, Boolean: graphql-core's values
    are already what the function takes) and whose extensions are all permission checks
    that `checks` can run directly (it returns None for any other field). The lean resolver
    does what the wrapper does for such a field: builds the same Info, runs the checks (a
    check returns a payload to answer with instead, or raises), and calls the function with
    the arguments by their Python names. Returns how many fields qualified."""
    query = schema.query_type
    if query is None:
        return 0
    installed = 0
    for field_def in query.fields.values():
        field = (field_def.extensions or {}).get(BACKREF)
        if not isinstance(field, StrawberryField):
            continue
        resolve = _lean_resolver(field_def, field, checks, info_class, argument_name)
        if resolve is not None:
            field_def.resolve = resolve
            installed += 1
    return installed


def _lean_resolver(
    field_def: GraphQLField,
    field: StrawberryField,
    checks: Callable[[StrawberryField], list[Callable[[Any], object]] | None],
    info_class: type[Info[Any, Any]],
    argument_name: Callable[[StrawberryArgument], str],
) -> _LeanResolver | None:
    resolver = field.base_resolver
    if resolver is None or field.permission_classes:
        return None
    field_checks = checks(field)
    if field_checks is None:
        return None
    function = resolver.wrapped_func
    if not inspect.isfunction(function):
        return None  # a staticmethod or classmethod: not a root field of ours
    parameters = list(inspect.signature(function).parameters.values())
    if not parameters or parameters[0].name != "info":
        return None
    arguments = resolver.arguments
    if [p.name for p in parameters[1:]] != [a.python_name for a in arguments]:
        return None
    names: list[tuple[str, str]] = []
    for argument in arguments:
        kind = argument.type
        if isinstance(kind, StrawberryOptional):
            kind = kind.of_type
        if kind not in _PLAIN_ARGUMENT_TYPES:
            return None
        names.append((argument_name(argument), argument.python_name))
    if set(field_def.args) != {name for name, _ in names}:
        return None
    return _LeanResolver(field, function, field_checks, tuple(names), info_class)


class _LeanResolver:
    """A root field's resolver without Strawberry's wrapper (see install_lean_resolvers)."""

    __slots__ = ("checks", "field", "function", "info_class", "names")

    def __init__(
        self,
        field: StrawberryField,
        function: Callable[..., Any],
        checks: list[Callable[[Any], object]],
        names: tuple[tuple[str, str], ...],
        info_class: type[Info[Any, Any]],
    ) -> None:
        self.field = field
        self.function = function
        self.checks = checks
        self.names = names  # (GraphQL name, Python name) of each argument
        self.info_class = info_class

    def __call__(self, _source: Any, info: Any, **kwargs: Any) -> Any:
        strawberry_info = self.info_class(_raw_info=info, _field=self.field)
        for check in self.checks:
            refused = check(strawberry_info)
            if refused is not None:
                return refused
        values = {python: kwargs[name] for name, python in self.names if name in kwargs}
        # A coroutine function's call returns the awaitable graphql-core awaits.
        return self.function(strawberry_info, **values)
