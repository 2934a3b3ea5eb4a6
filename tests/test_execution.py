"""FastExecutionContext gives exactly what graphql-core's own execution gives: the same data
and the same errors (message, path, locations), on a small schema built to hit every edge of
the fast paths and on the real application's deal pages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import pytest
import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionResult

from db.errors import Unauthenticated
from db.models.enums import Role
from resolvers.permissions import direct_checks, requires
from schema.execution import FastExecutionContext, fast_field, install_lean_resolvers
from server.http import GraphQLEndpoint
from server.tokens import Principal
from tests.conftest import GraphQLClient
from tests.factories import Factory

# ---------------------------------------------------------------------------------------
# A synthetic schema: leaves that are fine, null, missing or unserializable; direct fields
# that return objects, lists, None, awaitables, or raise.


class Boom(Exception):
    pass


@strawberry.type
class Leaf:
    name: str
    size: int | None
    strict: int = strawberry.field(description="A non-null Int that may hold garbage.")
    big: int | None = 2**40  # outside GraphQL's 32-bit Int: an error
    flag: int | None = True  # type: ignore[assignment]  # a bool for an Int: graphql-core says 1

    @strawberry.field
    async def later_name(self) -> str:
        await asyncio.sleep(0)
        if self.name == "boom":
            raise Boom("no later name")
        return self.name.upper()


@strawberry.type
class Box:
    label: str
    maybe: str | None
    count: int
    wrong: int
    items: list[Leaf]
    holes: list[Leaf | None]
    strict_items: list[Leaf] = strawberry.field(description="May hold a None: an error.")

    @fast_field(graphql_type=Leaf)
    def leaf(self, context: Any) -> object:
        return Leaf(name=f"{self.label}-leaf", size=None, strict=1)

    @fast_field(graphql_type=Leaf | None)
    def no_leaf(self, context: Any) -> object:
        return None

    @fast_field(graphql_type=Leaf)
    def null_leaf(self, context: Any) -> object:
        return None  # non-null: an error that nulls the parent

    @fast_field(graphql_type=Leaf | None)
    def broken(self, context: Any) -> object:
        raise Boom(f"broken {self.label}")

    @fast_field(graphql_type=Leaf)
    def broken_strict(self, context: Any) -> object:
        raise Boom(f"strictly broken {self.label}")

    @fast_field(graphql_type=Leaf)
    def later(self, context: Any) -> object:
        async def load() -> Leaf:
            await asyncio.sleep(0)
            return Leaf(name="later", size=3, strict=2)

        return load()

    @fast_field(graphql_type=Leaf | None)
    def later_broken(self, context: Any) -> object:
        async def load() -> Leaf:
            await asyncio.sleep(0)
            raise Boom("later broken")

        return load()

    @fast_field(graphql_type=list[Leaf])
    def leaves(self, context: Any) -> object:
        return self.items

    @fast_field(graphql_type=list[Leaf])
    def bad_leaves(self, context: Any) -> object:
        return [Leaf(name="ok", size=1, strict=1), Leaf(name="bad", size=1, strict=None)]  # type: ignore[arg-type]

    @fast_field(graphql_type=list[Leaf | None] | None)
    def loose_leaves(self, context: Any) -> object:
        return [Leaf(name="ok", size=1, strict=1), Leaf(name="boom", size=1, strict=None)]  # type: ignore[arg-type]

    @fast_field(graphql_type=Leaf | None)
    def wrong_class(self, context: Any) -> object:
        return self  # a Box where a Leaf is expected

    @fast_field(graphql_type=list[Leaf])
    def no_leaves(self, context: Any) -> object:
        return []

    @fast_field(graphql_type=list[Leaf] | None)
    def later_leaves(self, context: Any) -> object:
        async def load() -> list[Leaf]:
            await asyncio.sleep(0)
            return self.items

        return load()

    @fast_field(graphql_type=str)
    def from_context(self, context: Any) -> object:
        return f"{context['greeting']} {self.label}"

    @strawberry.field
    def with_argument(self, times: int = 1) -> str:
        return self.label * times

    @strawberry.field
    async def slow(self) -> str:
        return self.label.upper()


def _box(label: str) -> Box:
    return Box(
        label=label,
        maybe=None,
        count=2,
        wrong="not a number",  # type: ignore[arg-type]
        items=[Leaf(name="a", size=1, strict=1), Leaf(name="b", size=None, strict=2)],
        holes=[Leaf(name="c", size=None, strict=3), None],
        strict_items=[Leaf(name="d", size=4, strict=4), None],  # type: ignore[list-item]
    )


@strawberry.type
class Query:
    @strawberry.field
    def boxes(self) -> list[Box]:
        return [_box("one"), _box("two")]

    @strawberry.field
    def box(self) -> Box | None:
        return _box("three")

    @strawberry.field
    def garbage(self) -> Leaf:
        return Leaf(name=None, size="x", strict="y")  # type: ignore[arg-type]


SAFE_FIELDS = """label maybe count leaf { name size } noLeaf { name } leaves { name size }
  items { name strict } holes { name } later { name size } fromContext withArgument(times: 2)
  slow __typename"""

SYNTHETIC = {
    "plain": f"{{ boxes {{ {SAFE_FIELDS} }} box {{ {SAFE_FIELDS} }} }}",
    "aliases and repeats": """{ boxes { a: label b: label label leaf { name } leaf { size }
        x: leaf { name } } }""",
    "fragments": """{ boxes { ...B ... on Box { count } } }
        fragment B on Box { label leaf { ...L } } fragment L on Leaf { name size }""",
    "skip and include": """query($yes: Boolean!) { boxes { label @skip(if: $yes)
        count @include(if: $yes) leaf @include(if: $yes) { name } } }""",
    "unserializable leaf": "{ boxes { label wrong } }",
    "unserializable nullable leaves": "{ garbage { size } }",
    "null in a non-null leaf": "{ garbage { name } }",
    "null for a non-null object": "{ boxes { label nullLeaf { name } } box { label } }",
    "resolver raises": "{ boxes { label broken { name } } }",
    "resolver raises, non-null": "{ box { label brokenStrict { name } } boxes { count } }",
    "awaitable raises": "{ boxes { laterBroken { name } label } }",
    "null item in a non-null list": "{ box { strictItems { name } } }",
    "leaves out of range and of another type": "{ boxes { items { big flag } } }",
    "async fields in list items": """{ boxes { leaves { name laterName }
        laterLeaves { laterName } } }""",
    "a failing item of a non-null list": "{ boxes { label badLeaves { name strict } } }",
    "failing items of a nullable list": """{ box { looseLeaves { name strict laterName }
        noLeaves { name } } }""",
    "an object of another class": "{ box { wrongClass { name } label } }",
    "aliases of list fields": "{ box { a: leaves { name } b: leaves { size } } }",
}


def _execute(schema: strawberry.Schema, query: str, fast: bool) -> ExecutionResult:
    schema.execution_context_class = (
        FastExecutionContext if fast else StrawberryGraphQLCoreExecutionContext
    )
    return asyncio.run(
        schema.execute(query, variable_values={"yes": True}, context_value={"greeting": "hi"})
    )


def _shape(result: ExecutionResult) -> tuple[object, list[tuple[Any, ...]]]:
    errors = sorted(
        (e.message, tuple(e.path or ()), tuple((loc.line, loc.column) for loc in e.locations or ()))
        for e in result.errors or ()
    )
    return result.data, errors


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_queries_give_the_same_data_and_errors(name: str) -> None:
    schema = strawberry.Schema(query=Query, execution_context_class=FastExecutionContext)
    query = SYNTHETIC[name]
    fast, normal = _execute(schema, query, True), _execute(schema, query, False)
    assert _shape(fast) == _shape(normal)
    if "raise" in name or "null" in name or "unserializable" in name:
        assert normal.errors, "the case is meant to produce an error"


def test_the_fast_path_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """graphql-core's execute_field runs only for what the fast path leaves to it."""
    calls: list[str] = []
    original = StrawberryGraphQLCoreExecutionContext.execute_field

    def counted(self: Any, parent_type: Any, *args: Any) -> Any:
        calls.append(parent_type.name)
        return original(self, parent_type, *args)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counted)
    schema = strawberry.Schema(query=Query, execution_context_class=FastExecutionContext)
    query = SYNTHETIC["plain"]
    _execute(schema, query, False)
    normal = len(calls)
    calls.clear()
    _execute(schema, query, True)
    # Left to graphql-core: the root fields, withArgument, slow, __typename, Leaf fields
    # of the async `later`.
    assert len(calls) < normal / 3, (len(calls), normal)


def test_a_schema_extension_with_a_resolve_hook_sees_every_field() -> None:
    seen: list[str] = []

    class Spy(strawberry.extensions.SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    schema = strawberry.Schema(
        query=Query, extensions=[Spy], execution_context_class=FastExecutionContext
    )
    result = asyncio.run(schema.execute("{ box { label leaf { name } } }"))
    assert result.data == {"box": {"label": "three", "leaf": {"name": "three-leaf"}}}
    assert seen == ["box", "label", "leaf", "name"]


# ---------------------------------------------------------------------------------------
# The application: deal pages with every relation, as roles that see and that do not see
# the sensitive fields.

DEAL_FIELDS = """
  id dealNumber status notes lostReason version createdAt updatedAt isEditable grossProfit
  customer { id firstName lastName email phone dateOfBirth monthlyIncome }
  vehicle { id vin make model year listPrice cost status }
  salesperson { id fullName email role }
  salesManager { id fullName }
  financeManager { id fullName }
  activeScenario { id name type apr termMonths monthlyPayment grossProfit }
  scenarios { id type apr termMonths monthlyPayment vehiclePrice grossProfit
    fees { name kind amount } }
  tradeVehicles { id allowance payoffAmount customer { id } }
  rateRequests { id status decisions { id buyRate } }
  appointments { id }
  selectedDecision { id }
"""

APP_QUERIES = {
    "deal page": f"""{{ deals(first: 20, orderBy: {{field: CREATED_AT, direction: ASC}}) {{
        totalCount pageInfo {{ hasNextPage endCursor }}
        edges {{ cursor node {{ {DEAL_FIELDS} }} }} nodes {{ id dealNumber }} }} }}""",
    "deals through fragments": """{ deals(first: 5) { ...Page } }
        fragment Page on DealConnection { nodes { ...D customer { ...C } } }
        fragment D on Deal { dealNumber vehicle { vin } c2: customer { lastName } }
        fragment C on Customer { firstName }""",
    "a customer's deals": """{ customers(first: 3) { nodes { id lastName
        deals { dealNumber vehicle { vin } scenarios { apr } } } } }""",
    "viewer": "{ viewer { role user { id fullName role } dealership { name } } }",
}


@contextmanager
def normal_execution(app: Starlette) -> Iterator[None]:
    endpoint = next(
        route.endpoint
        for route in app.routes
        if isinstance(route, Route) and isinstance(route.endpoint, GraphQLEndpoint)
    )
    schema = endpoint.schema
    previous = schema.execution_context_class
    schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
    try:
        yield
    finally:
        schema.execution_context_class = previous


async def test_the_app_answers_the_same_with_and_without_the_fast_path(
    app: Starlette, client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    manager = tenant.users[Role.SALES_MANAGER]
    for n in range(6):
        await factory.deal(
            tenant,
            scenarios=1 + n % 3,
            trade_vehicles=n % 2,
            sales_manager_id=manager if n % 2 else None,
        )

    compared = 0
    for role in (Role.SALES_MANAGER, Role.SALESPERSON):
        for name, query in APP_QUERIES.items():
            token = tenant.tokens[role]
            fast = await client.execute(query, token=token)
            with normal_execution(app):
                normal = await client.execute(query, token=token)
            assert fast == normal, (role, name)
            assert fast.get("data"), (role, name, fast)
            compared += 1
    assert compared == 2 * len(APP_QUERIES)


# ---------------------------------------------------------------------------------------
# Lean root resolvers (install_lean_resolvers): the same answers as Strawberry's wrapper.


@dataclass
class _Caller:
    """What a permission check reads of the context: who calls, what their role may do, and
    where refusals are noted."""

    principal: Principal | None
    actions: frozenset[str]
    events: list[tuple[str, str, dict[str, object]]] = dataclass_field(default_factory=list)

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated("sign in first")
        return self.principal

    def note_security_event(self, event: str, outcome: str, details: dict[str, object]) -> None:
        self.events.append((event, outcome, details))


async def _thing(info: strawberry.Info, thing_id: strawberry.ID, size: int | None = 3) -> str:
    return f"{thing_id}:{size}:{info.field_name}"


def _echo(info: strawberry.Info, text: str) -> str:
    return text[::-1]


async def _filtered(info: strawberry.Info, names: list[str]) -> int:
    return len(names)


@strawberry.type
class LeanQuery:
    thing: str = strawberry.field(resolver=_thing, extensions=requires("thing.read"))
    echo: str = strawberry.field(resolver=_echo, extensions=requires("echo.read"))
    filtered: int = strawberry.field(resolver=_filtered, extensions=requires("thing.read"))


def _lean_schemas() -> tuple[strawberry.Schema, strawberry.Schema, int]:
    wrapped = strawberry.Schema(query=LeanQuery)
    lean = strawberry.Schema(query=LeanQuery)
    installed = install_lean_resolvers(
        lean._schema,
        direct_checks,
        lean.config.info_class,
        lean.config.name_converter.from_argument,
    )
    return wrapped, lean, installed


@pytest.mark.parametrize(
    ("query", "actions"),
    [
        ('{ thing(thingId: "7") echo(text: "abc") }', {"thing.read", "echo.read"}),
        ('{ thing(thingId: "7", size: null) }', {"thing.read"}),
        ('{ thing(thingId: "7", size: 9) filtered(names: ["a", "b"]) }', {"thing.read"}),
        ('{ thing(thingId: "7") echo(text: "abc") }', {"thing.read"}),  # echo refused
        ('{ echo(text: "abc") }', set()),
        ("query($id: ID!) { thing(thingId: $id) }", {"thing.read"}),
    ],
)
async def test_lean_root_resolvers_answer_as_strawberrys_wrapper(
    query: str, actions: set[str]
) -> None:
    wrapped, lean, installed = _lean_schemas()
    assert installed == 2  # `filtered` takes a list: Strawberry's wrapper converts it
    caller = Principal(user_id=1, dealership_id=1, role=Role.SALES_MANAGER, token_id="t")
    results = []
    for schema in (wrapped, lean):
        context = _Caller(caller, frozenset(actions))
        result = await schema.execute(query, variable_values={"id": "x9"}, context_value=context)
        results.append((result.data, [e.formatted for e in result.errors or []], context.events))
    assert results[0] == results[1]


async def test_lean_root_resolvers_refuse_the_anonymous_as_strawberrys_wrapper() -> None:
    wrapped, lean, _ = _lean_schemas()
    answers = []
    for schema in (wrapped, lean):
        result = await schema.execute(
            '{ echo(text: "x") }', context_value=_Caller(None, frozenset())
        )
        answers.append((result.data, [e.formatted for e in result.errors or []]))
    assert answers[0] == answers[1]
    assert answers[0][1][0]["message"] == "sign in first"


def test_the_applications_one_entity_fields_are_lean() -> None:
    from schema.root import schema

    fields = schema._schema.query_type.fields  # type: ignore[union-attr]
    lean = {name for name, f in fields.items() if type(f.resolve).__name__ == "_LeanResolver"}
    assert {"deal", "customer", "vehicle", "node", "viewer", "dealByNumber"} <= lean
    assert "deals" not in lean  # filter and order inputs: Strawberry converts them
