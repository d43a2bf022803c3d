"""Operations over time: how long each kind takes, and what it does to a service when it ends.

Nothing runs in the background. An operation is stored with its start and the moment it will end
(``due_at``: its full duration, or 70 % of it when it is to fail); ``settle()`` applies every
operation whose moment has passed, stamping it with that moment, not with the time it happens to be
noticed. So a simulator stopped mid-operation and started again reports exactly what it would have
reported had it kept running.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any

from .ids import new_id
from .store import Row, Store

BASE_SECONDS = {"Create": 600, "Update": 240, "Delete": 300, "Activate": 60, "Deactivate": 60}
IN_PROGRESS_STATUS = {
    "Create": "CreateInProgress",
    "Update": "UpdateInProgress",
    "Delete": "DeleteInProgress",
    "Activate": "ActivateInProgress",
    "Deactivate": "DeactivateInProgress",
}
FAIL_AT = 0.7


def now_ms() -> int:
    return int(time.time() * 1000)


def duration_ms(kind: str, operation_id: str, time_scale: float) -> int:
    """The nominal duration, ±10 % decided by the operation id (same id, same duration)."""
    jitter = int.from_bytes(hashlib.blake2b(operation_id.encode(), digest_size=4).digest(), "big") / 0xFFFFFFFF
    seconds = BASE_SECONDS[kind] * (0.9 + 0.2 * jitter) / time_scale
    return max(1, int(seconds * 1000))


@dataclass(slots=True)
class Started:
    operation_id: str
    due_at: int


class Clockwork:
    """Starts operations and settles those that are due. One per process."""

    def __init__(self, store: Store, time_scale: float) -> None:
        self.store = store
        self.time_scale = time_scale
        self._due_lock = threading.Lock()
        # The earliest moment anything changes: lets settle() skip the database on most requests.
        self._next_due: int | None = store.next_due()

    def start(
        self,
        conn: sqlite3.Connection,
        *,
        kind: str,
        service: Row | dict[str, Any],
        user_id: str,
        content: str,
        now: int,
        fail_reason: str | None,
        payload: dict[str, Any],
    ) -> Started:
        operation_id = new_id()
        duration = duration_ms(kind, operation_id, self.time_scale)
        due_at = now + (int(duration * FAIL_AT) if fail_reason else duration)
        self.store.insert_operation(
            conn,
            id=operation_id,
            service_id=service["id"],
            tenant_id=service["tenant_id"],
            kind=kind,
            user_id=user_id,
            content=content,
            operate_at=now,
            due_at=due_at,
            will_fail=1 if fail_reason else 0,
            progress="inprogress",
            payload={**payload, "fail_reason": fail_reason, "duration_ms": duration},
        )
        with self._due_lock:
            if self._next_due is None or due_at < self._next_due:
                self._next_due = due_at
        return Started(operation_id, due_at)

    def record_done(
        self, conn: sqlite3.Connection, *, kind: str, service: Row | dict[str, Any], user_id: str, content: str, at: int
    ) -> str:
        """An operation that is over as soon as it starts (the Activate of a create, …)."""
        operation_id = new_id()
        self.store.insert_operation(
            conn,
            id=operation_id,
            service_id=service["id"],
            tenant_id=service["tenant_id"],
            kind=kind,
            user_id=user_id,
            content=content,
            operate_at=at,
            due_at=at,
            will_fail=0,
            progress="done",
            result="success",
            finished_at=at,
        )
        return operation_id

    def settle(self, now: int | None = None) -> None:
        now = now_ms() if now is None else now
        next_due = self._next_due
        if next_due is None or now < next_due:
            return
        with self.store.write() as conn:
            self.settle_locked(conn, now)

    def settle_locked(self, conn: sqlite3.Connection, now: int) -> None:
        """Apply every due operation, oldest first; the caller holds the write transaction."""
        for operation in self.store.due_operations(conn, now):
            self._finish(conn, operation)
        with self._due_lock:
            self._next_due = self.store.next_due()

    def _finish(self, conn: sqlite3.Connection, op: Row) -> None:
        at = int(op["due_at"])
        payload = json.loads(op["payload"])
        failed = bool(op["will_fail"])
        service = conn.execute("SELECT * FROM services WHERE id = ?", (op["service_id"],)).fetchone()
        reason = payload.get("fail_reason") if failed else None
        kind = op["kind"]
        sid = op["service_id"]
        store = self.store
        if kind == "Create":
            if failed:
                conn.execute("DELETE FROM bandwidth_changes WHERE connection_id IN"
                             " (SELECT id FROM connections WHERE service_id = ?)", (sid,))
                conn.execute("DELETE FROM connections WHERE service_id = ?", (sid,))
                if payload.get("rollback"):
                    reason = f"{reason}; everything created so far was rolled back"
                    store.update_service(conn, sid, status="CreateFailed", active_status="Deactive", deleted=1,
                                         updated_at=at)
                else:
                    store.update_service(conn, sid, status="CreateFailed", active_status="Deactive", updated_at=at)
            else:
                store.update_service(conn, sid, status="Completed", active_status="Active", updated_at=at)
                self.record_done(conn, kind="Activate", service=service, user_id=op["user_id"], at=at,
                                 content=f"Activate service {service['name']} (part of its creation)")
        elif kind == "Update":
            if failed:
                store.update_service(conn, sid, status="Failed", updated_at=at)
            else:
                store.update_service(conn, sid, status="Completed", name=payload["name"],
                                     description=payload["description"], params=payload["params"], updated_at=at)
                for vpn, kbps in payload.get("bandwidth", {}).items():
                    connection = store.live_connection(conn, sid, vpn)
                    if connection is not None:
                        conn.execute("INSERT INTO bandwidth_changes (connection_id, at, kbps) VALUES (?, ?, ?)",
                                     (connection["id"], at // 1000, int(kbps)))
        elif kind == "Delete":
            if failed:
                store.update_service(conn, sid, status="Failed", updated_at=at)
            else:
                store.update_service(conn, sid, status="Deleted", deleted=1, updated_at=at)
                conn.execute("UPDATE connections SET ended_at = ? WHERE service_id = ? AND ended_at IS NULL",
                             (at // 1000, sid))
        elif kind in ("Activate", "Deactivate"):
            if failed:
                store.update_service(conn, sid, status="Failed", active_status=payload["previous_active_status"],
                                     updated_at=at)
            else:
                active = "Active" if kind == "Activate" else "Deactive"
                store.update_service(conn, sid, status="Completed", active_status=active, updated_at=at)
        store.update_operation(conn, op["id"], progress="done", result="failed" if failed else "success",
                               reason=reason, finished_at=at)


def operation_json(op: Row) -> dict[str, Any]:
    return {
        "operation_id": op["id"],
        "operation": op["kind"],
        "service_id": op["service_id"],
        "user_id": op["user_id"],
        "operation_content": op["content"],
        "progress": op["progress"],
        "result": op["result"],
        "reason": op["reason"],
        "operate_at": op["operate_at"],
        "finished_at": op["finished_at"],
    }
