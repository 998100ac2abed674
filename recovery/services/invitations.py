"""Inviting a patient to set up their own login."""

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy

from accounts.models import Role, User
from accounts.passwords import reset_link_lifetime
from recovery.models import Patient
from recovery.services.audit import AuditContext, record_event
from recovery.services.login_email import has_active_login

ALREADY_ACTIVE = gettext_lazy(
    "This patient already uses their login, so no new invitation is sent (it would let someone else set their "
    "password). If they cannot sign in, they can use “Forgotten your password?” on the sign-in page."
)


def _username_for(patient: Patient) -> str:
    base = (patient.email.split("@")[0] or "patient").lower()[:120]
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


@transaction.atomic
def invite_patient(*, context: AuditContext, patient: Patient, base_url: str) -> User:
    """Create (or reuse) the patient's login and e-mail them a link to choose a password.

    The login has no usable password until they choose one; sending again, until then, sends a fresh link (the
    e-mail says it is a new one). A login in use is never invited again: its owner resets their own password.
    """
    if not patient.email:
        raise ValidationError({"email": "Add the patient's e-mail address first: the invitation is sent there."})
    user = patient.user
    if has_active_login(patient):
        raise ValidationError(ALREADY_ACTIVE)
    resent = user is not None
    if user is not None and user.email != patient.email:
        user.email = patient.email  # the link goes to the record's address; the login keeps the same one
        user.save(update_fields=["email"])
    if user is None:
        if User.objects.filter(email__iexact=patient.email).exclude(role=Role.PATIENT).exists():
            raise ValidationError({"email": "This e-mail address belongs to a staff login; use the patient's own."})
        user = User(username=_username_for(patient), email=patient.email, role=Role.PATIENT)
        user.first_name, user.last_name = patient.first_name, patient.last_name
        user.set_unusable_password()
        user.save()
        patient.user = user
        patient.save(update_fields=["user", "updated_at"])
    link = base_url.rstrip("/") + reverse(
        "accounts:password-reset-confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context_vars = {
        "patient": patient,
        "user": user,
        "link": link,
        "centre": patient.centre,
        "link_valid_for": reset_link_lifetime(),
        "resent": resent,
    }
    with translation.override(patient.preferred_language):
        subject = render_to_string("emails/invite_subject.txt", context_vars).strip()
        message = EmailMultiAlternatives(
            subject, render_to_string("emails/invite.txt", context_vars), to=[patient.email]
        )
        message.attach_alternative(render_to_string("emails/invite.html", context_vars), "text/html")
    transaction.on_commit(message.send)
    record_event(
        context=context,
        action="patient.invite",
        patient=patient,
        detail={"username": user.username, "to": patient.email, "resent": resent},
    )
    return user
