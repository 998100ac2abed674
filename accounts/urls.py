from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import mfa_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language, name="set-language"),
    path("session/keep-alive/", views.session_keep_alive, name="session-keep-alive"),
    path(
        "password/change/",
        views.PasswordChangeView.as_view(success_url=reverse_lazy("accounts:password-change-done")),
        name="password-change",
    ),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password-change-done"),
    path(
        "password/reset/",
        views.PasswordResetView.as_view(success_url=reverse_lazy("accounts:password-reset-done")),
        name="password-reset",
    ),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("accounts:password-reset-complete")),
        name="password-reset-confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
    path("tokens/", views.api_token_list, name="api-tokens"),
    path("tokens/revoke-all/", views.api_token_revoke_all, name="api-tokens-revoke-all"),
    path("tokens/<uuid:token_id>/revoke/", views.api_token_revoke, name="api-token-revoke"),
    path("security/", mfa_views.security, name="security"),
    path("security/app/", mfa_views.totp_setup, name="mfa-totp-setup"),
    path("security/app/<int:device_id>/remove/", mfa_views.totp_remove, name="mfa-totp-remove"),
    path("security/passkeys/<int:device_id>/remove/", mfa_views.passkey_remove, name="mfa-passkey-remove"),
    path("security/recovery-codes/", mfa_views.recovery_codes, name="mfa-recovery-codes"),
    path("verify/", mfa_views.verify, name="mfa-verify"),
]
