"""Celery tasks of the accounts app: the password-reset e-mail, sent off the request.

The reset page enqueues this task for every well-formed request, whether or not the address has an account, so
that its answer takes the same time either way; the task looks the account up and sends only when there is one.
"""

from urllib.parse import urlsplit

from celery import shared_task
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.utils import translation

from .passwords import reset_link_lifetime


class _ResetForm(PasswordResetForm):
    """Each e-mail in its reader's language: a patient's preferred language, else the account's own, else English."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        user = context["user"]
        patient = getattr(user, "patient_record", None)
        language = (patient.preferred_language if patient is not None else "") or user.language
        with translation.override(language or settings.LANGUAGE_CODE):
            context["link_valid_for"] = reset_link_lifetime()
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


@shared_task(name="accounts.tasks.send_password_reset")
def send_password_reset(email: str) -> int:
    """E-mail a reset link to each active account with this address and a usable password; how many were sent."""
    form = _ResetForm({"email": email})
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
