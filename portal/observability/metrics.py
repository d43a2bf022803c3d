"""Prometheus metrics: what each process counts as it works, and what a scrape reads at once.

Counted as it happens (in the process that does it; see "Operating the portal" in
docs/architecture.md for how several processes are added up):
- ies_request_duration_seconds{endpoint, method, status} and ies_request_errors_total{endpoint,
  error}: every attempt at an IES call that was sent, from ies_client's request listener;
- ies_requests_refused_total{endpoint}: calls (and retries) an open circuit breaker refused, never
  sent, so neither timed nor counted as errors (their 0 s would pull the latency down);
- portal_page_duration_seconds{view, method, status}: every page (PageTimingMiddleware);
- portal_operation_tracking_lag_seconds: from IES ending an operation to the portal recording it.

Read at scrape time (StateCollector): ies_circuit_state{endpoint} (0 closed, 1 half-open, 2 open),
portal_operations{state}, portal_task_queue_depth{queue}, portal_heartbeat_age_seconds{role}.

Labels hold endpoint templates, view names, states and status codes: never an id, a tenant or a
token.
"""

import logging
import os
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import redis
from django.db import DatabaseError, transaction
from django.db.models import Count
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ies_client import transport
from ies_client.errors import IESCircuitOpen
from portal.observability import broker, circuits, heartbeats
from portal.operations.models import Operation, OperationState

log = logging.getLogger(__name__)

IES_REQUEST_SECONDS = Histogram(
    "ies_request_duration_seconds", "Time of one attempt at an IES call, by endpoint, method and status.",
    ["endpoint", "method", "status"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16),
)
IES_REQUEST_ERRORS = Counter(
    "ies_request_errors", "IES calls that got no usable answer, by endpoint and error class.",
    ["endpoint", "error"],
)
IES_REQUESTS_REFUSED = Counter(
    "ies_requests_refused", "IES calls an open circuit breaker refused before sending them, by endpoint.",
    ["endpoint"],
)
PAGE_SECONDS = Histogram(
    "portal_page_duration_seconds", "Time to answer a request, by view name, method and status.",
    ["view", "method", "status"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TRACKING_LAG_SECONDS = Histogram(
    "portal_operation_tracking_lag_seconds", "From IES ending an operation to the portal recording its end.",
    buckets=(0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600),
)


def observe_ies_request(event: transport.RequestEvent) -> None:
    if event.status is None and event.error == IESCircuitOpen.__name__:
        # Nothing was sent: the attempt before a refused retry was timed and counted already.
        IES_REQUESTS_REFUSED.labels(endpoint=event.endpoint).inc()
        return
    status = str(event.status) if event.status is not None else "none"
    IES_REQUEST_SECONDS.labels(endpoint=event.endpoint, method=event.method, status=status).observe(event.seconds)
    if event.error or (event.status is not None and event.status >= 500):
        IES_REQUEST_ERRORS.labels(endpoint=event.endpoint, error=event.error or f"HTTP {event.status}").inc()


def listen_to_ies() -> None:
    transport.add_request_listener(observe_ies_request)


def observe_tracking_lag(sender: Any, operation: Operation, ies_finished_at: datetime | None = None,
                         **kwargs: Any) -> None:
    """Receiver of operation_finished. Only when IES said when it ended (its operations endpoint);
    counted once the end is committed."""
    if ies_finished_at is None or operation.finished_at is None:
        return
    lag = max(0.0, (operation.finished_at - ies_finished_at).total_seconds())
    transaction.on_commit(lambda: TRACKING_LAG_SECONDS.observe(lag))


# -- read at scrape time ---------------------------------------------------------------------------


class StateCollector(Collector):
    """Gauges of shared state (the database, Redis), read at each scrape by the process scraped.
    A source that does not answer leaves its gauge out of that scrape rather than failing it."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield from self._circuits()
        yield from self._operations()
        yield from self._redis()

    def _circuits(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("ies_circuit_state", "IES circuit breaker: 0 closed, 1 half-open, 2 open.",
                                   labels=["endpoint"])
        for circuit in circuits.circuits():
            family.add_metric([circuit.endpoint], circuits.LEVEL.get(circuit.state, 0))
        yield family

    def _operations(self) -> Iterable[GaugeMetricFamily]:
        try:
            counts = dict(Operation.objects.order_by().values_list("state").annotate(n=Count("id")))
        except DatabaseError as exc:
            log.warning("metrics: operations not counted: %s", type(exc).__name__)
            return
        family = GaugeMetricFamily("portal_operations", "Operations by state.", labels=["state"])
        for state in OperationState.values:
            family.add_metric([state], counts.get(state, 0))
        yield family

    def _redis(self) -> Iterable[GaugeMetricFamily]:
        try:
            depth = broker.queue_depth()
            ages = heartbeats.ages()
        except (redis.RedisError, OSError) as exc:
            log.warning("metrics: Redis not read: %s", type(exc).__name__)
            return
        queue = GaugeMetricFamily("portal_task_queue_depth", "Celery messages waiting in the queue.",
                                  labels=["queue"])
        queue.add_metric([broker.queue_name()], depth)
        yield queue
        heartbeat = GaugeMetricFamily("portal_heartbeat_age_seconds",
                                      "Seconds since the worker or beat was last seen (absent: never).",
                                      labels=["role"])
        for role, age in ages.items():
            if age is not None:
                heartbeat.add_metric([role], age)
        yield heartbeat


def multiprocess_mode() -> bool:
    """prometheus_client's multiprocess mode: each process writes its values to files in
    PROMETHEUS_MULTIPROC_DIR and a scrape adds them up (gunicorn's several workers)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def process_registry() -> CollectorRegistry:
    """What this process (or, in multiprocess mode, every process sharing the directory) counted."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def exposition() -> tuple[bytes, str]:
    """The text for /metrics: the counted metrics, then the state read now."""
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector())
    return generate_latest(process_registry()) + generate_latest(state), CONTENT_TYPE_LATEST


def serve_worker_metrics(port: int, addr: str) -> None:
    """The Celery worker's own /metrics (its IES calls, the tracking lag): prometheus_client's
    HTTP server on a port of its own, started once the worker is ready."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=addr, registry=process_registry())
    log.info("worker metrics on %s:%d", addr, port)


class PageTimingMiddleware:
    """portal_page_duration_seconds for every request, labelled by the URL pattern's name."""

    METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        view = (match.view_name or "unnamed") if match else "unmatched"
        method = request.method if request.method in self.METHODS else "other"
        PAGE_SECONDS.labels(view=view, method=method, status=str(response.status_code)).observe(
            time.perf_counter() - started)
        return response
