"""The ASGI application factory uvicorn workers import (`server.main:create`), and the
worker process's garbage-collector settings."""

from __future__ import annotations

import gc

from starlette.applications import Starlette

from server.app import create_app
from server.config import ConfigError, get_settings
from server.logs import configure_logging

# A request allocates thousands of container objects, nearly all freed by reference counting
# when it ends. At the default threshold (700) the young generation was collected several
# times per request, and the objects of the requests in flight were promoted to the old
# generation, whose collections then came every few hundred requests.
YOUNG_THRESHOLD = 20_000
# The middle generation holds what was alive at a young collection (the requests in flight)
# and the reference cycles they leave behind once done: collected every 5 young collections
# it stays small; every 50, it took 620 ms to collect under a page of 50 deals, a stall that
# was the p99 of that query.
OLDER_THRESHOLDS = (5, 100)


def create() -> Starlette:
    settings = get_settings()
    configure_logging(settings.log_level)
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is not set (run the server with `dealerdesk serve`)")
    app = create_app(settings, settings.database_url)
    settle_heap()
    return app


def settle_heap() -> None:
    """Exempt what the worker has built so far (modules, the schema: some 190,000 objects)
    from garbage collection, which would otherwise walk it in every full collection (77 ms
    each on the benchmark's machine, stalling every request in flight), and collect the
    young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
