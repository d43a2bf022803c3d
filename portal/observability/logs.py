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

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # RedactSecretsFilter masks the message; the extras (logger.info(..., extra={...})) become
        # fields of their own here, after it: mask them the same way.
        return {key: _redacted(value) for key, value in log_data.items()}

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        # The encoder renders objects it does not know (str() or repr()): mask what it wrote too.
        return redact(super().jsonify_log_record(log_data))

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        # python-json-logger formats the traceback afresh, not from the exc_text that
        # RedactSecretsFilter masked: mask it here too.
        return redact(str(super().formatException(ei)))


def _redacted(value: Any) -> Any:
    """``value`` with every registered secret masked: strings, containers, and objects whose text
    would show one (replaced by that masked text)."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {redact(str(key)): _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redacted(item) for item in value]
    text = str(value)
    safe = redact(text)
    return safe if safe != text else value
