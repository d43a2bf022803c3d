"""The service pages' tests start from mirrored tenants, as a worker leaves them (see mirroring.py);
a test about a cold or stale mirror makes it so itself."""

from tests.portal.services.mirroring import own_tenant, presets

__all__ = ["own_tenant", "presets"]
