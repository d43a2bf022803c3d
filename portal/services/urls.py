from django.urls import path

from portal.policies import views as policy_views
from portal.services import views

app_name = "services"
urlpatterns = [
    path("", views.service_list, name="list"),
    path("activity/", views.tenant_activity, name="activity"),
    path("<str:service_id>/", views.service_detail, name="detail"),
    path("<str:service_id>/row/", views.service_row, name="row"),
    path("<str:service_id>/bandwidth/", views.service_bandwidth, name="bandwidth"),
    path("<str:service_id>/delete/", views.service_delete_view, name="delete"),
    # A service's bandwidth policies: the policies app's pages, under the service they change.
    path("<str:service_id>/policies/", policy_views.service_policies, name="policies"),
    path("<str:service_id>/policies/<int:pk>/", policy_views.policy_action, name="policy_action"),
    path("<str:service_id>/policies/<int:pk>/edit/", policy_views.policy_edit, name="policy_edit"),
    path("<str:service_id>/policies/automation/", policy_views.automation, name="automation"),
]
