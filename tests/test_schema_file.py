"""The committed SDL is the code's schema: every API change shows up in review."""

from __future__ import annotations

from pathlib import Path

from schema.root import schema

SDL = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_graphql_is_up_to_date() -> None:
    assert SDL.exists(), "run `make schema` to write schema.graphql"
    assert SDL.read_text() == schema.as_str() + "\n", (
        "schema.graphql differs from the code's schema: run `make schema` and commit it"
    )
