from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts and centres"


class SecondFactorAdminConfig(admin_apps.AdminConfig):
    """Django's admin app with the site that requires the second factor (accounts/admin_site.py)."""

    default = False  # AccountsConfig stays the app's own
    default_site = "accounts.admin_site.SecondFactorAdminSite"
