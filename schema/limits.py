"""Query limits, checked before anything runs: tokens (while parsing), depth and aliases
(validation rules), a node budget (once the variables are known, before execution), and
introspection in production.

A refusal is a request error (nothing executes; 400 under application/graphql-response+json)
with a message and `extensions.code`: MAX_TOKENS_EXCEEDED, MAX_DEPTH_EXCEEDED,
MAX_ALIASES_EXCEEDED, QUERY_TOO_COSTLY or INTROSPECTION_DISABLED.

Depth and aliases are counted through fragment spreads: a fragment counts wherever it is
spread. Each fragment is measured once and the figure reused, so a document of fragments that
spread each other many times costs linear time to measure, not exponential.

Nodes are counted the way GitHub's GraphQL API counts them: every list a query can return
contributes the number of objects it may hold, multiplied by the sizes of the lists around it.
A connection holds `first` or `last` objects (the default page, 20, when neither is given);
its `edges` and `nodes` are those objects, not another list. A plain list (`deal.scenarios`,
`customer.deals`...) is not paginated: it counts as a default page of 20, unless it takes
`first` (its value) or `ids` (their number). Lists of scalars do not count. Fields count
whatever their `@skip`/`@include` says, and so do the fragments on each member of a union: the
figure is an upper bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    is_introspection_type,
    parse,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from graphql.utilities import get_operation_ast

from db.storage.pagination import DEFAULT_PAGE_SIZE
from schema.memo import DocumentMemo


@dataclass(frozen=True)
class QueryLimits:
    """The defaults are explained in README.md ("Query limits")."""

    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 1_000
    max_nodes: int = 25_000
    introspection: bool = True


def limit_error(message: str, code: str, where: Node | None = None, **figures: int) -> GraphQLError:
    return GraphQLError(message, where, extensions={"code": code, **figures})


# --- depth and aliases: properties of the document, checked by validation rules ----------


@dataclass(frozen=True)
class Shape:
    """How deep an operation nests fields (the longest path of fields from the root to a leaf;
    fragments add no level) and how many aliases it uses, fragments expanded."""

    depth: int
    aliases: int


class _ShapeMeter:
    def __init__(self, document: DocumentNode) -> None:
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._measured: dict[str, Shape] = {}
        self._measuring: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> Shape:
        return self._selections(operation.selection_set)

    def _selections(self, selection_set: SelectionSetNode | None) -> Shape:
        depth = aliases = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__") and selection.selection_set:
                    # Introspection (__schema, __type): its nesting mirrors the type system,
                    # not data; the node budget bounds it, and production turns it off.
                    inner = Shape(0, 0)
                else:
                    inner = self._selections(selection.selection_set)
                depth = max(depth, 1 + inner.depth)
                aliases += inner.aliases + (1 if selection.alias else 0)
            elif isinstance(selection, InlineFragmentNode):
                inner = self._selections(selection.selection_set)
                depth, aliases = max(depth, inner.depth), aliases + inner.aliases
            elif isinstance(selection, FragmentSpreadNode):
                inner = self._fragment(selection.name.value)
                depth, aliases = max(depth, inner.depth), aliases + inner.aliases
        return Shape(depth, aliases)

    def _fragment(self, name: str) -> Shape:
        if name in self._measured:
            return self._measured[name]
        fragment = self._fragments.get(name)
        if fragment is None or name in self._measuring:
            return Shape(0, 0)  # unknown or cyclic: graphql-core's own rules report those
        self._measuring.add(name)
        shape = self._selections(fragment.selection_set)
        self._measuring.discard(name)
        self._measured[name] = shape
        return shape


def operation_shapes(document: DocumentNode) -> Iterator[tuple[OperationDefinitionNode, Shape]]:
    meter = _ShapeMeter(document)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            yield definition, meter.operation(definition)


def _name(operation: OperationDefinitionNode) -> str:
    return f"operation `{operation.name.value}`" if operation.name else "the operation"


@lru_cache(maxsize=32)
def shape_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """A validation rule for these limits (one class per pair of values, so the validation
    cache, keyed by the rules, never mixes up two configurations)."""

    class ShapeLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for operation, shape in operation_shapes(context.document):
                if shape.depth > max_depth:
                    context.report_error(
                        limit_error(
                            f"{_name(operation).capitalize()} nests fields {shape.depth} levels "
                            f"deep; at most {max_depth} are allowed.",
                            "MAX_DEPTH_EXCEEDED",
                            operation,
                            depth=shape.depth,
                            maxDepth=max_depth,
                        )
                    )
                if shape.aliases > max_aliases:
                    context.report_error(
                        limit_error(
                            f"{_name(operation).capitalize()} uses {shape.aliases} aliases "
                            f"(fragments counted where they are spread); at most {max_aliases} "
                            "are allowed.",
                            "MAX_ALIASES_EXCEEDED",
                            operation,
                            aliases=shape.aliases,
                            maxAliases=max_aliases,
                        )
                    )

    return ShapeLimits


class NoIntrospection(ValidationRule):
    """Refuses `__schema` and `__type` (`__typename` stays: clients need it for unions)."""

    def enter_field(self, node: FieldNode, *_args: object) -> None:
        type_ = get_named_type(self.context.get_type())
        if type_ is not None and is_introspection_type(type_):
            self.report_error(
                limit_error(
                    "Introspection is disabled on this server.", "INTROSPECTION_DISABLED", node
                )
            )


# --- nodes: depends on the variables, checked after validation and before execution -------


def _is_connection(type_: GraphQLNamedType) -> bool:
    return isinstance(type_, GraphQLObjectType) and {"edges", "pageInfo"} <= type_.fields.keys()


class _NodeMeter:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: VariableValues
    ) -> None:
        self._schema = schema
        self._variables = variables
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._measured: dict[str, int] = {}

    def selections(self, parent: GraphQLNamedType, selection_set: SelectionSetNode) -> int:
        """Nodes one object of type `parent` may bring with this selection set."""
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                type_ = self._schema.get_type(condition.name.value) if condition else parent
                if type_ is not None:
                    total += self.selections(type_, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value)
        return total

    def _fragment(self, name: str) -> int:
        if name not in self._measured:
            fragment = self._fragments[name]
            type_ = self._schema.get_type(fragment.type_condition.name.value)
            assert type_ is not None  # validated
            self._measured[name] = self.selections(type_, fragment.selection_set)
        return self._measured[name]

    def _field(self, parent: GraphQLNamedType, node: FieldNode) -> int:
        definition = self._definition(parent, node.name.value)
        if definition is None or node.selection_set is None:
            return 0  # scalars, enums, lists of them, __typename
        type_ = get_named_type(definition.type)
        inner = self.selections(type_, node.selection_set)
        size = self._size(parent, definition, node)
        return inner if size is None else size * (1 + inner)

    def _definition(self, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
        if parent is self._schema.query_type and name == "__schema":
            return SchemaMetaFieldDef
        if parent is self._schema.query_type and name == "__type":
            return TypeMetaFieldDef
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            field: GraphQLField | None = parent.fields.get(name)
            return field
        return None  # a union's __typename

    def _size(self, parent: GraphQLNamedType, field: GraphQLField, node: FieldNode) -> int | None:
        """How many objects the field may return; None for a single object."""
        is_list = isinstance(get_nullable_type(field.type), GraphQLList)
        if is_list and _is_connection(parent):
            return None  # a connection's edges / nodes: the page itself, counted above
        if not is_list and not _is_connection(get_named_type(field.type)):
            return None
        try:
            args = get_argument_values(field, node, self._variables)
        except GraphQLError:
            args = {}  # execution refuses the argument before anything runs
        ids = args.get("ids")
        if isinstance(ids, list):
            return len(ids)
        sizes = [v for k in ("first", "last") if isinstance(v := args.get(k), int)]
        return max(0, *sizes) if sizes else DEFAULT_PAGE_SIZE


def count_nodes(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, object] | None,
) -> int | None:
    """The node count of the operation that would run; None when it cannot run at all (no
    such operation, or variables that do not coerce: execution reports those)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    root: GraphQLCompositeType | None = schema.get_root_type(operation.operation)
    if root is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return None
    return _NodeMeter(schema, document, coerced).selections(root, operation.selection_set)


def _count_remembered(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, object] | None,
) -> int | None:
    """count_nodes, remembered for the same document (the parse cache hands out the same
    object for the same text), operation and variables: front ends send the same few
    queries all day, and walking the document cost more than running a one-deal query."""
    try:
        key = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
    except TypeError:  # a value JSON cannot hold: count afresh
        return count_nodes(schema, document, operation_name, variables)
    return _count_cached(document, schema, operation_name, key)


def _count_document(
    document: DocumentNode, schema: GraphQLSchema, operation_name: str | None, variables: bytes
) -> int | None:
    return count_nodes(
        schema, document, operation_name, orjson.loads(variables) if variables else None
    )


_count_cached = DocumentMemo(_count_document, maxsize=1024)


# --- the checks the request pipeline makes (schema/extensions.py) ---------------------------


def validation_rules(limits: QueryLimits) -> tuple[type[ValidationRule], ...]:
    """The rules these limits add to GraphQL's own validation."""
    rules: tuple[type[ValidationRule], ...] = (shape_rule(limits.max_depth, limits.max_aliases),)
    return (*rules, NoIntrospection) if not limits.introspection else rules


def parse_limited(query: str, limits: QueryLimits) -> DocumentNode:
    """The document (through a cache shared by all requests), or a MAX_TOKENS_EXCEEDED
    error."""
    try:
        return _parse(query, limits.max_tokens)
    except GraphQLSyntaxError as error:
        if "Document contains more than" not in error.message:
            raise
        raise limit_error(
            f"The document has more than {limits.max_tokens} tokens (or comments),"
            " the most this server parses.",
            "MAX_TOKENS_EXCEEDED",
            maxTokens=limits.max_tokens,
        ) from None


@lru_cache(maxsize=512)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    # Comments are not tokens to graphql-core; they get a budget of their own, the same.
    return parse(query, max_lexical_tokens=max_tokens, max_comments=max_tokens)


def check_node_budget(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, object] | None,
    limits: QueryLimits,
) -> None:
    """Refuse (QUERY_TOO_COSTLY) an operation that may return more objects than allowed."""
    nodes = _count_remembered(schema, document, operation_name, variables)
    if nodes is not None and nodes > limits.max_nodes:
        raise limit_error(
            f"The query may return up to {nodes:,} objects; at most "
            f"{limits.max_nodes:,} are allowed. Ask for smaller pages (`first`/`last`) "
            "or fewer nested lists.",
            "QUERY_TOO_COSTLY",
            nodes=nodes,
            maxNodes=limits.max_nodes,
        )
