"""Keep IES secrets (tenant tokens, bearers) out of log output.

The client never logs a secret on purpose; this module is the safety net for everything else
(a third-party library logging a header, a developer's ``logger.debug("%r", request)``). Secrets
are registered once, process-wide, and :class:`RedactSecretsFilter` masks them in every record it
sees. The portal installs the filter on all its handlers (a filter on a *handler* sees records from
every logger, a filter on a logger would only see that logger's own records).

Plain Python: no Django import, so the simulator, the CLI and the portal can all use it.
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["RedactSecretsFilter", "mask", "redact", "register_secret", "registered_secret_count"]

# Shorter strings are not secrets worth masking and would mangle ordinary text ("abc" in every
# message); IES tokens are ~1,000 characters and bearers are 36-character uuids.
MIN_SECRET_LENGTH = 8

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def mask(secret: str | None) -> str:
    """Return a display form of a secret that shows at most its last four characters."""
    if not secret:
        return ""
    if len(secret) < MIN_SECRET_LENGTH:
        return "****"
    return "****" + secret[-4:]


def register_secret(secret: str | None) -> None:
    """Add a string that must never appear in log output or exception messages.

    Idempotent and thread-safe; strings shorter than ``MIN_SECRET_LENGTH`` are ignored.
    """
    global _pattern
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if secret in _secrets:
            return
        _secrets.add(secret)
        # Longest first so that a secret containing another one is masked as a whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def registered_secret_count() -> int:
    """How many secrets are registered (for tests and diagnostics; never the secrets)."""
    return len(_secrets)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by its masked form."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(lambda m: mask(m.group(0)), text)


class RedactSecretsFilter(logging.Filter):
    """A logging filter that masks registered secrets in a record, then lets it through.

    It renders the message (``msg % args``) once and stores the masked result with empty args, so
    that every handler after it formats the safe text. Exception and stack text are rendered and
    masked too, because a traceback can quote a header or a URL.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        safe = redact(message)
        if safe != message:
            record.msg = safe
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
