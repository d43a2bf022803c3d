"""The one place where a tenant's decrypted credentials meet the IES client."""

from django.conf import settings

from ies_client.client import IESClient, IESCredentials, client_for
from ies_client.redact import register_secret
from portal.tenants.models import Tenant


class TenantNotConfigured(Exception):
    """The tenant has no IES token yet: an admin must enter one."""


def ies_for_tenant(tenant: Tenant, *, for_page: bool = False) -> IESClient:
    """A pooled client that speaks for `tenant`, and only for it.

    `for_page`: a read made while a person waits for a page uses a short read timeout and fewer
    retries, so that a slow IES degrades to "last known" quickly instead of hanging the page.
    """
    if not tenant.has_credentials:
        raise TenantNotConfigured(tenant.name)
    token, bearer = tenant.credentials()
    register_secret(token)
    register_secret(bearer)
    return client_for(
        tenant.base_url,
        IESCredentials(token=token, bearer=bearer, tenant_id=tenant.ies_tenant_id or None),
        connect_timeout=settings.IES_CONNECT_TIMEOUT,
        read_timeout=settings.IES_PAGE_READ_TIMEOUT if for_page else settings.IES_READ_TIMEOUT,
        retries=1 if for_page else settings.IES_RETRIES,
        verify_tls=settings.IES_VERIFY_TLS,
        use_operations_endpoint=settings.IES_USE_OPERATIONS_ENDPOINT,
    )
