"""What observing one GraphQL request costs (server/observe.py, schema/extensions.py
note_operation): the per-request hooks timed in a loop, with the request log off (the
benchmark's LOG_LEVEL=WARNING) and on (JSON lines written to the null device).

    .venv/bin/python bench/observe_overhead.py
"""

from __future__ import annotations

import logging
import os
import timeit

from graphql import parse
from strawberry.types import ExecutionContext

from resolvers.context import Context
from schema.extensions import note_operation
from server.logs import configure_logging
from server.observe import OK, RequestObserver

QUERY = "query DealPage($id: ID!) { deal(id: $id) { id dealNumber status } }"
N = 100_000


def one_request(observer: RequestObserver) -> None:
    """What the endpoint does for a request beyond answering it."""
    record = observer.start("0123456789abcdef0123456789abcdef")
    record.operation_name = "DealPage"
    record.operation_type = "query"
    record.dealership_id = 1
    record.user_id = 2
    record.note(OK)
    record.status = 200
    observer.finish(record)


def per_call(statement: str, namespace: dict[str, object], number: int = N) -> float:
    """Microseconds per call, best of five runs."""
    runs = timeit.repeat(statement, globals=namespace, number=number, repeat=5)
    return min(runs) / number * 1e6


def main() -> None:
    observer = RequestObserver()
    request_log = logging.getLogger("dealerdesk.request")

    request_log.setLevel(logging.WARNING)
    off = per_call("one_request(observer)", {"one_request": one_request, "observer": observer})

    configure_logging("INFO")  # as the server does, then into the null device
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the run
    request_log.setLevel(logging.NOTSET)
    on = per_call("one_request(observer)", {"one_request": one_request, "observer": observer})

    execution = ExecutionContext(
        query=QUERY,
        schema=None,
        allowed_operations=(),
        provided_operation_name=None,  # type: ignore[arg-type]
    )
    execution.graphql_document = parse(QUERY)
    context = Context.__new__(Context)
    noted = per_call(
        "note_operation(execution, context)",
        {"note_operation": note_operation, "execution": execution, "context": context},
    )
    print(f"request hooks, log off:       {off:6.2f} µs")
    print(f"request hooks, log line on:   {on:6.2f} µs")
    print(f"note_operation (request pipeline): {noted:6.2f} µs")


if __name__ == "__main__":
    main()
