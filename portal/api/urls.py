from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, include, path

from portal.api import views
from portal.api.site import api


def _token_only(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """The API's views answer for themselves (a token, else 401 problem+json): the portal's
    sign-in redirect does not apply to them."""
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = login_not_required(pattern.callback)
    return patterns


api_patterns, _app_name, namespace = api.urls
# The members' pages for their tokens: signed-in pages of the portal, under a namespace of their own
# ("api" is the API's).
page_patterns = [
    path("", views.tokens, name="list"),
    path("<int:pk>/revoke/", views.token_revoke, name="revoke"),
]
urlpatterns = [
    path("v1/", include((_token_only(api_patterns), "api"), namespace=namespace)),
    path("tokens/", include((page_patterns, "api_tokens"))),
]
