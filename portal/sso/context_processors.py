from django.http import HttpRequest

from portal.sso import config


def sso(request: HttpRequest) -> dict[str, object]:
    """Whether the login page offers single sign-on, and under which name (staff pages say it too)."""
    return {"sso_enabled": config.enabled(), "sso_provider_name": config.provider_name}
