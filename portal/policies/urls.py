from django.urls import path

from portal.policies import views

app_name = "policies"
urlpatterns = [
    path("", views.tenant_policies, name="list"),
    path("proposals/<int:pk>/", views.proposal, name="proposal"),
]
