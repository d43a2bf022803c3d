"""Who may open the staff pages: active staff users, nobody else."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase


def staff_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Anonymous: to the login page (LoginRequiredMiddleware does so first); logged in but not
    staff: 403. Every view under /staff/ carries this; tests walk the URL conf to make sure."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied("staff only")
        return view(request, *args, **kwargs)

    # A mark on the function itself, which the URL-conf test reads: mypy knows no such attribute.
    wrapper.staff_required = True  # type: ignore[attr-defined]
    return wrapper
