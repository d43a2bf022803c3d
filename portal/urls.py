from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from portal.core import bandwidth_views
from portal.core import views as core_views
from portal.observability import views as observability_views
from portal.sso import views as sso_views
from portal.tenants import views as tenant_views

urlpatterns = [
    path("", tenant_views.home, name="home"),
    path("login/", tenant_views.PortalLoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", sso_views.SsoAwareLogoutView.as_view(), name="logout"),
    path("sso/", include("portal.sso.urls")),
    path("i18n/setlang/", core_views.public(set_language), name="set_language"),
    path("tenant/switch/", tenant_views.tenant_switch, name="tenant_switch"),
    path("account/two-factor/", include("portal.twofactor.urls")),
    path("account/", include("portal.accounts.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", observability_views.readyz, name="readyz"),
    path("metrics", observability_views.metrics, name="metrics"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("bandwidth/interpret/", bandwidth_views.interpret, name="bandwidth_interpret"),
    path("services/", include("portal.services.urls")),
    path("catalog/", include("portal.catalog.urls")),
    path("operations/", include("portal.operations.urls")),
    path("traffic/", include("portal.traffic.urls")),
    path("policies/", include("portal.policies.urls")),
    path("alerts/", include("portal.alerts.urls")),
    path("staff/", include("portal.staff.urls")),
    path("staff/audit/", include("portal.audit.urls")),
    path("api/", include("portal.api.urls")),
    path("admin/", admin.site.urls),
]

# The portal's own pages for refusals and missing pages.
handler403 = "portal.core.views.permission_denied"
handler404 = "portal.core.views.page_not_found"
# 500.html and 400.html as Django renders them, or the 503 page when the database was busy.
handler500 = "portal.core.views.server_error"
handler400 = "portal.core.views.bad_request"
