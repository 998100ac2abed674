from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import mfa_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("accounts:password-change-done")),
        name="password-change",
    ),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password-change-done"),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            success_url=reverse_lazy("accounts:password-reset-done"),
            email_template_name="emails/password_reset.txt",
            html_email_template_name="emails/password_reset.html",
            subject_template_name="emails/password_reset_subject.txt",
        ),
        name="password-reset",
    ),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("accounts:password-reset-complete")),
        name="password-reset-confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
    path("security/", mfa_views.security, name="security"),
    path("security/app/", mfa_views.totp_setup, name="mfa-totp-setup"),
    path("security/app/<int:device_id>/remove/", mfa_views.totp_remove, name="mfa-totp-remove"),
    path("security/passkeys/<int:device_id>/remove/", mfa_views.passkey_remove, name="mfa-passkey-remove"),
    path("security/recovery-codes/", mfa_views.recovery_codes, name="mfa-recovery-codes"),
    path("verify/", mfa_views.verify, name="mfa-verify"),
]
