"""The root Query and Mutation types and the executable schema."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types

from resolvers.audit import AuditQuery
from resolvers.customers import CustomerMutation, CustomerQuery
from resolvers.lenders import LenderMutation, LenderQuery
from resolvers.nodes import NodeQuery
from resolvers.rate_requests import RateRequestMutation, RateRequestQuery
from resolvers.taxes import TaxMutation, TaxQuery
from resolvers.viewer import ViewerQuery
from schema.extensions import ErrorPolicy, ReleaseSession

# One root type per domain, each beside its resolvers; adding a domain adds one entry here.
Query = merge_types(
    "Query",
    (ViewerQuery, NodeQuery, CustomerQuery, TaxQuery, LenderQuery, RateRequestQuery, AuditQuery),
)
Mutation = merge_types(
    "Mutation", (CustomerMutation, TaxMutation, LenderMutation, RateRequestMutation)
)


class DealerdeskSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: object = None) -> None:
        """ErrorPolicy logs what deserves it (unexpected errors, with the request id);
        Strawberry's default would log every refusal as an error."""


schema = DealerdeskSchema(
    query=Query,
    mutation=Mutation,
    extensions=[
        ErrorPolicy,
        ReleaseSession,
        # Factories: the caches themselves are module-level and shared by every request.
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ],
)
