"""Schemathesis' GraphQL mode against a running server: every query and mutation, with
generated arguments, as the admin of a dealership loaded with the demo data.

Passing means: no 5xx, no error masked as internal (each one is an exception nothing turned
into a refusal), nothing logged as an error by the server, and no response carrying a stack
trace, SQL or the names of the libraries underneath. The run is bounded and reproducible: a
fixed number of examples per operation, generated from a fixed seed (derandomized), ids drawn
mostly from the dealership's real rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import graphql
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from server.config import Settings
from tests.helpers import LiveServer, live_server, scratch_database

EXAMPLES_PER_OPERATION = 12

# Whatever the input, a response never shows these (unless the input itself carried them):
# a stack trace, SQL, or the software underneath (in any case).
LEAKS = ["Traceback", 'File "', "line ", "SELECT ", "INSERT ", "UPDATE ", "DELETE ", ".py"]
LIBRARIES = [
    "sqlalchemy",
    "asyncpg",
    "psycopg",
    "postgres",
    "strawberry",
    "graphql-core",
    "site-packages",
]


@dataclass
class Run:
    examples: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    codes: Counter[str] = field(default_factory=Counter)
    ids: list[str] = field(default_factory=list)


RUN = Run()

# Scalars Schemathesis cannot know: mostly valid values, some not.
_decimals = st.decimals(
    min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False, places=2
)
_money = st.one_of(
    _decimals.map(str),
    st.sampled_from(
        [
            "0",
            "0.00",
            "25000",
            "31999.99",
            "-1",
            "1e3",
            "1.005",
            "abc",
            "",
            "1e400",
            "9999999999.99",
        ]
    ),
)
schemathesis.graphql.scalar("Money", _money.map(nodes.String))
schemathesis.graphql.scalar(
    "Decimal",
    st.one_of(
        st.decimals(min_value=-100, max_value=100, allow_nan=False, places=4).map(str),
        st.sampled_from(
            ["6.99", "0", "-0.5", "NaN", "Infinity", "x", "1e400", "1e-30", "123456.7"]
        ),
    ).map(nodes.String),
)
schemathesis.graphql.scalar(
    "DateTime",
    st.one_of(
        st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        st.datetimes().map(lambda d: d.isoformat()),  # no offset: refused as ambiguous
        st.sampled_from(["2030-01-01T10:00:00Z", "yesterday", ""]),
    ).map(nodes.String),
)
schemathesis.graphql.scalar(
    "Date",
    st.one_of(st.dates().map(str), st.sampled_from(["2030-02-30", "today"])).map(nodes.String),
)


def _json_object(values: dict[str, int | str]) -> graphql.ObjectValueNode:
    return nodes.Object(
        [
            graphql.ObjectFieldNode(
                name=graphql.NameNode(value=name),
                value=nodes.Int(v) if isinstance(v, int) else nodes.String(v),
            )
            for name, v in values.items()
        ]
    )


schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.dictionaries(
            st.from_regex(r"[a-z][A-Za-z0-9_]{0,7}", fullmatch=True),
            st.integers() | st.text(max_size=8),
            max_size=3,
        ).map(_json_object),
        st.just(nodes.String("not an object")),
    ),
)
# Strings: mostly anything, and now and then what breaks careless code.
schemathesis.graphql.scalar(
    "String",
    st.one_of(
        st.text(max_size=40),
        st.text(max_size=40),
        st.sampled_from(
            [
                "",
                " ",
                "a\x00b",
                "x" * 5000,
                "'; DROP TABLE customers; --",
                "\u202egnp.exe",
                "😀" * 10,
                "\uff24\uff41\uff4e\uff41",  # fullwidth
                "+1 614 555 0123",
                "dana@example.com",
                "1HGCM82633A004352",
                "America/New_York",
                "Mars/Olympus_Mons",
            ]
        ),
    ).map(nodes.String),
)
# Ids: the dealership's real ones (so mutations reach real rows), and now and then anything.
_real_ids = st.deferred(lambda: st.sampled_from(RUN.ids))
schemathesis.graphql.scalar(
    "ID",
    st.one_of(_real_ids, _real_ids, _real_ids, st.text(max_size=24)).map(nodes.String),
)

IDS = """
{
  customers(first: 40) { nodes { id notes { id } tradeVehicles { id } } }
  users(first: 40) { nodes { id } }
  vehicles(first: 40) { nodes { id } }
  deals(first: 40) { nodes { id scenarios { id } rateRequests { id decisions { id } }
                             tradeVehicles { id } appointments { id } } }
  appointments(first: 40) { nodes { id } }
  quickQuotes(first: 40) { nodes { id contacts { id } } }
  taxJurisdictions(first: 40) { nodes { id } }
  lenders(first: 40) { nodes { id programs { id } } }
  feeTemplates(includeInactive: true) { id }
  dealership { id settings { id } }
}"""


def _ids(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                yield item
            else:
                yield from _ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _ids(item)


@dataclass
class Target:
    server: LiveServer
    headers: dict[str, str]


@pytest.fixture(scope="module")
def target(server_url: str, settings: Settings) -> Iterator[Target]:
    assert settings.auth_token_secret is not None
    secret = settings.auth_token_secret.get_secret_value()
    # A database of its own: the fuzzer's writes stay out of the other tests' way.
    with scratch_database(server_url) as url, live_server(url, secret, "--seed-demo") as server:
        token = server.run("token", "admin@demo.example").strip()
        headers = {"Authorization": f"Bearer {token}"}
        response = httpx.post(f"{server.url}/graphql", json={"query": IDS}, headers=headers)
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text
        RUN.ids[:] = sorted(set(_ids(response.json()["data"])))
        assert len(RUN.ids) > 100
        yield Target(server, headers)


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)


def check(case: schemathesis.Case, target: Target) -> None:
    response = case.call(headers=target.headers, timeout=30)
    RUN.examples += 1
    RUN.statuses[response.status_code] = RUN.statuses.get(response.status_code, 0) + 1
    text = response.text
    assert response.status_code < 500, text
    for error in response.json().get("errors") or []:
        RUN.codes[str((error.get("extensions") or {}).get("code", error["message"][:40]))] += 1
    assert "INTERNAL_SERVER_ERROR" not in text, text
    sent = json.dumps(case.body) if case.body is not None else ""
    for leak in LEAKS:
        assert leak not in text or leak in sent, f"{leak!r} in {text}"
    for name in LIBRARIES:
        assert name not in text.lower() or name in sent.lower(), f"{name!r} in {text}"


def test_fuzz(target: Target, capsys: pytest.CaptureFixture[str]) -> None:
    schema = schemathesis.graphql.from_url(f"{target.server.url}/graphql")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def fuzz(case: schemathesis.Case) -> None:
            check(case, target)

        try:
            fuzz()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    with capsys.disabled():
        print(
            f"\nfuzz: {RUN.examples} examples over {operations} operations;"
            f" responses by status {RUN.statuses}; errors {dict(RUN.codes.most_common(12))}"
        )
    assert operations > 100
    errors = logged_errors(target.server)
    assert not failures, "\n\n".join([*failures, *errors])
    assert not errors, "\n\n".join(errors)  # nothing went wrong unseen either


def logged_errors(server: LiveServer) -> list[str]:
    """The server's own account of each internal error: where, and the exception."""
    found = []
    for line in server.log().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") == "error":
            found.append(
                f"{entry.get('message')} at {entry.get('path')}:\n{entry.get('exception')}"
            )
    return found
