"""The tenant's catalog, read from IES and kept in Redis; the tenant's orders.

Two copies of each read: a fresh one for ``CATALOG_TTL`` (the page's normal cache) and the last
known one for ``LAST_KNOWN_TTL``, which a page shows, saying so, when IES does not answer.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache

from ies_client.errors import IESServerError, IESUnavailable
from ies_client.models import ServiceDefinition, ServiceDefinitionDetail
from portal.catalog.models import Order
from portal.tenants.ies import ies_for_tenant
from portal.tenants.models import Tenant

CATALOG_TTL = 120  # seconds: definitions change rarely, and the page has a refresh button
LAST_KNOWN_TTL = 30 * 86400  # what a hanging IES still lets the wizard offer
# IES unwell (not answering, failing, its breaker open): the last known catalog stands in. An
# expired token or an unknown definition is still said as such.
IES_UNWELL = (IESUnavailable, IESServerError)


@dataclass(frozen=True)
class LastKnown[T]:
    """A read that IES could not refresh: the copy saved at ``saved_at`` (Unix time), and why."""

    value: T
    saved_at: float
    error: Exception


def _key(tenant: Tenant, *parts: str) -> str:
    return ":".join(["catalog", str(tenant.pk), *parts])


def _cached_read[T](key: str, refresh: bool, read: Callable[[], T]) -> T:
    if not refresh:
        cached = cache.get(key)
        if cached is not None:
            return cached  # what this function stored under the key
    value = read()
    cache.set(key, value, CATALOG_TTL)
    cache.set(key + ":known", (time.time(), value), LAST_KNOWN_TTL)
    return value


def _or_last_known[T](key: str, refresh: bool, read: Callable[[], T]) -> T | LastKnown[T]:
    try:
        return _cached_read(key, refresh, read)
    except IES_UNWELL as exc:
        known = cache.get(key + ":known")
        if known is None:
            raise
        saved_at, value = known
        return LastKnown(value=value, saved_at=float(saved_at), error=exc)


def definition_list_for_tenant(*, tenant: Tenant, refresh: bool = False) -> list[ServiceDefinition]:
    return _cached_read(_key(tenant, "defs"), refresh,
                        lambda: ies_for_tenant(tenant, for_page=True).list_service_definitions())


def definition_detail_for_tenant(*, tenant: Tenant, definition_id: str, refresh: bool = False) -> ServiceDefinitionDetail:
    return _cached_read(_key(tenant, "def", definition_id), refresh,
                        lambda: ies_for_tenant(tenant, for_page=True).get_service_definition(definition_id))


def definition_list_or_last_known(*, tenant: Tenant, refresh: bool = False
                                  ) -> list[ServiceDefinition] | LastKnown[list[ServiceDefinition]]:
    """The definitions, or the last known ones when IES is unwell (raises when none are known)."""
    return _or_last_known(_key(tenant, "defs"), refresh,
                          lambda: ies_for_tenant(tenant, for_page=True).list_service_definitions())


def definition_detail_or_last_known(*, tenant: Tenant, definition_id: str, refresh: bool = False
                                    ) -> ServiceDefinitionDetail | LastKnown[ServiceDefinitionDetail]:
    """One definition, or its last known detail when IES is unwell (raises when none is known)."""
    return _or_last_known(_key(tenant, "def", definition_id), refresh,
                          lambda: ies_for_tenant(tenant, for_page=True).get_service_definition(definition_id))


def order_for_key(*, tenant: Tenant, idempotency_key: str) -> Order | None:
    """The order this wizard already placed, if any (a double click or a reload after submitting)."""
    return Order.objects.filter(idempotency_key=idempotency_key, tenant=tenant).select_related("operation").first()
