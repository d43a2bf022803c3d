from django.urls import path

from portal.core.views import public
from portal.sso import views

app_name = "sso"

# Reached before logging in, like the login page.
urlpatterns = [
    path("start/", public(views.SsoStartView.as_view()), name="start"),
    path("callback/", public(views.SsoCallbackView.as_view()), name="callback"),
]
