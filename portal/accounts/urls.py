from django.urls import path

from portal.accounts import views
from portal.core.views import public

app_name = "accounts"

urlpatterns = [
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/changed/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    # Reached without logging in, like the login page.
    path("password/reset/", public(views.PasswordResetView.as_view()), name="password_reset"),
    path("password/reset/sent/", public(views.PasswordResetDoneView.as_view()), name="password_reset_done"),
    path("password/reset/done/", public(views.PasswordResetCompleteView.as_view()), name="password_reset_complete"),
    path("password/reset/<uidb64>/<token>/", public(views.PasswordResetConfirmView.as_view()),
         name="password_reset_confirm"),
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/others/end/", views.session_end_others, name="session_end_others"),
    path("sessions/<int:session_id>/end/", views.session_sign_out, name="session_sign_out"),
]
