from django.urls import path

from portal.operations import views

app_name = "operations"
urlpatterns = [
    path("", views.operation_list, name="list"),
    path("badge/", views.operation_badge, name="badge"),
    path("seen/", views.operations_mark_seen, name="mark_seen"),
    path("<int:pk>/", views.operation_detail, name="detail"),
    path("<int:pk>/recheck/", views.operation_recheck_view, name="recheck"),
]
