from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recovery"
    verbose_name = "Recovery tracker"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from recovery.middleware import remember_timezone

        user_logged_in.connect(remember_timezone, dispatch_uid="recovery.remember_timezone")
