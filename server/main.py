"""The ASGI application factory uvicorn workers import (`server.main:create`)."""

from __future__ import annotations

from starlette.applications import Starlette

from server.app import create_app
from server.config import ConfigError, get_settings
from server.logs import configure_logging


def create() -> Starlette:
    settings = get_settings()
    configure_logging(settings.log_level)
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is not set (run the server with `dealerdesk serve`)")
    return create_app(settings, settings.database_url)
