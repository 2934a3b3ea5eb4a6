"""Remembering what is worked out from a parsed document.

graphql-core's AST nodes are frozen dataclasses: hashing a document, as functools.lru_cache does
with its arguments, walks the whole tree every time, and for a one-deal query that cost more than
the lookups saved. The parse cache (schema/limits.py) hands out the same document object for the
same text, so these caches go by the document's identity, and keep the document in the entry so
that its id cannot be reused by another while the entry lives.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from graphql import DocumentNode

R = TypeVar("R")


class DocumentMemo(Generic[R]):
    """`compute(document, *rest)`, remembered by the document's identity and `rest` (which
    must be hashable); the oldest of `maxsize` entries goes first."""

    def __init__(self, compute: Callable[..., R], maxsize: int) -> None:
        self._compute = compute
        self._maxsize = maxsize
        self._entries: dict[tuple[Hashable, ...], tuple[DocumentNode, R]] = {}

    def __call__(self, document: DocumentNode, *rest: Hashable) -> R:
        key = (id(document), *rest)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is document:
            return entry[1]
        value = self._compute(document, *rest)
        self._entries[key] = (document, value)
        if len(self._entries) > self._maxsize:
            del self._entries[next(iter(self._entries))]
        return value
