"""Service management: the rules of create, modify, delete, activation and deactivation.

Each action runs in one write transaction: settle what is due, check the service's state, validate
the body, then start an operation (operations.py) whose end applies the change. A failed check
raises before anything is written, so "400 and nothing changes" holds by construction.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from . import catalog, errors
from .errors import EmptyNotFound
from .faults import FaultBook
from .ids import new_id
from .operations import IN_PROGRESS_STATUS, Clockwork, now_ms, operation_json
from .store import Row, Store
from .validation import validate_create, validate_modify


class ServiceManager:
    def __init__(self, store: Store, clockwork: Clockwork, faults: FaultBook) -> None:
        self.store = store
        self.clock = clockwork
        self.faults = faults

    # -- reads ----------------------------------------------------------------------------------

    def list_services(self, tenant: Row) -> list[dict[str, Any]]:
        self.clock.settle()
        keys = SUMMARY_KEYS
        return [dict(zip(keys, row, strict=True)) for row in self.store.service_summaries(tenant["id"])]

    def get_service(self, tenant: Row, service_id: str) -> dict[str, Any]:
        self.clock.settle()
        return service_json(self._live(tenant, service_id), detail=True)

    def list_operations(self, tenant: Row, service_id: str) -> list[dict[str, Any]]:
        self.clock.settle()
        self._live(tenant, service_id)
        return [operation_json(op) for op in self.store.operations_of(service_id)]

    def get_operation(self, tenant: Row, service_id: str, operation_id: str) -> dict[str, Any] | None:
        """One operation; a deleted service's operations stay readable (to follow its Delete)."""
        self.clock.settle()
        if self.store.service(service_id, tenant["id"]) is None:
            raise EmptyNotFound
        op = self.store.operation(operation_id, service_id)
        return None if op is None else operation_json(op)

    def require(self, tenant: Row, service_id: str) -> None:
        """404 (empty) unless the tenant has this live service: checked before a body is read."""
        self._live(tenant, service_id)

    def _live(self, tenant: Row, service_id: str) -> Row:
        row = self.store.service(service_id, tenant["id"])
        if row is None or row["deleted"]:
            raise EmptyNotFound
        return row

    def _changeable(self, tenant: Row, service_id: str, *, what: str) -> Row:
        service = self._live(tenant, service_id)
        running = self.store.running_operation(service_id)
        if running is not None:
            raise errors.fail(500, errors.STATUS_INPROGRESS, "service_id",
                              f"operation {running['id']} ({running['kind']}) is in progress", service_id,
                              "wait until it is done, then try again")
        if service["status"] == "CreateFailed" and what != "delete":
            raise errors.fail(500, errors.CREATE_FAILED, "service_id",
                              f"the service failed to be created and cannot be {what}d", service_id,
                              "delete it and order a new one")
        return service

    # -- writes ---------------------------------------------------------------------------------

    def create(self, tenant: Row, body: Any, method: str, path: str) -> tuple[str, str]:
        now = now_ms()
        with self.store.write() as conn:
            self.clock.settle_locked(conn, now)
            in_use = self._names_in_use(conn, tenant["id"])
            request = validate_create(body, in_use)
            definition = request.definition
            service = {
                "id": new_id(),
                "tenant_id": tenant["id"],
                "definition_id": definition.id,
                "template_id": definition.template_id,
                "kind": definition.domain,
                "name": request.name,
                "description": request.description,
                "created_at": now,
                "updated_at": now,
                "status": "CreateInProgress",
                "active_status": "Deactive",
                "params": {definition.list_key: request.entries},
                "onfailure": request.onfailure,
            }
            self.store.insert_service(conn, **service)
            summary = ", ".join(f"{e['CloudVpnName']} {e['Bandwidth']} kbit/s" for e in request.entries)
            started = self.clock.start(
                conn, kind="Create", service=service, user_id=tenant["name"], now=now,
                content=f"Create {definition.domain} service {request.name} ({summary})",
                fail_reason=self.faults.operation_failure(method, path),
                payload={"rollback": request.onfailure == "rollback"},
            )
            # The connection carries traffic from the moment the create succeeds; a failed create
            # removes it again (operations.py), so it never shows traffic.
            for entry in request.entries:
                self.store.insert_connection(conn, tenant_id=tenant["id"], name=entry["CloudVpnName"],
                                             service_id=service["id"], started_at=-(-started.due_at // 1000),
                                             kbps=int(entry["Bandwidth"]))
        return service["id"], started.operation_id

    @staticmethod
    def _names_in_use(conn: Any, tenant_id: str) -> set[str]:
        """CloudVpnNames of the tenant's live services: those with a connection (running, being
        created or being deleted), and those of CreateFailed services, which have none but are
        still listed until deleted."""
        names = {r[0] for r in conn.execute(
            "SELECT name FROM connections WHERE tenant_id = ? AND ended_at IS NULL", (tenant_id,))}
        for kind, params in conn.execute(
                "SELECT kind, params FROM services WHERE tenant_id = ? AND deleted = 0 AND status = 'CreateFailed'",
                (tenant_id,)):
            names.update(e.get("CloudVpnName") for e in json.loads(params).get(f"{kind}List", []))
        return names

    def modify(self, tenant: Row, service_id: str, body: Any, method: str, path: str) -> str:
        now = now_ms()
        with self.store.write() as conn:
            self.clock.settle_locked(conn, now)
            service = self._changeable(tenant, service_id, what="update")
            definition = catalog.find(service["definition_id"]) or catalog.for_kind(service["kind"])
            request = validate_modify(body, definition, json.loads(service["params"]), service["name"],
                                      service["description"])
            content = f"Update service {service['name']}: " + ("; ".join(request.changes) or "no change")
            started = self.clock.start(
                conn, kind="Update", service=service, user_id=tenant["name"], now=now, content=content,
                fail_reason=self.faults.operation_failure(method, path),
                payload={"name": request.name, "description": request.description,
                         "params": {definition.list_key: request.entries},
                         "bandwidth": {vpn: new for vpn, (_old, new) in request.bandwidth.items()}},
            )
            self.store.update_service(conn, service_id, status=IN_PROGRESS_STATUS["Update"], updated_at=now)
        return started.operation_id

    def delete(self, tenant: Row, service_id: str, method: str, path: str) -> tuple[int, str]:
        """(HTTP status, operation id): 200 at once for a CreateFailed service, else 202."""
        now = now_ms()
        with self.store.write() as conn:
            self.clock.settle_locked(conn, now)
            service = self._changeable(tenant, service_id, what="delete")
            if service["status"] == "CreateFailed":
                operation_id = self.clock.record_done(conn, kind="Delete", service=service, user_id=tenant["name"],
                                                      at=now, content=f"Delete service {service['name']}")
                self.store.update_service(conn, service_id, status="Deleted", deleted=1, updated_at=now)
                return 200, operation_id
            if service["active_status"] == "Active":
                # IES deletes end to end: a live service is deactivated first, and the log says so.
                self.clock.record_done(conn, kind="Deactivate", service=service, user_id=tenant["name"], at=now,
                                       content=f"Deactivate service {service['name']} (part of its deletion)")
            started = self.clock.start(
                conn, kind="Delete", service=service, user_id=tenant["name"], now=now,
                content=f"Delete service {service['name']}",
                fail_reason=self.faults.operation_failure(method, path), payload={},
            )
            self.store.update_service(conn, service_id, status=IN_PROGRESS_STATUS["Delete"],
                                      active_status="Deactive", updated_at=now)
        return 202, started.operation_id

    def set_active(self, tenant: Row, service_id: str, active: bool, method: str, path: str) -> str:
        kind = "Activate" if active else "Deactivate"
        now = now_ms()
        with self.store.write() as conn:
            self.clock.settle_locked(conn, now)
            service = self._changeable(tenant, service_id, what=kind.lower())
            started = self.clock.start(
                conn, kind=kind, service=service, user_id=tenant["name"], now=now,
                content=f"{kind} service {service['name']}",
                fail_reason=self.faults.operation_failure(method, path),
                payload={"previous_active_status": service["active_status"]},
            )
            self.store.update_service(conn, service_id, status=IN_PROGRESS_STATUS[kind],
                                      active_status=IN_PROGRESS_STATUS[kind], updated_at=now)
        return started.operation_id


# The wire names of Store.SUMMARY_COLUMNS, in the same order (service_json gives the same keys).
SUMMARY_KEYS = ("service_id", "service_definition_id", "template_id", "name", "description", "service_type",
                "created_at", "status", "active_status")


def service_json(row: Row, *, detail: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service_id": row["id"],
        "service_definition_id": row["definition_id"],
        "template_id": row["template_id"],
        "name": row["name"],
        "description": row["description"],
        "service_type": row["kind"],
        "created_at": row["created_at"],
        "status": row["status"],
        "active_status": row["active_status"],
    }
    if not detail:
        return data
    params = json.loads(row["params"])
    entries = params.get(f"{row['kind']}List") or [{}]
    # The deck reads service_name, CloudVpnName and Bandwidth straight off the detail: give both
    # shapes, flattened from the first connection and nested as sent.
    data.update(
        updated_at=row["updated_at"],
        service_name=row["name"],
        CloudVpnName=entries[0].get("CloudVpnName"),
        Bandwidth=entries[0].get("Bandwidth"),
        parameters=params,
    )
    return data



BULK_MAX = 10_000


BULK_MAX_AGE_DAYS = 400


def bulk_create(store: Store, tenant: Row, count: Any, kind: Any, age_days: Any = 0) -> int:
    """Completed, active services at once, for benchmarks and paging tests (``/_sim/services/bulk``);
    ``age_days``: created that long ago, so that their connections have that much traffic behind them
    (a backtest or an auto-scale window reads the past)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= BULK_MAX:
        raise errors.fail(400, errors.BAD_PARAM, "count", f"must be an integer from 1 to {BULK_MAX}", count)
    if kind not in ("Site2DC", "Site2Site"):
        raise errors.fail(400, errors.BAD_PARAM, "kind", "must be Site2DC or Site2Site", kind)
    if isinstance(age_days, bool) or not isinstance(age_days, int) or not 0 <= age_days <= BULK_MAX_AGE_DAYS:
        raise errors.fail(400, errors.BAD_PARAM, "age_days", f"must be an integer from 0 to {BULK_MAX_AGE_DAYS}",
                          age_days)
    definition = catalog.for_kind(kind)
    batch = new_id()[:6].replace("-", "x").replace("_", "y")
    now = now_ms() - age_days * 86_400_000
    with store.write() as conn:
        for i in range(count):
            entry = _bulk_entry(kind, batch, i)
            service = {
                "id": new_id(), "tenant_id": tenant["id"], "definition_id": definition.id,
                "template_id": definition.template_id, "kind": kind, "name": f"bulk_{batch}_{i:05d}",
                "description": "bulk-created by the simulator", "created_at": now, "updated_at": now,
                "status": "Completed", "active_status": "Active", "params": {definition.list_key: [entry]},
                "onfailure": None, "seq": i,
            }
            store.insert_service(conn, **service)
            for kind_done in ("Create", "Activate"):
                store.insert_operation(conn, id=new_id(), service_id=service["id"], tenant_id=tenant["id"],
                                       kind=kind_done, user_id=tenant["name"], content=f"{kind_done} (bulk)",
                                       operate_at=now, due_at=now, will_fail=0, progress="done", result="success",
                                       finished_at=now)
            store.insert_connection(conn, tenant_id=tenant["id"], name=entry["CloudVpnName"],
                                    service_id=service["id"], started_at=now // 1000, kbps=int(entry["Bandwidth"]))
    return count


def _bulk_entry(kind: str, batch: str, i: int) -> dict[str, str]:
    serial = f"{batch.upper()}{i:06d}"
    side_a = {
        "CPE_A_Site": f"siteA{batch}{i}", "CPE_A_Type": "AR169FGW-L", "CPE_A_ESN": f"2150BULK{serial}",
        "CPE_A_Position": f"siteA{batch}{i}", "CPE_A_POP": "Manager_VPC",
    }
    common = {"CloudVpnName": f"BULK{batch}{i:05d}", "VNI": str(10_000 + i),
              "Bandwidth": str(20_000 + 10_000 * (i % 9))}
    if kind == "Site2DC":
        return {"VPC_ID": str(uuid.uuid4()), **common, **side_a,
                "cidr": f"10.{(i // 256) % 256}.{i % 256}.0", "cidrBlockSize": "24"}
    return {**common, **side_a, "cidr_A": f"10.{(i // 256) % 256}.{i % 256}.0", "cidrBlockSize_A": "24",
            "CPE_B_Site": f"siteB{batch}{i}", "CPE_B_Type": "AR161FGW-L", "CPE_B_ESN": f"2150BULB{serial}",
            "CPE_B_Position": f"siteB{batch}{i}", "CPE_B_POP": "Manager_VPC",
            "cidr_B": f"172.{16 + (i // 256) % 16}.{i % 256}.0", "cidrBlockSize_B": "24"}
