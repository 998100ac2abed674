"""A new password revokes every API token of that user, however it was set.

Django's password change and reset views, the admin's password form and `manage.py changepassword` all call
`User.set_password()` and then save; `set_password` keeps the new raw password in `_password` until the save
is done (Django's own `password_changed` hook relies on it). A hash upgrade at sign-in (a stronger hasher)
clears it before saving, so it revokes nothing: the password is the same.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from recovery.services.api_tokens import revoke_all
from recovery.services.audit import AuditContext

from .models import User


@receiver(post_save, sender=User, dispatch_uid="accounts.revoke_tokens_on_password_change")
def revoke_tokens_on_password_change(sender, instance: User, created: bool, update_fields, **kwargs) -> None:
    if created or kwargs.get("raw") or getattr(instance, "_password", None) is None:
        return
    if update_fields is not None and "password" not in update_fields:
        return
    revoke_all(context=AuditContext.system("password change"), owner=instance, reason="password changed")
