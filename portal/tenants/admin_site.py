"""Django's admin, read-only for everyone (superusers included).

Users, memberships, tenants and the login throttle's records change only through the staff pages,
which check what they are given and record every change in the audit log. The admin stays for a
quick look at the database: this site turns every ModelAdmin registered with it (by any app:
auth's users and groups, axes's attempts, ours) into a view-only one, so no app's admin can add,
change or delete a row, nor run an action. Its own password-change page is gone too (404), and
so is the link to it at the top right (templates/admin/base_site.html): the portal has no page where
one changes one's own password to send it to instead.

Kept mounted in production rather than removed: looking is harmless, and the one thing it did
wrong, writing past the portal, it can no longer do. (Mounted or not, every change to a user or a
membership from any path is audited: portal/audit/receivers.py.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import Http404
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.admin.options import InlineModelAdmin
    from django.db.models import Model
    from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """No add, change or delete permission, no actions; viewing as Django's permissions allow."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        # Django drops "delete selected" without the delete permission, but an app's own action
        # that declares no permission would still run: none is offered.
        return {}

    def get_inlines(self, request: HttpRequest, obj: Model | None) -> list[type[InlineModelAdmin]]:
        # A mixin: mypy cannot see the ModelAdmin that super() reaches.
        return [read_only(inline) for inline in super().get_inlines(request, obj)]  # type: ignore[misc]


def read_only[T](admin_class: type[T]) -> type[T]:
    if issubclass(admin_class, ReadOnlyAdminMixin):
        return admin_class
    return type(f"ReadOnly{admin_class.__name__}", (ReadOnlyAdminMixin, admin_class), {})


class PortalAdminSite(admin.AdminSite):
    site_header = _("CloudVPN Portal database (read-only)")
    site_title = _("CloudVPN Portal database")
    index_title = _("Read-only view: make changes on the staff pages")

    def password_change(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> NoReturn:
        """Not here: it would write (the staff member's own password), past the login throttle."""
        raise Http404

    def password_change_done(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> NoReturn:
        raise Http404

    def register(self, model_or_iterable: type[Model] | Iterable[type[Model]],
                 admin_class: type[admin.ModelAdmin] | None = None, **options: Any) -> None:
        super().register(model_or_iterable, read_only(admin_class or admin.ModelAdmin), **options)


class PortalAdminConfig(AdminConfig):
    """In INSTALLED_APPS instead of "django.contrib.admin": makes PortalAdminSite the default
    `admin.site`, with which every app registers its models."""

    default_site = "portal.tenants.admin_site.PortalAdminSite"
