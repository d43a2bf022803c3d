"""Identifiers in the shapes IES uses."""

from __future__ import annotations

import base64
import secrets
import uuid


def new_id() -> str:
    """A service or operation id: a uuid4 as 22 characters of URL-safe base64, no padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")


def new_token() -> str:
    """A tenant token shaped like a Keystone PKI token (``MIIE…``, about 1,000 characters)."""
    return "MIIE" + secrets.token_urlsafe(750)


def new_bearer() -> str:
    return str(uuid.uuid4())


def new_tenant_id() -> str:
    return uuid.uuid4().hex
