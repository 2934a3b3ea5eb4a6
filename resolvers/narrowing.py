"""Reading only the columns an operation selects.

A page of deals with their customers, vehicles, salespeople and scenarios read four times the
values it returned (a scenario has 25 columns and the page asks for five of them): decoding
and building them was about a fifth of the server's time for the page. So, for a query whose
every field is answered from plain attributes or relations (see `field_access`), the rows the
loaders read for it hold only the columns its fields select, plus the keys.

Why it is safe: the columns are decided once per operation and per table, from every field of
the type anywhere in the operation, so every object the request builds has every attribute
the operation reads of it. Plain fields read their own attribute; relations (`fast_field`)
read only keys, which are always read; and one field with a resolver of its own (which may
read anything, of any object) anywhere below the root makes the whole operation read full
rows. Only the root fields listed in `ROOTS` qualify: their resolvers read nothing of these
objects but keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)
from graphql.utilities import get_operation_ast
from strawberry.schema.schema_converter import GraphQLCoreConverter

from resolvers.loaders import CUSTOMERS, DEAL_SCENARIOS, TRADE_VEHICLES, USERS, VEHICLES
from schema.execution import RELATION, field_access
from schema.memo import DocumentMemo

# Root fields whose resolvers read nothing of the loaded objects but keys.
ROOTS = frozenset({"deal", "deals"})
# The tables whose rows may be narrowed (those read only through the request's loaders), by
# the class their rows become: (table name, its columns).
_TABLES = {
    spec.cls: (spec.table.name, frozenset(spec.columns))
    for spec in (CUSTOMERS, VEHICLES, USERS, DEAL_SCENARIOS, TRADE_VEHICLES)
}
# Types the connection machinery makes (pages, edges, page info): their resolvers read
# nothing of the objects in them but what a cursor needs of a root's own rows.
_PLUMBING_SUFFIXES = ("Connection", "Edge")
_PLUMBING = frozenset({"PageInfo"})

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


class _Unsafe(Exception):
    """A field that may read any attribute: the operation reads full rows."""


def narrowed_columns(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> Mapping[str, frozenset[str]]:
    """The columns to read, by table name, for this operation (empty: read full rows)."""
    return _remembered(document, schema, operation_name)


def _columns(
    document: DocumentNode, schema: GraphQLSchema, operation_name: str | None
) -> Mapping[str, frozenset[str]]:
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return {}
    root = schema.query_type
    assert root is not None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    selected: dict[str, set[str]] = {}
    try:
        for field_node in _fields(root, operation.selection_set, fragments, set()):
            if field_node.name.value.startswith("__"):
                continue
            if field_node.name.value not in ROOTS:
                raise _Unsafe
            field_def = root.fields[field_node.name.value]
            if field_node.selection_set is not None:
                _walk(field_def, field_node.selection_set, fragments, selected, set())
    except _Unsafe:
        return {}
    return {table: frozenset(columns) for table, columns in selected.items()}


_remembered = DocumentMemo(_columns, maxsize=1024)


def _walk(
    field_def: GraphQLField,
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    selected: dict[str, set[str]],
    seen: set[tuple[str, int]],
) -> None:
    named = get_named_type(field_def.type)
    if not isinstance(named, GraphQLObjectType):
        raise _Unsafe  # an interface or a union: its members are not followed here
    key = (named.name, id(selection_set))
    if key in seen:
        return
    seen.add(key)
    table = _table_of(named)
    # The columns read of this type so far (None: not a narrowable table), and all it has.
    columns, all_columns = None, frozenset[str]()
    if table is not None:
        table_name, all_columns = table
        columns = selected.setdefault(table_name, _keys(all_columns))
    plumbing = named.name in _PLUMBING or named.name.endswith(_PLUMBING_SUFFIXES)
    for field_node in _fields(named, selection_set, fragments, set()):
        name = field_node.name.value
        if name.startswith("__"):
            continue
        child = named.fields.get(name)
        if child is None:
            raise _Unsafe
        access = None if field_node.arguments else field_access(child)
        if access is None:
            if not plumbing:
                raise _Unsafe
        elif access != RELATION and columns is not None:
            column = "id" if access in ("id", "pk") else access
            if column not in all_columns:
                raise _Unsafe  # an attribute that is not a column: built some other way
            columns.add(column)
        if field_node.selection_set is not None:
            _walk(child, field_node.selection_set, fragments, selected, seen)


def _fields(
    parent: GraphQLObjectType,
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    spread: set[str],
) -> Iterator[FieldNode]:
    """The field nodes of a selection set on `parent`, through fragments on that type."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
            continue
        condition: NamedTypeNode | None
        if isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in spread or name not in fragments:
                continue
            spread.add(name)
            fragment = fragments[name]
            condition, inner = fragment.type_condition, fragment.selection_set
        elif isinstance(selection, InlineFragmentNode):
            condition, inner = selection.type_condition, selection.selection_set
        else:
            continue
        if condition is not None and condition.name.value != parent.name:
            raise _Unsafe  # a fragment on an interface or another type
        yield from _fields(parent, inner, fragments, spread)


def _table_of(named: GraphQLObjectType) -> tuple[str, frozenset[str]] | None:
    definition = (named.extensions or {}).get(_BACKREF)
    origin = getattr(definition, "origin", None)
    return _TABLES.get(origin) if isinstance(origin, type) else None


def _keys(columns: frozenset[str]) -> set[str]:
    """What is always read: the row's keys, which relations and loaders go by."""
    return {c for c in columns if c in ("id", "dealership_id") or c.endswith("_id")}
