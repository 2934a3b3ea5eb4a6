"""What the client selected below a field, so a resolver can load a page's relations in
one go before returning it (each child then resolves without an await).

It reads graphql-core's syntax tree directly: Strawberry's `info.selected_fields` converts
the whole selection (arguments included) into objects first, which cost more than a small
query's execution. Fields under @skip/@include count as selected: loading a relation that
is then skipped wastes a statement, never a result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionNode,
)

from resolvers.context import Info


def selected(info: Info, *paths: Sequence[str]) -> set[str]:
    """GraphQL names of the fields selected at any of `paths` below the current field (an
    empty path: its own selection), fragments and inline fragments included."""
    raw = info._raw_info
    names: set[str] = set()
    for node in raw.field_nodes:
        if node.selection_set is None:
            continue
        for path in paths:
            _collect(node.selection_set.selections, tuple(path), raw.fragments, names, set())
    return names


def _collect(
    selections: Iterable[SelectionNode],
    path: tuple[str, ...],
    fragments: Mapping[str, FragmentDefinitionNode],
    out: set[str],
    seen: set[str],
) -> None:
    for selection in selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if not path:
                out.add(name)
            elif name == path[0] and selection.selection_set is not None:
                _collect(selection.selection_set.selections, path[1:], fragments, out, seen)
        elif isinstance(selection, InlineFragmentNode):
            _collect(selection.selection_set.selections, path, fragments, out, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            # Validation refuses fragment cycles; `seen` only guards this walk regardless.
            if fragment is not None and name not in seen:
                _collect(fragment.selection_set.selections, path, fragments, out, seen | {name})
