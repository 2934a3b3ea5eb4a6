"""What the client selected below a field, so a resolver can load a page's relations in
one go before returning it (each child then resolves without an await)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from resolvers.context import Info


def selected(info: Info, *paths: Sequence[str]) -> set[str]:
    """GraphQL names of the fields selected at any of `paths` below the current field (an
    empty path: its own selection), fragments and inline fragments included."""
    names: set[str] = set()
    for root in info.selected_fields:
        for path in paths:
            _collect(root.selections, tuple(path), names)
    return names


def _collect(selections: Iterable[Selection], path: tuple[str, ...], out: set[str]) -> None:
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):
            _collect(selection.selections, path, out)
        elif isinstance(selection, SelectedField):
            if not path:
                out.add(selection.name)
            elif selection.name == path[0]:
                _collect(selection.selections, path[1:], out)
