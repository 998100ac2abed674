"""Celery tasks of the accounts app: the password-reset e-mail, sent off the request.

The reset page enqueues this task for every well-formed request, whether or not the address has an account, so
that its answer takes the same time either way; the task looks the account up and sends only when there is one.
"""

from urllib.parse import urlsplit

from celery import shared_task
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm

from .passwords import reset_link_lifetime


@shared_task(name="accounts.tasks.send_password_reset")
def send_password_reset(email: str) -> int:
    """E-mail a reset link to each active account with this address and a usable password; how many were sent."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return 0
    site = urlsplit(settings.SITE_URL)
    users = list(form.get_users(email))
    form.save(
        domain_override=site.netloc,
        use_https=site.scheme == "https",
        subject_template_name="emails/password_reset_subject.txt",
        email_template_name="emails/password_reset.txt",
        html_email_template_name="emails/password_reset.html",
        extra_email_context={"link_valid_for": reset_link_lifetime()},
    )
    return len(users)
