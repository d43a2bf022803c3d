"""Tenants and memberships in the Django admin, which is read-only (portal/tenants/admin_site.py).

Tenants, their tokens and memberships are managed on the staff pages (/staff/), which validate the
IES base URL, keep tokens write-only and record every change in the audit trail. The admin lists
them for a quick look and never shows a token beyond its last four characters.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from portal.tenants.models import Membership, Tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role"]
    readonly_fields = ["user", "role"]


_TENANT_FIELDS = ("name", "ies_base_url", "ies_tenant_id", "token_masked", "bearer_masked", "scenarios", "is_active",
                  "ref_kind", "ref_service_id", "ref_service_name", "ref_cloud_vpn_name")


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "base_url", "token_masked", "is_active"]
    search_fields = ["name"]
    fields = _TENANT_FIELDS
    readonly_fields = _TENANT_FIELDS
    inlines = [MembershipInline]

    @admin.display(description=_("X-Auth-Token"))
    def token_masked(self, obj: Tenant) -> str:
        return obj.token_masked

    @admin.display(description=_("Bearer"))
    def bearer_masked(self, obj: Tenant) -> str:
        return obj.bearer_masked


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__name"]
