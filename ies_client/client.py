"""The IES client: one method per IES call, typed results, IES's status quirks.

Plain Python (no Django import), so Celery tasks, the CLI, benchmarks and tests use it alike::

    from ies_client.client import IESCredentials, client_for

    ies = client_for("http://127.0.0.1:17100/rest", IESCredentials(token, bearer, tenant_id))
    for service in ies.list_services():
        print(service.name, service.bandwidth_kbps)

Wire names and shapes are translated in :mod:`ies_client.wire`; HTTP, retries and logging live in
:mod:`ies_client.transport`; tracking without the operations endpoint in :mod:`ies_client.tracking`.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from ies_client import tracking, wire
from ies_client.breaker import DEFAULT_FAILURES, DEFAULT_RESET_S, DEFAULT_TRIAL_S, BreakerConfig, BreakerStore
from ies_client.errors import IESNotFound, IESProtocolError
from ies_client.models import (
    Direction,
    IESCredentials,
    Metric,
    Operation,
    OperationKind,
    OperationRef,
    Service,
    ServiceDefinition,
    ServiceDefinitionDetail,
    TrafficSeries,
)
from ies_client.redact import register_secret
from ies_client.transport import Transport, new_session

__all__ = ["IESClient", "IESCredentials", "client_for", "clear_client_registry", "normalise_base_url"]

METRICS: tuple[str, ...] = tuple(Metric)

_SERVICES = "/servicemanager/v1/services"
_SERVICEDEFS = "/catalog/v1/servicedefs"
# Path templates: the circuit breakers' keys and the metrics' labels (one per kind of call, no ids).
_SERVICE = _SERVICES + "/{id}"
_OPERATIONS = _SERVICE + "/operations"
_OPERATION = _OPERATIONS + "/{id}"
_TRAFFIC = "/cloudvpnwatch/v1/traffic/connections/{name}/{metric}"


def _seg(value: str) -> str:
    """One path segment, quoted: an id must never add a segment (``../``) or a query."""
    if not value:
        raise ValueError("empty id")
    return quote(str(value), safe="")


def normalise_base_url(base_url: str) -> str:
    """``http://host:17100/rest/`` → ``http://host:17100/rest``. The URL must end in ``/rest``,
    like IES's, so that a misconfigured base (the host only) fails at once, not on the first call."""
    url = (base_url or "").strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError("the IES base URL must start with http:// or https://")
    if not url.endswith("/rest"):
        raise ValueError("the IES base URL must end in /rest (e.g. https://ies.example:17100/rest)")
    return url


class IESClient:
    """A client for one IES and one tenant, with its own pooled ``requests.Session``.

    Args:
        base_url: ``https://host:17100/rest`` (a trailing slash is fine).
        credentials: the tenant's token, bearer and (if known) tenant id; registered with
            :func:`ies_client.redact.register_secret` so that no log shows them.
        connect_timeout, read_timeout: seconds, per attempt.
        verify_tls: check IES's certificate (the portal passes ``IES_VERIFY_TLS``); a path to a CA
            bundle checks it against that CA (an IES with an in-house certificate).
        retries: extra attempts for reads (GET) that failed on the way; writes are not repeated
            unless the connection provably never opened (see :mod:`ies_client.transport`).
        backoff: base of the exponential backoff, seconds (full jitter).
        use_operations_endpoint: False on an IES known to lack ``…/operations``: tracking then
            reads the service's status instead.
        session: a ``requests.Session`` to share; by default the client makes and owns one.
        breaker_failures: consecutive failures (timeouts, lost connections, 5xx, 429) of one
            endpoint that open its circuit breaker (see :mod:`ies_client.breaker`).
        breaker_reset: seconds an open breaker refuses calls before one trial request may go.
        breaker_trial_timeout: seconds after which a trial that never ended (its process died)
            is given up and another caller may try.
        breaker_read_timeouts: False for a client with a short read timeout (pages): its read
            timeouts count only toward the endpoint's page breaker, which only such clients obey
            (slow is not down: the workers' longer timeout may still be met). Its other failures
            count toward the endpoint's breaker, as every client's do.
        breaker_store: where breakers keep their state; None: the process's
            (:func:`ies_client.breaker.configure`, in memory unless configured).
    """

    def __init__(
        self,
        base_url: str,
        credentials: IESCredentials,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        verify_tls: bool | str = True,
        retries: int = 3,
        backoff: float = 0.2,
        use_operations_endpoint: bool = True,
        session: requests.Session | None = None,
        breaker_failures: int = DEFAULT_FAILURES,
        breaker_reset: float = DEFAULT_RESET_S,
        breaker_store: BreakerStore | None = None,
        breaker_trial_timeout: float = DEFAULT_TRIAL_S,
        breaker_read_timeouts: bool = True,
    ) -> None:
        if not isinstance(credentials, IESCredentials):
            raise TypeError("credentials must be an IESCredentials")
        if not credentials.token or not credentials.bearer:
            raise ValueError("credentials need a token and a bearer")
        self.base_url = normalise_base_url(base_url)
        self.credentials = credentials
        register_secret(credentials.token)
        register_secret(credentials.bearer)
        self.options: dict[str, Any] = {
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "verify_tls": verify_tls,
            "retries": retries,
            "backoff": backoff,
            "use_operations_endpoint": use_operations_endpoint,
            "breaker_failures": breaker_failures,
            "breaker_reset": breaker_reset,
            "breaker_store": breaker_store,
            "breaker_trial_timeout": breaker_trial_timeout,
            "breaker_read_timeouts": breaker_read_timeouts,
        }
        self.use_operations_endpoint = use_operations_endpoint
        self._owns_session = session is None
        self.session = session if session is not None else new_session(verify_tls)
        self._transport = Transport(
            self.base_url, credentials, session=self.session, connect_timeout=connect_timeout,
            read_timeout=read_timeout, retries=retries, backoff=backoff, verify_tls=verify_tls,
            breaker=BreakerConfig(failure_threshold=max(1, int(breaker_failures)), reset_timeout=breaker_reset,
                                  trial_timeout=breaker_trial_timeout),
            breaker_store=breaker_store, read_timeouts_count=breaker_read_timeouts,
        )
        # OPEN-O serves a definition's detail at /detail, the deck at /details: remember which works.
        self._detail_suffix = "details"
        self._variants: dict[tuple[tuple[str, Any], ...], IESClient] = {}  # see client_for

    def __repr__(self) -> str:
        return f"<IESClient {self.base_url} {self.credentials!r}>"

    def with_options(self, **options: Any) -> IESClient:
        """A client with other timeouts/retries that shares this one's session (and pool).

        E.g. a web view's cheap read: ``client_for(...).with_options(read_timeout=2, retries=0)``.
        """
        merged = {**self.options, **options}
        return IESClient(self.base_url, self.credentials, session=self.session, **merged)

    def close(self) -> None:
        """Close the pooled connections, if this client owns its session."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> IESClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- catalog ------------------------------------------------------------------------------

    def list_service_definitions(self) -> list[ServiceDefinition]:
        """The definitions the tenant may see (check ``.orderable`` before offering one)."""
        answer = self._transport.request("GET", _SERVICEDEFS, empty_404_ok=True, endpoint=_SERVICEDEFS)
        if answer.status == 404:  # the same quirk as the service list: "none" is a bare 404
            return []
        return wire.parse_definitions(self._require(answer.body, "service definitions"))

    def get_service_definition(self, definition_id: str) -> ServiceDefinitionDetail:
        """One definition with its template id and parameter fields.

        Asks ``/details`` (the deck) and, when that path answers 404 with an empty body (an
        endpoint the IES lacks), ``/detail`` (OPEN-O). A 404 with an IES error body means the
        definition is unknown: :class:`IESNotFound` at once.
        """
        base = f"{_SERVICEDEFS}/{_seg(definition_id)}/"
        suffixes = [self._detail_suffix, "detail" if self._detail_suffix == "details" else "details"]
        for suffix in suffixes:
            answer = self._transport.request("GET", base + suffix, empty_404_ok=True,
                                             endpoint=f"{_SERVICEDEFS}/{{id}}/{suffix}")
            if answer.status != 404:
                self._detail_suffix = suffix
                return wire.parse_definition_detail(self._require(answer.body, "a service definition"))
        raise IESNotFound("IES does not know this service definition.", status=404, method="GET", path=base)

    # -- services -----------------------------------------------------------------------------

    def list_services(self) -> list[Service]:
        """The tenant's services. IES answers "none" with a 404 and an empty body: that is []."""
        answer = self._transport.request("GET", _SERVICES, empty_404_ok=True, endpoint=_SERVICES)
        if answer.status == 404:
            return []
        return wire.parse_services(self._require(answer.body, "services"))

    def get_service(self, service_id: str) -> Service:
        """One service, with its parameters. Unknown (or another tenant's): :class:`IESNotFound`."""
        answer = self._transport.request("GET", f"{_SERVICES}/{_seg(service_id)}", endpoint=_SERVICE)
        return wire.parse_service_detail(self._require(answer.body, "a service"))

    def find_services_by_name(self, name: str) -> list[Service]:
        """Services whose name is exactly ``name`` (IES has no filter: this lists and picks).

        The way to reconcile a create whose answer was lost (``maybe_applied``): look for the name.
        """
        return [s for s in self.list_services() if s.name == name]

    def create_service(
        self,
        *,
        name: str,
        definition: ServiceDefinitionDetail | tuple[str, str, str],
        parameters: Mapping[str, Any],
        description: str = "",
        rollback_on_failure: bool = True,
    ) -> OperationRef:
        """Order a service (IES creates and activates it: about 10 minutes on a real IES).

        ``definition`` is a detail from :meth:`get_service_definition` or a
        ``(definition_id, template_id, list_key)`` tuple. ``parameters`` are the connection's
        values (``CloudVpnName``, ``Bandwidth``…); they are sent as strings. With
        ``rollback_on_failure`` IES removes what a failed create made.
        """
        method, path, body = self.describe_create(name=name, definition=definition, parameters=parameters,
                                                  description=description, rollback_on_failure=rollback_on_failure)
        answer = self._transport.request(method, path, json_body=body, endpoint=_SERVICES)
        return wire.parse_operation_ref(answer.body, location=answer.location, service_id=None)

    def describe_create(
        self,
        *,
        name: str,
        definition: ServiceDefinitionDetail | tuple[str, str, str],
        parameters: Mapping[str, Any],
        description: str = "",
        rollback_on_failure: bool = True,
    ) -> tuple[str, str, dict[str, Any]]:
        """The request :meth:`create_service` sends (method, path under the base URL, body), unsent:
        what a dry run shows. The headers (the tenant's token) are not part of it."""
        if isinstance(definition, ServiceDefinitionDetail):
            def_id, template_id, list_key = definition.id, definition.template_id, definition.list_key
        else:
            def_id, template_id, list_key = definition
        if not list_key:
            raise ValueError("this definition has no parameter list key: it cannot be ordered")
        body = wire.build_create_body(
            name=name, description=description, definition_id=def_id, template_id=template_id,
            list_key=list_key, parameters=parameters, rollback_on_failure=rollback_on_failure,
        )
        return "POST", _SERVICES, body

    def modify_service(
        self,
        service_id: str,
        *,
        list_key: str,
        cloud_vpn_name: str,
        bandwidth_kbps: int | None = None,
        name: str | None = None,
        description: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> OperationRef:
        """Change a service (the deck: its bandwidth). Only what is given is sent.

        ``list_key`` and ``cloud_vpn_name`` name the connection (``Service.list_key`` and
        ``Service.cloud_vpn_name``); ``extra`` holds other connection values to change.
        """
        if bandwidth_kbps is None and name is None and description is None and not extra:
            raise ValueError("nothing to change")
        if bandwidth_kbps is not None and (isinstance(bandwidth_kbps, bool) or not isinstance(bandwidth_kbps, int)):
            raise TypeError("bandwidth_kbps must be an int of kbit/s")
        body = wire.build_modify_body(
            list_key=list_key, cloud_vpn_name=cloud_vpn_name, bandwidth_kbps=bandwidth_kbps,
            name=name, description=description, extra=extra,
        )
        answer = self._transport.request("PUT", f"{_SERVICES}/{_seg(service_id)}", json_body=body, endpoint=_SERVICE)
        return wire.parse_operation_ref(answer.body, location=answer.location, service_id=service_id)

    def describe_change_bandwidth(self, service: Service, kbps: int) -> tuple[str, str, dict[str, Any]]:
        """The request :meth:`change_bandwidth` sends (method, path, body), unsent."""
        if not service.cloud_vpn_name:
            raise ValueError("the service's connection name (CloudVpnName) is unknown: read the service first")
        body = wire.build_modify_body(list_key=service.connection_list_key, cloud_vpn_name=service.cloud_vpn_name,
                                      bandwidth_kbps=kbps, name=None, description=None, extra=None)
        return "PUT", f"{_SERVICES}/{_seg(service.service_id)}", body

    def describe_delete(self, service_id: str) -> tuple[str, str, None]:
        """The request :meth:`delete_service` sends (method, path, no body), unsent."""
        return "DELETE", f"{_SERVICES}/{_seg(service_id)}", None

    def change_bandwidth(self, service: Service, kbps: int) -> OperationRef:
        """Change a service's bandwidth to ``kbps`` (kbit/s): the deck's scaling scenario.

        ``service`` names the connection: its id, its ``cloud_vpn_name`` and where its entry sits
        (:attr:`Service.connection_list_key`, from the list key IES used or else the service's kind).
        A service read from IES has all three; a caller that knows only the id, the kind and the
        connection name builds ``Service(service_id=…, name=…, kind=…, cloud_vpn_name=…)``.
        """
        if not service.cloud_vpn_name:
            raise ValueError("the service's connection name (CloudVpnName) is unknown: read the service first")
        return self.modify_service(
            service.service_id, list_key=service.connection_list_key, cloud_vpn_name=service.cloud_vpn_name,
            bandwidth_kbps=kbps,
        )

    def delete_service(self, service_id: str) -> OperationRef | None:
        """Delete a service: the operation to track, or None when IES deleted it at once (it answers
        200 for a CreateFailed service; whatever the body names is already over)."""
        answer = self._transport.request("DELETE", f"{_SERVICES}/{_seg(service_id)}", endpoint=_SERVICE)
        if answer.status != 202:
            return None
        return wire.parse_operation_ref(answer.body, location=answer.location, service_id=service_id)

    def activate_service(self, service_id: str) -> OperationRef:
        return self._activation(service_id, activate=True)

    def deactivate_service(self, service_id: str) -> OperationRef:
        return self._activation(service_id, activate=False)

    def _activation(self, service_id: str, *, activate: bool) -> OperationRef:
        path = wire.build_activation_path(_seg(service_id), activate)
        answer = self._transport.request("POST", path, endpoint=wire.build_activation_path("{id}", activate))
        return wire.parse_operation_ref(answer.body, location=answer.location, service_id=service_id)

    # -- operations ---------------------------------------------------------------------------

    def list_operations(self, service_id: str) -> list[Operation]:
        """The service's operation log. An IES without the endpoint answers 404: IESNotFound."""
        answer = self._transport.request("GET", f"{_SERVICES}/{_seg(service_id)}/operations", endpoint=_OPERATIONS)
        return wire.parse_operations(self._require(answer.body, "operations"), service_id=service_id)

    def get_operation(self, service_id: str, operation_id: str) -> Operation | None:
        """One operation; None when IES does not know the id (it answers 200 ``operation: null``)."""
        path = f"{_SERVICES}/{_seg(service_id)}/operations/{_seg(operation_id)}"
        answer = self._transport.request("GET", path, endpoint=_OPERATION)
        return wire.parse_operation(self._require(answer.body, "an operation"), service_id=service_id)

    def operation_status(
        self,
        service_id: str,
        operation_id: str,
        kind: OperationKind | str,
        *,
        expected_bandwidth_kbps: int | None = None,
    ) -> Operation:
        """Where an operation stands, by the best means this IES offers.

        Reads the operations endpoint; when it is switched off (``use_operations_endpoint=False``),
        answers 404 with an empty body (an IES without it), or does not know the id, reads the
        service instead and infers the operation from its status (see :mod:`ies_client.tracking`).
        ``expected_bandwidth_kbps`` lets that inference tell a failed bandwidth change from a
        successful one.
        """
        if self.use_operations_endpoint:
            path = f"{_SERVICES}/{_seg(service_id)}/operations/{_seg(operation_id)}"
            answer = self._transport.request("GET", path, empty_404_ok=True, endpoint=_OPERATION)
            if answer.body is not None:
                op = wire.parse_operation(answer.body, service_id=service_id)
                if op is not None:
                    return op
        try:
            service: Service | None = self.get_service(service_id)
        except IESNotFound:
            service = None
        return tracking.operation_from_service(
            service, service_id=service_id, operation_id=operation_id, kind=OperationKind.parse(kind),
            expected_bandwidth_kbps=expected_bandwidth_kbps,
        )

    # -- traffic ------------------------------------------------------------------------------

    def get_traffic(
        self,
        cloud_vpn_name: str,
        *,
        metric: Metric | str = Metric.TRAFFIC_RATE,
        start: datetime | int,
        end: datetime | int,
        timedim: str = "minute",
        direction: Direction | str = Direction.OUTBOUND,
        indicator: str = "max",
    ) -> TrafficSeries:
        """A connection's traffic over ``[start, end)`` (aware datetimes or Unix seconds).

        ``traffic-rate`` is in bit/s, ``bandwidth-utilization`` in percent of the bandwidth then
        in force. At most 31 days by the minute per call (IES refuses more with a 400).
        """
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}")
        t0, t1 = wire.epoch_seconds(start), wire.epoch_seconds(end)
        path = f"/cloudvpnwatch/v1/traffic/connections/{_seg(cloud_vpn_name)}/{metric}"
        params = {"starttime": t0, "endtime": t1, "timedim": timedim, "direction": direction,
                  "indicator": indicator}
        answer = self._transport.request("GET", path, params=params, endpoint=_TRAFFIC)
        return wire.parse_traffic(
            self._require(answer.body, "traffic"), connection=cloud_vpn_name, metric=metric, start=t0, end=t1
        )

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _require(body: Any, what: str) -> Any:
        if body is None:
            raise IESProtocolError(f"IES sent an empty answer where it should have sent {what}.")
        return body


# -- one client (one Session) per tenant per process --------------------------------------------

_REGISTRY_MAX = 256  # tenants × IES URLs a process talks to; the least recently used is closed
_registry: OrderedDict[tuple[str, str], IESClient] = OrderedDict()
_registry_lock = threading.Lock()


def client_for(base_url: str, credentials: IESCredentials, **options: Any) -> IESClient:
    """The process's client for this IES and token, made on first use (thread-safe).

    Every caller for a tenant shares one ``requests.Session``, so connections are kept alive and
    pooled across Celery tasks and web requests. New credentials for the same token (another
    bearer) replace the cached client. Options that differ from the cached client's return a
    :meth:`IESClient.with_options` view sharing its session.
    """
    key = (normalise_base_url(base_url), credentials.token)
    with _registry_lock:
        client = _registry.get(key)
        if client is not None and client.credentials != credentials:
            _registry.pop(key).close()
            client = None
        if client is None:
            client = IESClient(key[0], credentials, **options)
            _registry[key] = client
            while len(_registry) > _REGISTRY_MAX:
                _registry.popitem(last=False)[1].close()
        else:
            _registry.move_to_end(key)
        if options and any(client.options.get(k) != v for k, v in options.items()):
            # Another caller's timeouts (a page's short read vs a task's long one): a variant that
            # shares the session, cached so that repeated calls return the same object.
            variant_key = tuple(sorted(options.items()))
            variant = client._variants.get(variant_key)
            if variant is None:
                variant = client._variants[variant_key] = client.with_options(**options)
            return variant
    return client


def _forget_clients_after_fork() -> None:
    """In a forked child (a Celery prefork worker), never reuse the parent's pooled sockets or a
    lock another thread held at the fork: start with an empty registry. The parent's sockets are
    not closed here, they are still the parent's."""
    global _registry_lock
    _registry_lock = threading.Lock()
    _registry.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_clients_after_fork)


def clear_client_registry() -> None:
    """Close and forget every cached client (tests; a worker after fork)."""
    with _registry_lock:
        clients = list(_registry.values())
        _registry.clear()
    for client in clients:
        client.close()

