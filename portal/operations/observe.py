"""What IES says about operations in flight: the reads of one look at a tenant, and nothing else.

A look (`services.operations_look`) claims a tenant's operations that are due, asks this module what
IES says of each and then writes the answers. The reads live here, away from the rows, so that they
can run in threads (a slow IES costs one read's time, not one per operation) without a database
connection each, and so that one list of the tenant's services can stand in for the status reads of
every operation it shows still running.

Kinds here are the portal's (`OperationKind` values); the mapping to IES's own lives in services.py
and is handed in (`ies_kind`).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ies_client import models as ies
from ies_client.client import IESClient
from ies_client.errors import IESCircuitOpen, IESError, IESNotFound

log = logging.getLogger(__name__)

# Reads of one look that may be in flight together. The client's pool keeps 10 connections per host;
# a worker runs a few looks at once, and IES is one server: a handful each is plenty.
READ_THREADS = 6


@dataclass(frozen=True)
class Watched:
    """An operation as a look needs it: where IES keeps it, and what it should end with."""

    pk: int
    kind: str  # the portal's OperationKind value
    ies_kind: ies.OperationKind
    service_id: str
    operation_id: str
    expected_bandwidth_kbps: int | None = None


@dataclass
class Seen:
    """What one look learned of one operation."""

    status: ies.Operation | None = None  # None: no answer (see `error`), or covered by the list
    error: IESError | None = None  # the status read failed
    listed_running: bool = False  # the tenant's list shows it still running: nothing else was asked
    calls: int = 0  # requests that left for this operation (a refused one never left)
    remote: ies.Service | None = None  # the service as IES shows it at the end (the confirming read)
    remote_gone: bool = False  # the confirming read answered 404
    remote_error: IESError | None = None  # the confirming read failed

    @property
    def done(self) -> bool:
        return self.status is not None and self.status.done


class Listing:
    """The tenant's services as one list call returned them, by id."""

    def __init__(self, services: Iterable[ies.Service]) -> None:
        self.by_id = {service.service_id: service for service in services}

    def running(self, service_id: str) -> bool:
        """Still running at IES: the service is listed and in progress. A service missing from the
        list, or settled, may have ended: its operation is read to know how."""
        service = self.by_id.get(service_id)
        return service is not None and service.in_progress


def list_services(client: IESClient) -> Listing:
    """One list call for the tenant (raises IESError as the client does)."""
    return Listing(client.list_services())


def observe(client: IESClient, watched: Iterable[Watched], *, listing: Listing | None = None) -> dict[int, Seen]:
    """What IES says of each operation, by pk. With a `listing`, an operation whose service it shows
    still running costs nothing more; the others are read (status, then the confirming read of a
    finished one), several at a time."""
    seen: dict[int, Seen] = {}
    to_read: list[Watched] = []
    for item in watched:
        if listing is not None and listing.running(item.service_id):
            seen[item.pk] = Seen(listed_running=True)
        else:
            to_read.append(item)
    if len(to_read) == 1:
        seen[to_read[0].pk] = _observe_one(client, to_read[0])
    elif to_read:
        with ThreadPoolExecutor(max_workers=min(READ_THREADS, len(to_read)), thread_name_prefix="ies-look") as pool:
            # Each read carries the caller's context (the request id in its log lines).
            futures = {item.pk: pool.submit(contextvars.copy_context().run, _observe_one, client, item)
                       for item in to_read}
        seen.update({pk: future.result() for pk, future in futures.items()})
    return seen


def _observe_one(client: IESClient, item: Watched) -> Seen:
    try:
        return _read(client, item)
    except Exception:
        # A defect in reading one answer must not sink the look of every other operation: this one
        # is looked at again later, as if IES had answered with an error.
        log.exception("operation %s: reading IES's answer failed", item.pk)
        return Seen(error=IESError("The portal could not read IES's answer."), calls=1)


def _read(client: IESClient, item: Watched) -> Seen:
    seen = Seen()
    try:
        seen.calls += 1
        seen.status = client.operation_status(item.service_id, item.operation_id or "unknown", item.ies_kind,
                                              expected_bandwidth_kbps=item.expected_bandwidth_kbps)
    except IESCircuitOpen as exc:
        seen.calls -= 1
        seen.error = exc
        return seen
    except IESError as exc:
        seen.error = exc
        return seen
    if seen.status.done and _confirms(item, seen.status):
        _confirm(client, item, seen)
    return seen


def _confirms(item: Watched, status: ies.Operation) -> bool:
    """The deck confirms an end by reading the service: a delete that succeeded has none left."""
    return not (status.succeeded and item.ies_kind == ies.OperationKind.DELETE)


def _confirm(client: IESClient, item: Watched, seen: Seen) -> None:
    try:
        seen.calls += 1
        seen.remote = client.get_service(item.service_id)
    except IESNotFound as exc:
        seen.remote_gone = True
        seen.remote_error = exc
    except IESCircuitOpen as exc:
        seen.calls -= 1
        seen.remote_error = exc
    except IESError as exc:
        seen.remote_error = exc
