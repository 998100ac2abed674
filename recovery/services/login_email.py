"""A patient's login e-mail address: who may change it and how the patient is told.

Once a patient has an active login (a linked user with a password they chose), the address is where their
password reset goes, so changing it would hand their login to whoever holds the new address. It then changes
only through the patient themself (their password, then a link sent to the new address; the old address is told)
or an administrator in the admin site (audited, both addresses told). Staff and the API can still edit the
contact address of a patient without a login, or whose login was never activated (both addresses are told
then too, the old one that its invitation link stopped working). `Patient.email` and `User.email` stay in step.
"""

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy

from accounts.models import User
from recovery.models import Patient
from recovery.services.audit import AuditContext, record_event
from recovery.services.reminders.replan import request_replan

EMAIL_LOCKED = gettext_lazy(
    "This patient has an active login, so their e-mail address can only be changed by the patient (under "
    "“Change my e-mail” after signing in) or by an administrator. Their password reset e-mails go to it."
)
_SALT = "recovery.login_email.change"
LINK_BROKEN = (
    "This link does not work: it has expired, was already used, or your address changed since it was sent. "
    "Ask for a new one under “Change my e-mail”."
)


def has_active_login(patient: Patient) -> bool:
    """The patient has a login with a password they chose (an invited login that was never used does not count)."""
    user = patient.user
    return user is not None and user.is_active and user.has_usable_password()


def _fingerprint(email: str) -> str:
    """Binds a link to the address it replaces: once that address changes, the link stops working."""
    return salted_hmac(_SALT, email.strip().lower()).hexdigest()[:32]


def _send(patient: Patient, to: str, template: str, context: dict) -> None:
    """Send one plain-text notice after commit, in the patient's language."""
    if not to:
        return
    values = {"patient": patient, "centre": patient.centre, **context}
    with translation.override(patient.preferred_language):
        subject = render_to_string(f"emails/{template}_subject.txt", values).strip()
        message = EmailMessage(subject, render_to_string(f"emails/{template}.txt", values), to=[to])
    transaction.on_commit(message.send)


def _check_new_address(user: User | None, new_email: str) -> str:
    new_email = (new_email or "").strip()
    try:
        validate_email(new_email)
    except ValidationError:
        raise ValidationError({"new_email": "Enter a valid e-mail address, e.g. name@example.org."}) from None
    others = User.objects.filter(email__iexact=new_email)
    if user is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise ValidationError({"new_email": "This address cannot be used for your login: choose another one."})
    return new_email


def contact_email_changed(*, context: AuditContext, patient: Patient, old_email: str) -> None:
    """Staff changed the address of a patient whose login is not active (the caller checked): keep the login's
    address in step (an invitation sent to the old one stops working) and tell both addresses."""
    user = patient.user
    if user is not None:
        user.email = patient.email
        user.save(update_fields=["email"])
    record_event(
        context=context,
        action="patient.email_change",
        patient=patient,
        detail={"old": old_email, "new": patient.email, "by": "staff"},
    )
    if user is not None:
        notice = {"old_email": old_email, "new_email": patient.email, "by_admin": False, "invited": True}
        _send(patient, old_email, "email_changed", notice)
        _send(patient, patient.email, "email_changed", notice)


@transaction.atomic
def request_email_change(
    *, context: AuditContext, patient: Patient, new_email: str, password: str, base_url: str
) -> str:
    """The signed-in patient asks to move their login to `new_email`: check their password, then e-mail a link
    to the new address. Nothing changes until the link is opened. Returns the address the link went to."""
    user = patient.user
    if user is None or not user.check_password(password or ""):
        raise ValidationError({"password": "That is not your current password."})
    new_email = _check_new_address(user, new_email)
    if new_email.lower() == (user.email or "").lower():
        raise ValidationError({"new_email": "This is already your address."})
    token = signing.dumps({"u": user.pk, "e": new_email, "o": _fingerprint(user.email or "")}, salt=_SALT)
    link = base_url.rstrip("/") + reverse("recovery:my-email-confirm", kwargs={"token": token})
    hours = max(1, settings.EMAIL_CHANGE_LINK_MAX_AGE_SECONDS // 3600)
    _send(patient, new_email, "email_change_confirm", {"link": link, "new_email": new_email, "hours": hours})
    record_event(
        context=context,
        action="account.email_change_requested",
        patient=patient,
        detail={"old": user.email, "new": new_email},
    )
    return new_email


def read_email_change(*, user: User, token: str) -> str:
    """The new address a link confirms, for `user`; ValidationError when the link does not work."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.EMAIL_CHANGE_LINK_MAX_AGE_SECONDS)
    except signing.BadSignature:
        raise ValidationError(LINK_BROKEN) from None
    if not isinstance(data, dict) or data.get("u") != user.pk:
        raise ValidationError(LINK_BROKEN)
    if not constant_time_compare(str(data.get("o", "")), _fingerprint(user.email or "")):
        raise ValidationError(LINK_BROKEN)
    return str(data.get("e", ""))


@transaction.atomic
def confirm_email_change(*, context: AuditContext, patient: Patient, token: str) -> str:
    """The patient opened the link sent to their new address: move the login (and the record) to it and tell
    the old address. Returns the new address."""
    user = User.objects.select_for_update().get(pk=patient.user_id)
    new_email = _check_new_address(user, read_email_change(user=user, token=token))
    _move_login_email(context, patient, user, old_email=user.email, new_email=new_email, by="patient")
    return new_email


def _move_login_email(context, patient: Patient, user: User | None, *, old_email: str, new_email: str, by: str):
    """The one way a login's address moves: login and record in step, audited with both addresses (kept in clear:
    they are what a takeover is investigated by), the old address told (and the new one, when an administrator
    moved it), reminders planned again for the new address."""
    if user is not None and user.email != new_email:
        user.email = new_email
        user.save(update_fields=["email"])
    if patient.email != new_email:
        Patient.objects.filter(pk=patient.pk).update(email=new_email)
        patient.email = new_email
    record_event(
        context=context,
        action="account.email_change",
        patient=patient,
        detail={"old": old_email, "new": new_email, "by": by},
    )
    notice = {"old_email": old_email, "new_email": new_email, "by_admin": by == "admin", "invited": False}
    _send(patient, old_email, "email_changed", notice)
    if by == "admin":
        _send(patient, new_email, "email_changed", notice)
    request_replan(patient)


@transaction.atomic
def admin_changed_login_email(*, context: AuditContext, patient: Patient, old_email: str, new_email: str) -> None:
    """An administrator changed a patient's address in the admin site (on the login or on the record): keep
    both in step, audit old and new, and tell both addresses."""
    _move_login_email(context, patient, patient.user, old_email=old_email, new_email=new_email, by="admin")
