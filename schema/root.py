"""The root Query and Mutation types and the executable schema."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache

import resolvers.viewer
from schema.dealerships import Dealership
from schema.extensions import ErrorPolicy, ReleaseSession
from schema.viewer import Viewer


@strawberry.type
class Query:
    viewer: Viewer = strawberry.field(
        resolver=resolvers.viewer.viewer, description="The signed-in user and their dealership."
    )
    dealership: Dealership = strawberry.field(
        resolver=resolvers.viewer.dealership, description="The signed-in user's dealership."
    )


class DealerdeskSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: object = None) -> None:
        """ErrorPolicy logs what deserves it (unexpected errors, with the request id);
        Strawberry's default would log every refusal as an error."""


schema = DealerdeskSchema(
    query=Query,
    extensions=[
        ErrorPolicy,
        ReleaseSession,
        # Factories: the caches themselves are module-level and shared by every request.
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ],
)
