"""Log records that carry the request id, and the JSON format (LOG_FORMAT=json).

JSON through python-json-logger rather than a formatter of our own: it already turns extras,
exceptions and stack traces into fields and keeps the standard attributes out of the object.
"""

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from ies_client.redact import redact
from portal.observability import request_id

JSON_FIELDS = "{levelname}{name}{message}{request_id}"
JSON_RENAMED = {"levelname": "level", "name": "logger"}


class RequestIdFilter(logging.Filter):
    """Every record gets `request_id`: the request's (or the task's) id, or "-" outside both."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.current.get() or "-"
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object a line: level, logger, message, request_id, time (and any extras)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", JSON_FIELDS)
        kwargs.setdefault("style", "{")
        kwargs.setdefault("rename_fields", JSON_RENAMED)
        # "time": ISO 8601 in UTC with its offset (asctime would be the server's local time, unmarked).
        kwargs.setdefault("timestamp", "time")
        super().__init__(*args, **kwargs)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        # python-json-logger formats the traceback afresh, not from the exc_text that
        # RedactSecretsFilter masked: mask it here too.
        return redact(str(super().formatException(ei)))
