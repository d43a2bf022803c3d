from django.urls import path

from portal.traffic import views

app_name = "traffic"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("<str:cloud_vpn_name>/", views.connection, name="connection"),
    path("<str:cloud_vpn_name>/data.json", views.data, name="data"),
    path("<str:cloud_vpn_name>/export.csv", views.csv_export, name="csv"),
]
