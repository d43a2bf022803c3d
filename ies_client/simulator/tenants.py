"""Tenants and the authentication of every /rest call by X-Auth-Token + Authorization: Bearer."""

from __future__ import annotations

import hmac
import re
import threading
import time
from typing import Any, Protocol

from . import errors
from .errors import IesError, Problem
from .faults import FaultBook
from .ids import new_bearer, new_tenant_id, new_token
from .store import Row, Store


class Headers(Protocol):
    """Request headers as http.server hands them over: looked up by name, case-insensitively."""

    def get(self, name: str, /) -> str | None: ...


TENANT_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _denied(reason: str, field: str) -> IesError:
    return IesError(401, errors.PERMISSION_DENIED, [Problem(field, reason, "", "send a valid tenant token")])


class Tenants:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._by_token: dict[str, Row] = {}
        self._reload()

    def _reload(self) -> None:
        with self._lock:
            self._by_token = {row["token"]: row for row in self.store.tenants()}

    def by_token(self, token: str) -> Row | None:
        return self._by_token.get(token)

    def all(self) -> list[Row]:
        return self.store.tenants()

    def ensure(self, name: Any) -> tuple[Row, bool]:
        """The tenant of that name, made if new (idempotent by name): (row, created)."""
        if not isinstance(name, str) or not TENANT_NAME_RE.match(name):
            raise errors.fail(400, errors.BAD_PARAM, "name", "must be 1-64 characters: letters, digits, _ . -", name)
        existing = self.store.tenant_by_name(name)
        if existing is not None:
            return existing, False
        with self.store.write() as conn:
            if conn.execute("SELECT 1 FROM tenants WHERE name = ?", (name,)).fetchone() is None:
                self.store.insert_tenant(conn, id=new_tenant_id(), name=name, token=new_token(), bearer=new_bearer(),
                                         created_at=int(time.time() * 1000))
        self._reload()
        row = self.store.tenant_by_name(name)
        assert row is not None
        return row, True

    def authenticate(self, headers: Headers, faults: FaultBook, method: str, path: str) -> Row:
        """The caller's tenant, or 401. The reason never echoes the token."""
        token = headers.get("X-Auth-Token")
        if not token:
            raise _denied("X-Auth-Token is missing", "X-Auth-Token")
        tenant = self.by_token(token)
        if tenant is None:
            raise _denied("the token is unknown or has expired", "X-Auth-Token")
        if faults.token_expired(tenant["name"], method, path):
            raise _denied("the token has expired", "X-Auth-Token")
        authorization = headers.get("Authorization") or ""
        scheme, _, bearer = authorization.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(bearer.strip().encode(), tenant["bearer"].encode()):
            raise _denied("Authorization: Bearer is missing or does not belong to this token", "Authorization")
        tenant_id = headers.get("X-Tenant-Id")
        if tenant_id is not None and tenant_id != tenant["id"]:
            raise _denied("X-Tenant-Id does not match the token's tenant", "X-Tenant-Id")
        return tenant


def tenant_json(row: Row) -> dict[str, str]:
    return {"name": row["name"], "token": row["token"], "bearer": row["bearer"], "tenant_id": row["id"]}
