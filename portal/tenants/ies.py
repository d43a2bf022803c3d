"""The one place where a tenant's decrypted credentials meet the IES client."""

from django.conf import settings

from ies_client import breaker
from ies_client.client import IESClient, IESCredentials, client_for
from ies_client.redact import register_secret
from portal.tenants.models import Tenant


class TenantNotConfigured(Exception):
    """The tenant has no IES token yet: an admin must enter one."""


_breaker_setup: tuple[str, str] | None = None
_breaker_store: breaker.BreakerStore | None = None


def _breaker_redis() -> tuple[str, str]:
    """The Redis URL and key prefix of the breakers: the cache's Redis, under the cache's prefix (so
    a test session's cache cleanup takes its breakers along)."""
    cache = settings.CACHES.get("default", {})
    location = cache.get("LOCATION")
    if isinstance(location, list | tuple):
        location = location[0] if location else None
    if not (isinstance(location, str) and location.startswith(("redis://", "rediss://", "unix://"))):
        location = settings.REDIS_URL
    return location, f"{cache.get('KEY_PREFIX') or 'portal'}:ies-breaker"


def breaker_store_configure() -> breaker.BreakerStore:
    """Point this process's IES circuit breakers at the portal's Redis (once; again if the settings
    changed, as tests change them). Cheap enough to call before every client is handed out."""
    global _breaker_setup, _breaker_store
    url, prefix = _breaker_redis()
    setup = (url, prefix)
    if setup != _breaker_setup or breaker.current_store() is not _breaker_store:
        _breaker_store = breaker.RedisStore(url, prefix=prefix)
        breaker.configure(_breaker_store)
        _breaker_setup = setup
    return _breaker_store


def breaker_states() -> list[breaker.BreakerState]:
    """Every IES circuit breaker the portal's processes share, read now (for /readyz and metrics)."""
    breaker_store_configure()
    return breaker.snapshot()


def breaker_store_reset() -> None:
    """Close every IES circuit breaker of the portal (tests start each case with closed ones)."""
    breaker_store_configure()
    breaker.reset()


def ies_for_tenant(tenant: Tenant, *, for_page: bool = False) -> IESClient:
    """A pooled client that speaks for `tenant`, and only for it.

    `for_page`: a read made while a person waits for a page uses a short read timeout and no retry
    (IES_PAGE_READ_TIMEOUT, IES_PAGE_RETRIES), so that a slow IES degrades to "last known" quickly
    instead of hanging the page; once an endpoint has failed IES_BREAKER_FAILURES times in a row its
    breaker answers at once (IESCircuitOpen) for every page and task, in every process. A page's
    read timeouts count apart: they open the endpoint's page breaker, which refuses pages only (a
    slow IES must not shut out the workers, whose longer timeout it meets).
    """
    if not tenant.has_credentials:
        raise TenantNotConfigured(tenant.name)
    breaker_store_configure()
    token, bearer = tenant.credentials()
    register_secret(token)
    register_secret(bearer)
    return client_for(
        tenant.base_url,
        IESCredentials(token=token, bearer=bearer, tenant_id=tenant.ies_tenant_id or None),
        connect_timeout=settings.IES_CONNECT_TIMEOUT,
        read_timeout=settings.IES_PAGE_READ_TIMEOUT if for_page else settings.IES_READ_TIMEOUT,
        retries=settings.IES_PAGE_RETRIES if for_page else settings.IES_RETRIES,
        verify_tls=settings.IES_VERIFY_TLS,
        use_operations_endpoint=settings.IES_USE_OPERATIONS_ENDPOINT,
        breaker_failures=settings.IES_BREAKER_FAILURES,
        breaker_reset=settings.IES_BREAKER_RESET_SECONDS,
        breaker_trial_timeout=settings.IES_BREAKER_TRIAL_SECONDS,
        breaker_read_timeouts=not for_page,
    )
