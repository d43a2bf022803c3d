from django.urls import path

from portal.traffic import views

app_name = "traffic"
urlpatterns = [
    path("", views.overview, name="overview"),
    # path, not str: a CloudVpnName may hold "/" (reverse() quotes "?", "#" and spaces, not "/"; a
    # str segment made the link of such a service fail to build, and the page linking to it 500).
    path("<path:cloud_vpn_name>/", views.connection, name="connection"),
    path("<path:cloud_vpn_name>/data.json", views.data, name="data"),
    path("<path:cloud_vpn_name>/export.csv", views.csv_export, name="csv"),
]
