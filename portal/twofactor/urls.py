"""Two-factor authentication, mounted under /account/two-factor/."""

from django.urls import path

from portal.twofactor import views

app_name = "twofactor"
urlpatterns = [
    path("", views.manage, name="manage"),
    path("verify/", views.verify, name="verify"),
    path("setup/", views.setup, name="setup"),
    path("recovery-codes/", views.regenerate, name="regenerate"),
    path("remove/", views.remove, name="remove"),
]
