"""Routing and the handlers of every /rest call: HTTP in (a Request), HTTP out (a Response).

Handlers translate between the wire and the service manager, traffic, fault and load modules; they
hold no rules of their own beyond the order of checks: unknown path (404, empty), wrong method
(405), authentication (401), then the call itself.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from . import catalog, errors, traffic_model
from .app import Simulator
from .errors import EmptyNotFound, IesError, Problem
from .operations import now_ms
from .service_manager import bulk_create
from .store import Row
from .tenants import Headers, tenant_json
from .traffic_model import Lifetime

API = "/rest"
SM = f"{API}/servicemanager/v1/services"


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Headers
    body: bytes
    client: str

    def json(self) -> Any:
        if not self.body.strip():
            raise errors.fail(400, errors.BAD_PARAM, "body", "a JSON body is required")
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise errors.fail(400, errors.BAD_PARAM, "body", f"is not valid JSON: {exc}") from None


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Response(status, body, "application/json", headers or [])


def error_response(exc: IesError) -> Response:
    return json_response(exc.status, exc.body())


def empty_not_found() -> Response:
    return Response(404)


def location(service_id: str, operation_id: str) -> list[tuple[str, str]]:
    return [("Location", f"{SM}/{service_id}/operations/{operation_id}")]


Handler = Callable[..., Response]


@dataclass(frozen=True, slots=True)
class Route:
    pattern: re.Pattern[str]
    methods: dict[str, Handler]
    auth: str  # "tenant" | "none" | "admin"


class Api:
    def __init__(self, sim: Simulator, openapi_document: bytes) -> None:
        self.sim = sim
        self.openapi = openapi_document
        seg = r"([^/]+)"
        defs = f"{API}/catalog/v1/servicedefs"
        self.routes: list[Route] = [
            Route(re.compile(f"^{API}/openapi\\.json$"), {"GET": self.get_openapi}, "none"),
            Route(re.compile(f"^{defs}$"), {"GET": self.list_definitions}, "tenant"),
            Route(re.compile(f"^{defs}/{seg}/details?$"), {"GET": self.get_definition}, "tenant"),
            Route(re.compile(f"^{SM}$"), {"GET": self.list_services, "POST": self.create_service}, "tenant"),
            Route(re.compile(f"^{SM}/{seg}$"),
                  {"GET": self.get_service, "PUT": self.modify_service, "DELETE": self.delete_service}, "tenant"),
            Route(re.compile(f"^{SM}/{seg}/operations$"), {"GET": self.list_operations}, "tenant"),
            Route(re.compile(f"^{SM}/{seg}/operations/{seg}$"), {"GET": self.get_operation}, "tenant"),
            Route(re.compile(f"^{SM}/{seg}/activation$"), {"POST": self.activate}, "tenant"),
            Route(re.compile(f"^{SM}/{seg}/deactivation$"), {"POST": self.deactivate}, "tenant"),
            Route(re.compile(f"^{API}/cloudvpnwatch/v1/traffic/connections/{seg}/{seg}$"),
                  {"GET": self.get_traffic}, "tenant"),
            Route(re.compile(f"^{API}/_sim/tenants$"), {"GET": self.sim_tenants, "POST": self.sim_new_tenant},
                  "admin"),
            Route(re.compile(f"^{API}/_sim/services/bulk$"), {"POST": self.sim_bulk}, "admin"),
            Route(re.compile(f"^{API}/_sim/faults$"),
                  {"GET": self.sim_faults, "POST": self.sim_add_fault, "DELETE": self.sim_clear_faults}, "admin"),
            Route(re.compile(f"^{API}/_sim/faults/{seg}$"), {"DELETE": self.sim_remove_fault}, "admin"),
            Route(re.compile(f"^{API}/_sim/traffic/load$"),
                  {"GET": self.sim_load, "POST": self.sim_add_load, "DELETE": self.sim_clear_load}, "admin"),
            Route(re.compile(f"^{API}/_sim/traffic/load/{seg}$"), {"DELETE": self.sim_remove_load}, "admin"),
        ]

    # -- dispatch -------------------------------------------------------------------------------

    def dispatch(self, req: Request) -> Response:
        for route in self.routes:
            match = route.pattern.match(req.path)
            if match is None:
                continue
            handler = route.methods.get(req.method)
            if handler is None:
                allow = ", ".join(route.methods)
                return Response(405, headers=[("Allow", allow)])
            args = [unquote(group, errors="replace") for group in match.groups()]
            try:
                if route.auth == "admin":
                    self._check_admin(req)
                    return handler(req, *args)
                if route.auth == "tenant":
                    tenant = self.sim.tenants.authenticate(req.headers, self.sim.faults, req.method, req.path)
                    return handler(req, tenant, *args)
                return handler(req, *args)
            except IesError as exc:
                return error_response(exc)
            except EmptyNotFound:
                return empty_not_found()
        return empty_not_found()

    def _check_admin(self, req: Request) -> None:
        settings = self.sim.settings
        key = req.headers.get("X-Sim-Key")
        if settings.admin_key and key and hmac.compare_digest(key.encode(), settings.admin_key.encode()):
            return
        if settings.trust_loopback and (req.client.startswith("127.") or req.client in ("::1", "::ffff:127.0.0.1")):
            return
        raise errors.fail(403, errors.PERMISSION_DENIED, "X-Sim-Key",
                          "simulator endpoints answer only loopback callers or a valid X-Sim-Key", "",
                          "call from the simulator's host or send X-Sim-Key: $IES_SIM_ADMIN_KEY")

    # -- documentation ----------------------------------------------------------------------------

    def get_openapi(self, req: Request) -> Response:
        return Response(200, self.openapi, "application/json")

    # -- catalog ----------------------------------------------------------------------------------

    def list_definitions(self, req: Request, tenant: Row) -> Response:
        return json_response(200, {"data": [d.as_list_item() for d in catalog.DEFINITIONS]})

    def get_definition(self, req: Request, tenant: Row, definition_id: str) -> Response:
        definition = catalog.find(definition_id)
        if definition is None:
            raise errors.fail(404, errors.TEMPLATE_NOT_EXIST, "servicedefId", "no such service definition",
                              definition_id, "pick one from GET /catalog/v1/servicedefs")
        return json_response(200, definition.as_detail())

    # -- services ---------------------------------------------------------------------------------

    def list_services(self, req: Request, tenant: Row) -> Response:
        services = self.sim.services.list_services(tenant)
        if not services:
            raise EmptyNotFound  # IES's quirk: no services is a 404 with an empty body
        return json_response(200, {"services": services})

    def get_service(self, req: Request, tenant: Row, service_id: str) -> Response:
        return json_response(200, {"service": self.sim.services.get_service(tenant, service_id)})

    def create_service(self, req: Request, tenant: Row) -> Response:
        service_id, operation_id = self.sim.services.create(tenant, req.json(), req.method, req.path)
        return json_response(202, {"service": {"service_id": service_id, "operation_id": operation_id}},
                             location(service_id, operation_id))

    def modify_service(self, req: Request, tenant: Row, service_id: str) -> Response:
        self.sim.services.require(tenant, service_id)  # an unknown service is 404 before any 400
        operation_id = self.sim.services.modify(tenant, service_id, req.json(), req.method, req.path)
        return json_response(202, {"operation_id": operation_id}, location(service_id, operation_id))

    def delete_service(self, req: Request, tenant: Row, service_id: str) -> Response:
        status, operation_id = self.sim.services.delete(tenant, service_id, req.method, req.path)
        return json_response(status, {"operation_id": operation_id}, location(service_id, operation_id))

    def activate(self, req: Request, tenant: Row, service_id: str) -> Response:
        operation_id = self.sim.services.set_active(tenant, service_id, True, req.method, req.path)
        return json_response(202, {"operation_id": operation_id}, location(service_id, operation_id))

    def deactivate(self, req: Request, tenant: Row, service_id: str) -> Response:
        operation_id = self.sim.services.set_active(tenant, service_id, False, req.method, req.path)
        return json_response(202, {"operation_id": operation_id}, location(service_id, operation_id))

    # -- operations -------------------------------------------------------------------------------

    def _operations_missing(self, req: Request) -> bool:
        return self.sim.faults.operations_endpoint_missing(req.method, req.path)

    def list_operations(self, req: Request, tenant: Row, service_id: str) -> Response:
        if self._operations_missing(req):
            raise EmptyNotFound
        return json_response(200, {"operations": self.sim.services.list_operations(tenant, service_id)})

    def get_operation(self, req: Request, tenant: Row, service_id: str, operation_id: str) -> Response:
        if self._operations_missing(req):
            raise EmptyNotFound
        return json_response(200, {"operation": self.sim.services.get_operation(tenant, service_id, operation_id)})

    # -- traffic ----------------------------------------------------------------------------------

    def get_traffic(self, req: Request, tenant: Row, connection: str, metric: str) -> Response:
        query = traffic_model.parse_query(connection, metric, req.query)
        self.sim.clock.settle()
        rows = self.sim.store.connections_named(tenant["id"], connection)
        if not rows:
            raise EmptyNotFound
        lifetimes = [
            Lifetime(row["started_at"], row["ended_at"], self.sim.store.bandwidth_history(row["id"])) for row in rows
        ]
        demands = self.sim.load.demands(tenant["name"], connection, query.direction)
        return Response(200, traffic_model.answer(query, lifetimes, now_ms() // 1000, demands), "application/json")

    # -- simulator-only ---------------------------------------------------------------------------

    def sim_tenants(self, req: Request) -> Response:
        return json_response(200, {"tenants": [tenant_json(row) for row in self.sim.tenants.all()]})

    def sim_new_tenant(self, req: Request) -> Response:
        body = req.json()
        row, _created = self.sim.tenants.ensure(body.get("name") if isinstance(body, dict) else None)
        return json_response(201, tenant_json(row))

    def sim_bulk(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            raise errors.fail(400, errors.BAD_PARAM, "body", "must be a JSON object", body)
        tenant = self.sim.store.tenant_by_name(body.get("tenant") or "") if isinstance(body.get("tenant"), str) else None
        if tenant is None:
            raise errors.fail(400, errors.BAD_PARAM, "tenant", "no such tenant", body.get("tenant"))
        created = bulk_create(self.sim.store, tenant, body.get("count"), body.get("kind", "Site2DC"),
                              body.get("age_days", 0))
        return json_response(201, {"created": created})

    def sim_faults(self, req: Request) -> Response:
        return json_response(200, {"faults": [rule.as_json() for rule in self.sim.faults.rules()]})

    def sim_add_fault(self, req: Request) -> Response:
        rule = self.sim.faults.add(req.json())
        return json_response(201, {"id": rule.id, "fault": rule.as_json()})

    def sim_clear_faults(self, req: Request) -> Response:
        self.sim.faults.clear()
        return json_response(200, {"faults": []})

    def sim_remove_fault(self, req: Request, rule_id: str) -> Response:
        if not self.sim.faults.remove(rule_id):
            raise EmptyNotFound
        return json_response(200, {"removed": rule_id})

    def _load_target(self, tenant_name: str, connection: str) -> list[Problem]:
        """A rule for a connection that never existed would change nothing, silently: a typo must
        show. Any life counts (one being created, or deleted), as traffic answers for all of them."""
        tenant = self.sim.store.tenant_by_name(tenant_name)
        if tenant is None:
            return [Problem("tenant", "no such tenant", tenant_name[:200], "see GET /rest/_sim/tenants")]
        if not self.sim.store.connections_named(tenant["id"], connection):
            return [Problem("connection", f"tenant {tenant_name} has no connection of that name", connection[:200],
                            "give the CloudVpnName of one of its services")]
        return []

    def sim_load(self, req: Request) -> Response:
        return json_response(200, {"rules": [rule.as_json() for rule in self.sim.load.rules()]})

    def sim_add_load(self, req: Request) -> Response:
        rule = self.sim.load.add(req.json(), self._load_target)
        return json_response(201, {"id": rule.id, "rule": rule.as_json()})

    def sim_clear_load(self, req: Request) -> Response:
        self.sim.load.clear()
        return json_response(200, {"rules": []})

    def sim_remove_load(self, req: Request, rule_id: str) -> Response:
        if not self.sim.load.remove(rule_id):
            raise EmptyNotFound
        return json_response(200, {"removed": rule_id})
