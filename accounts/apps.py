from django.apps import AppConfig


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

    if request is not None and hasattr(request, "session"):
        sessions.start(request, user)
