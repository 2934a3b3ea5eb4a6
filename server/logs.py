"""Structured JSON logs with the request id, and the request-id context."""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


def request_id_from(header: str | None) -> str:
    """Honour a caller's X-Request-ID when it is sane; otherwise make one."""
    if header and _SAFE_ID.match(header):
        return header
    return uuid.uuid4().hex


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key[0] != "_":
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        try:
            # Every request writes a line: orjson takes a fraction of json's time.
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # what orjson refuses (non-str keys, integers over 64 bits)
            return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Fields the formatter never writes: not looked up for every record.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # uvicorn's access log duplicates our request log; Alembic's context chatter on every
    # readiness probe is noise.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
