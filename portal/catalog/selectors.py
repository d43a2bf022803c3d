"""The tenant's catalog, read from IES and kept in Redis for a short time; the tenant's orders."""

from django.core.cache import cache

from ies_client.models import ServiceDefinition, ServiceDefinitionDetail
from portal.catalog.models import Order
from portal.tenants.ies import ies_for_tenant
from portal.tenants.models import Tenant

CATALOG_TTL = 120  # seconds: definitions change rarely, and the page has a refresh button


def _key(tenant: Tenant, *parts: str) -> str:
    return ":".join(["catalog", str(tenant.pk), *parts])


def definition_list_for_tenant(*, tenant: Tenant, refresh: bool = False) -> list[ServiceDefinition]:
    key = _key(tenant, "defs")
    if not refresh:
        cached = cache.get(key)
        if cached is not None:
            return cached
    definitions = ies_for_tenant(tenant, for_page=True).list_service_definitions()
    cache.set(key, definitions, CATALOG_TTL)
    return definitions


def definition_detail_for_tenant(*, tenant: Tenant, definition_id: str, refresh: bool = False) -> ServiceDefinitionDetail:
    key = _key(tenant, "def", definition_id)
    if not refresh:
        cached = cache.get(key)
        if cached is not None:
            return cached
    detail = ies_for_tenant(tenant, for_page=True).get_service_definition(definition_id)
    cache.set(key, detail, CATALOG_TTL)
    return detail


def order_for_key(*, tenant: Tenant, idempotency_key: str) -> Order | None:
    """The order this wizard already placed, if any (a double click or a reload after submitting)."""
    return Order.objects.filter(idempotency_key=idempotency_key, tenant=tenant).select_related("operation").first()
