"""The staff pages, mounted under /staff/ (the audit log is /staff/audit/, in portal.audit)."""

from django.urls import path

from portal.staff import views

app_name = "staff"
urlpatterns = [
    path("", views.staff_home, name="home"),
    path("tenants/", views.tenant_list, name="tenant_list"),
    path("tenants/new/", views.tenant_create, name="tenant_create"),
    path("tenants/<int:pk>/", views.tenant_detail, name="tenant_detail"),
    path("tenants/<int:pk>/edit/", views.tenant_edit, name="tenant_edit"),
    path("tenants/<int:pk>/credentials/", views.tenant_credentials, name="tenant_credentials"),
    path("tenants/<int:pk>/check/", views.tenant_check, name="tenant_check"),
    path("tenants/<int:pk>/members/add/", views.tenant_member_add, name="tenant_member_add"),
    path("tenants/<int:pk>/see-as/", views.see_as_start, name="see_as_start"),
    path("see-as/stop/", views.see_as_stop, name="see_as_stop"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/active/", views.user_active, name="user_active"),
    path("users/<int:pk>/password/", views.user_password, name="user_password"),
    path("users/<int:pk>/two-factor/reset/", views.user_two_factor_reset, name="user_two_factor_reset"),
    path("users/<int:pk>/memberships/add/", views.user_membership_add, name="user_membership_add"),
    path("memberships/<int:pk>/role/", views.membership_role, name="membership_role"),
    path("memberships/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("lockouts/", views.lockout_list, name="lockout_list"),
    path("lockouts/unlock/", views.lockout_clear, name="lockout_clear"),
    path("api-tokens/", views.api_token_list, name="api_token_list"),
    path("api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("import/", views.import_upload, name="import_upload"),
    path("import/preview/", views.import_preview, name="import_preview"),
    path("import/apply/", views.import_apply, name="import_apply"),
    path("import/cancel/", views.import_cancel, name="import_cancel"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
]
