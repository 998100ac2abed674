from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts and centres"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import signals  # noqa: F401 (connects the receivers)

        user_logged_in.connect(_start_session, dispatch_uid="accounts.sessions.start")


def _start_session(sender, request, user, **kwargs) -> None:
    """Sign-in starts the session's idle and absolute clocks (accounts/sessions.py)."""
    from . import sessions
    from .middleware import note_factors_at_sign_in

    if request is not None and hasattr(request, "session"):
        sessions.start(request, user)
        note_factors_at_sign_in(request, user)


class SecondFactorAdminConfig(admin_apps.AdminConfig):
    """Django's admin app with the site that requires the second factor (accounts/admin_site.py)."""

    default = False  # AccountsConfig stays the app's own
    default_site = "accounts.admin_site.SecondFactorAdminSite"
