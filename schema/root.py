"""The root Query and Mutation types and the executable schema."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from resolvers.appointments import AppointmentMutation, AppointmentQuery
from resolvers.audit import AuditQuery
from resolvers.auth import AuthMutation
from resolvers.customers import CustomerMutation, CustomerQuery
from resolvers.deal_creation import DealCreationMutation
from resolvers.deal_lifecycle import DealLifecycleMutation
from resolvers.dealerships import DealershipMutation, DealershipQuery
from resolvers.deals import DealMutation, DealQuery
from resolvers.fees import FeeMutation, FeeQuery
from resolvers.lenders import LenderMutation, LenderQuery
from resolvers.nodes import NodeQuery
from resolvers.permissions import direct_checks
from resolvers.permissions_admin import PermissionMutation, PermissionQuery
from resolvers.quotes import QuickQuoteMutation, QuickQuoteQuery
from resolvers.rate_requests import RateRequestMutation, RateRequestQuery
from resolvers.scenarios import DealScenarioMutation, DealScenarioQuery
from resolvers.taxes import TaxMutation, TaxQuery
from resolvers.trade_vehicles import TradeVehicleMutation, TradeVehicleQuery
from resolvers.users import UserMutation, UserQuery
from resolvers.vehicles import VehicleMutation, VehicleQuery
from resolvers.viewer import ViewerQuery
from schema.execution import FastExecutionContext, install_lean_resolvers
from schema.extensions import RequestPipeline, cached_validation
from schema.limits import QueryLimits
from schema.scalars import MONEY_SCALAR, Money

# One root type per domain, each beside its resolvers; adding a domain adds one entry here.
Query = merge_types(
    "Query",
    (
        ViewerQuery,
        NodeQuery,
        CustomerQuery,
        UserQuery,
        PermissionQuery,
        DealershipQuery,
        FeeQuery,
        VehicleQuery,
        DealQuery,
        DealScenarioQuery,
        TradeVehicleQuery,
        AppointmentQuery,
        QuickQuoteQuery,
        TaxQuery,
        LenderQuery,
        RateRequestQuery,
        AuditQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AuthMutation,
        CustomerMutation,
        UserMutation,
        PermissionMutation,
        DealershipMutation,
        FeeMutation,
        VehicleMutation,
        DealCreationMutation,
        DealLifecycleMutation,
        DealMutation,
        DealScenarioMutation,
        TradeVehicleMutation,
        AppointmentMutation,
        QuickQuoteMutation,
        TaxMutation,
        LenderMutation,
        RateRequestMutation,
    ),
)


class DealerdeskSchema(strawberry.Schema):
    """The schema with dealerdesk's request pipeline (schema/extensions.py) around each
    operation, under these query limits."""

    limits: QueryLimits = QueryLimits()
    _validate = cached_validation(512)

    def get_extensions(self, sync: bool = False) -> list[SchemaExtension]:
        return []  # the pipeline does their work, without building them per request

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> RequestPipeline:
        return RequestPipeline(execution_context, self.limits, self._validate)

    def process_errors(self, errors: list[GraphQLError], execution_context: object = None) -> None:
        """The pipeline's error policy logs what deserves it (unexpected errors, with the
        request id); Strawberry's default would log every refusal as an error. Without
        introspection, "Did you mean ...?" hints (of fields, arguments, types, enum values)
        go too: they would reveal the schema piece by piece."""
        if self.config.disable_field_suggestions:
            for error in errors:
                error.message = without_suggestion(error.message)


def without_suggestion(message: str) -> str:
    head, found, _ = message.partition(" Did you mean ")
    return head if found else message


def build_schema(limits: QueryLimits = QueryLimits()) -> DealerdeskSchema:  # noqa: B008
    """The executable schema under these limits (the SDL is the same for any limits)."""
    built = DealerdeskSchema(
        query=Query,
        mutation=Mutation,
        execution_context_class=FastExecutionContext,
        config=StrawberryConfig(
            scalar_map={Money: MONEY_SCALAR},
            disable_field_suggestions=not limits.introspection,
        ),
    )
    built.limits = limits
    install_lean_resolvers(
        built._schema,
        direct_checks,
        built.config.info_class,
        built.config.name_converter.from_argument,
    )
    return built


schema = build_schema()
