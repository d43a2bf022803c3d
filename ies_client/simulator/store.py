"""The simulator's own SQLite file: tenants, services, operations, connections, bandwidth history.

One connection per thread (sqlite3 objects must not cross threads) in WAL mode, so readers never
wait for the writer; every write goes through ``Store.write()``, which also holds a process-wide
lock: there is one writer process, and serialising its writers avoids SQLITE_BUSY retries.
Nothing here knows the API's rules; operations.py and api.py do.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, token TEXT NOT NULL UNIQUE,
    bearer TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS services (
    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, definition_id TEXT NOT NULL,
    template_id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, status TEXT NOT NULL,
    active_status TEXT NOT NULL, params TEXT NOT NULL, onfailure TEXT,
    deleted INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS services_tenant ON services (tenant_id, deleted, created_at);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY, service_id TEXT NOT NULL, tenant_id TEXT NOT NULL, kind TEXT NOT NULL,
    user_id TEXT NOT NULL, content TEXT NOT NULL, operate_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL, will_fail INTEGER NOT NULL, reason TEXT,
    progress TEXT NOT NULL, result TEXT, finished_at INTEGER, payload TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS operations_service ON operations (service_id, operate_at);
CREATE INDEX IF NOT EXISTS operations_due ON operations (progress, due_at);
CREATE TABLE IF NOT EXISTS connections (
    id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL, service_id TEXT NOT NULL,
    started_at INTEGER NOT NULL, ended_at INTEGER);
CREATE INDEX IF NOT EXISTS connections_name ON connections (tenant_id, name);
CREATE INDEX IF NOT EXISTS connections_service ON connections (service_id);
CREATE TABLE IF NOT EXISTS bandwidth_changes (
    connection_id INTEGER NOT NULL, at INTEGER NOT NULL, kbps INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS bandwidth_connection ON bandwidth_changes (connection_id, at);
"""

Row = sqlite3.Row


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.RLock()
        conn = self.conn()
        conn.executescript(SCHEMA)

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE in write()).
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested calls join the outer one."""
        with self._lock:
            conn = self.conn()
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- meta -----------------------------------------------------------------------------------

    def meta_get(self, key: str) -> str | None:
        row = self.conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def meta_set(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- tenants --------------------------------------------------------------------------------

    def tenants(self) -> list[Row]:
        return self.conn().execute("SELECT * FROM tenants ORDER BY name").fetchall()

    def tenant_by_name(self, name: str) -> Row | None:
        return self.conn().execute("SELECT * FROM tenants WHERE name = ?", (name,)).fetchone()

    def insert_tenant(self, conn: sqlite3.Connection, **row: Any) -> None:
        conn.execute(
            "INSERT INTO tenants (id, name, token, bearer, created_at) VALUES (:id, :name, :token, :bearer, :created_at)",
            row,
        )

    # -- services -------------------------------------------------------------------------------

    def service(self, service_id: str, tenant_id: str) -> Row | None:
        """A service of this tenant, deleted ones included (their operations stay readable)."""
        return (
            self.conn()
            .execute("SELECT * FROM services WHERE id = ? AND tenant_id = ?", (service_id, tenant_id))
            .fetchone()
        )

    SUMMARY_COLUMNS = ("id", "definition_id", "template_id", "name", "description", "kind", "created_at", "status",
                       "active_status")

    def service_summaries(self, tenant_id: str) -> list[tuple[Any, ...]]:
        """The list columns only, as plain tuples: the list of 1,000 services is a hot path."""
        conn = self.conn()
        cursor = conn.cursor()
        cursor.row_factory = None
        return cursor.execute(
            f"SELECT {', '.join(self.SUMMARY_COLUMNS)} FROM services WHERE tenant_id = ? AND deleted = 0"
            " ORDER BY created_at, seq, id",
            (tenant_id,),
        ).fetchall()

    def insert_service(self, conn: sqlite3.Connection, **row: Any) -> None:
        row.setdefault("seq", 0)
        row["params"] = json.dumps(row["params"])
        conn.execute(
            "INSERT INTO services (id, tenant_id, definition_id, template_id, kind, name, description,"
            " created_at, updated_at, status, active_status, params, onfailure, deleted, seq)"
            " VALUES (:id, :tenant_id, :definition_id, :template_id, :kind, :name, :description,"
            " :created_at, :updated_at, :status, :active_status, :params, :onfailure, 0, :seq)",
            row,
        )

    def update_service(self, conn: sqlite3.Connection, service_id: str, **changes: Any) -> None:
        if "params" in changes:
            changes["params"] = json.dumps(changes["params"])
        columns = ", ".join(f"{key} = :{key}" for key in changes)
        conn.execute(f"UPDATE services SET {columns} WHERE id = :id", {**changes, "id": service_id})

    # -- operations -----------------------------------------------------------------------------

    def insert_operation(self, conn: sqlite3.Connection, **row: Any) -> None:
        row = {"reason": None, "result": None, "finished_at": None, "payload": {}, **row}
        row["payload"] = json.dumps(row["payload"])
        conn.execute(
            "INSERT INTO operations (id, service_id, tenant_id, kind, user_id, content, operate_at, due_at,"
            " will_fail, reason, progress, result, finished_at, payload) VALUES (:id, :service_id,"
            " :tenant_id, :kind, :user_id, :content, :operate_at, :due_at, :will_fail, :reason, :progress,"
            " :result, :finished_at, :payload)",
            row,
        )

    def update_operation(self, conn: sqlite3.Connection, operation_id: str, **changes: Any) -> None:
        columns = ", ".join(f"{key} = :{key}" for key in changes)
        conn.execute(f"UPDATE operations SET {columns} WHERE id = :id", {**changes, "id": operation_id})

    def operation(self, operation_id: str, service_id: str) -> Row | None:
        return (
            self.conn()
            .execute("SELECT * FROM operations WHERE id = ? AND service_id = ?", (operation_id, service_id))
            .fetchone()
        )

    def operations_of(self, service_id: str) -> list[Row]:
        return (
            self.conn()
            .execute("SELECT * FROM operations WHERE service_id = ? ORDER BY operate_at, rowid", (service_id,))
            .fetchall()
        )

    def running_operation(self, service_id: str) -> Row | None:
        return (
            self.conn()
            .execute(
                "SELECT * FROM operations WHERE service_id = ? AND progress = 'inprogress' LIMIT 1", (service_id,)
            )
            .fetchone()
        )

    def due_operations(self, conn: sqlite3.Connection, now_ms: int) -> list[Row]:
        return conn.execute(
            "SELECT * FROM operations WHERE progress = 'inprogress' AND due_at <= ? ORDER BY due_at, rowid",
            (now_ms,),
        ).fetchall()

    def next_due(self) -> int | None:
        row = self.conn().execute("SELECT MIN(due_at) FROM operations WHERE progress = 'inprogress'").fetchone()
        return row[0]

    # -- connections and their bandwidth history ------------------------------------------------

    def insert_connection(
        self, conn: sqlite3.Connection, *, tenant_id: str, name: str, service_id: str, started_at: int, kbps: int
    ) -> int:
        cur = conn.execute(
            "INSERT INTO connections (tenant_id, name, service_id, started_at) VALUES (?, ?, ?, ?)",
            (tenant_id, name, service_id, started_at),
        )
        connection_id = int(cur.lastrowid or 0)
        conn.execute(
            "INSERT INTO bandwidth_changes (connection_id, at, kbps) VALUES (?, ?, ?)",
            (connection_id, started_at, kbps),
        )
        return connection_id

    def live_connection(self, conn: sqlite3.Connection, service_id: str, name: str) -> Row | None:
        return conn.execute(
            "SELECT * FROM connections WHERE service_id = ? AND name = ? AND ended_at IS NULL", (service_id, name)
        ).fetchone()

    def connections_named(self, tenant_id: str, name: str) -> list[Row]:
        return (
            self.conn()
            .execute("SELECT * FROM connections WHERE tenant_id = ? AND name = ? ORDER BY started_at", (tenant_id, name))
            .fetchall()
        )

    def bandwidth_history(self, connection_id: int) -> list[tuple[int, int]]:
        rows = (
            self.conn()
            .execute("SELECT at, kbps FROM bandwidth_changes WHERE connection_id = ? ORDER BY at, rowid", (connection_id,))
            .fetchall()
        )
        return [(int(r[0]), int(r[1])) for r in rows]
