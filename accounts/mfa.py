"""Second factors: an authenticator app (TOTP), recovery codes and passkeys (django-otp, django-otp-webauthn).

A *factor* is a confirmed authenticator app or passkey. Recovery codes are the backup of a factor, never one on
their own: they are made with the first factor and removed with the last. A session is *verified* once
`django_otp.login` has recorded the device that passed (accounts/middleware.py lets an unverified session of a user
with a factor reach only the page that asks for it).

Every set-up and removal writes an audit row (patient=None) and e-mails the user a notice.
"""

import base64
import logging
import re
from dataclasses import dataclass, field

import segno
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, gettext_lazy
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import STAFF_ROLES, User
from recovery.services.audit import AuditContext, record_event

logger = logging.getLogger(__name__)

RECOVERY_DEVICE_NAME = "Recovery codes"
TOTP_DEVICE_NAME = "Authenticator app"
_TOTP_CODE = re.compile(r"^\d{6}$")


class Kind:
    """The kinds of factor, as the audit action and the notice name them."""

    TOTP = "totp"
    PASSKEY = "passkey"
    RECOVERY_CODES = "recovery_codes"


KIND_LABELS = {
    Kind.TOTP: gettext_lazy("an authenticator app"),
    Kind.PASSKEY: gettext_lazy("a passkey"),
    Kind.RECOVERY_CODES: gettext_lazy("recovery codes"),
}


# --- rules --------------------------------------------------------------------------------------------------------


def is_mfa_staff(user: User) -> bool:
    """Coordinators, clinicians and administrators: the people a second factor is required of in production."""
    return user.role in STAFF_ROLES or user.is_staff or user.is_superuser


def mfa_required(user: User) -> bool:
    """Read at request time, so that tests (and a settings change) take effect without a restart."""
    return bool(settings.MFA_REQUIRED_FOR_STAFF) and is_mfa_staff(user)


def passkeys_available() -> bool:
    """Passkeys need an origin they may be used from (HTTPS or localhost; see WEBAUTHN_ALLOWED_ORIGINS)."""
    return bool(settings.OTP_WEBAUTHN_ALLOWED_ORIGINS)


def has_factor(user: User) -> bool:
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    )


@dataclass
class Factors:
    totp: list = field(default_factory=list)
    passkeys: list = field(default_factory=list)
    recovery_codes_left: int | None = None  # None: no recovery codes

    @property
    def any(self) -> bool:
        return bool(self.totp or self.passkeys)


def factors_of(user: User) -> Factors:
    recovery = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return Factors(
        totp=list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("created_at", "pk")),
        passkeys=list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at", "pk")),
        recovery_codes_left=recovery.token_set.count() if recovery else None,
    )


def normalise_code(code: str) -> str:
    """What a person types: spaces and hyphens between groups are fine, and case does not matter."""
    return re.sub(r"[\s-]", "", code or "").lower()


def stored_recovery_code(code: str) -> str:
    """What is kept of a recovery code: a keyed hash (HMAC-SHA256 with SECRET_KEY, 64 bits), never the code, so a
    copy of the database alone gives no working code (ASVS 6.5.2). A new SECRET_KEY voids the codes: new ones are
    made on the Security page."""
    return salted_hmac("accounts.mfa.recovery-code", normalise_code(code), algorithm="sha256").hexdigest()[:16]


@dataclass(frozen=True)
class CodeCheck:
    device: object | None = None  # the device that accepted the code
    wait_seconds: int = 0  # > 0: every device that could have checked it is waiting after wrong codes


def check_code(user: User, code: str) -> CodeCheck:
    """A 6-digit code is checked against the user's authenticator apps; anything else against the recovery codes.

    Each device counts its own wrong codes and waits longer after each (django-otp's throttling, kept in the
    database, so a correct password does not reset it). A recovery code works once: it is deleted when used.
    """
    code = normalise_code(code)
    if not code:
        return CodeCheck()
    if _TOTP_CODE.match(code):
        devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    else:
        devices = list(StaticDevice.objects.filter(user=user, confirmed=True))
    waits = []
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if not allowed:
            locked_until = (data or {}).get("locked_until")
            if locked_until:
                waits.append(max(1, int((locked_until - timezone.now()).total_seconds() + 0.999)))
            continue
        if device.verify_token(code if isinstance(device, TOTPDevice) else stored_recovery_code(code)):
            return CodeCheck(device=device)
    if devices and len(waits) == len(devices):
        return CodeCheck(wait_seconds=min(waits))
    return CodeCheck()


# --- the authenticator app ----------------------------------------------------------------------------------------


def pending_totp(user: User) -> TOTPDevice:
    """The user's authenticator app that is being set up (made once, shown until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def totp_secret_text(device: TOTPDevice) -> str:
    """The secret as authenticator apps accept it typed in: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// address as an inline SVG QR code (segno: pure Python, no image files).

    Sized by app.css (`.mfa-qr svg`) through its viewBox, so it fits a 320 px wide screen.
    """
    qr = segno.make(device.config_url, error="m")
    return qr.svg_inline(
        scale=5, dark="#000", light="#fff", title=gettext("QR code for your authenticator app"), omitsize=True
    )


@transaction.atomic
def confirm_totp(*, context: AuditContext, device: TOTPDevice, code: str) -> bool:
    """The app is set up once it shows a right code; only then does it count as a factor."""
    if device.confirmed or not _TOTP_CODE.match(normalise_code(code)):
        return False
    if not device.verify_token(normalise_code(code)):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    _changed(context=context, user=device.user, kind=Kind.TOTP, added=True, detail={"device": device.persistent_id})
    return True


@transaction.atomic
def remove_totp(*, context: AuditContext, device: TOTPDevice) -> None:
    user, device_id = device.user, device.persistent_id
    device.delete()
    _changed(context=context, user=user, kind=Kind.TOTP, added=False, detail={"device": device_id})
    _drop_recovery_codes_without_factor(context=context, user=user)


# --- passkeys -----------------------------------------------------------------------------------------------------


def record_passkey_added(*, context: AuditContext, credential: WebAuthnCredential) -> None:
    """The passkey itself is saved by django-otp-webauthn's registration view; this records and announces it."""
    _changed(
        context=context,
        user=credential.user,
        kind=Kind.PASSKEY,
        added=True,
        detail={"device": credential.persistent_id},
    )


@transaction.atomic
def remove_passkey(*, context: AuditContext, credential: WebAuthnCredential) -> None:
    user, device_id = credential.user, credential.persistent_id
    credential.delete()
    _changed(context=context, user=user, kind=Kind.PASSKEY, added=False, detail={"device": device_id})
    _drop_recovery_codes_without_factor(context=context, user=user)


# --- recovery codes -----------------------------------------------------------------------------------------------


@transaction.atomic
def new_recovery_codes(*, context: AuditContext, user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones and return them (the only time they are shown)."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True})
    StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.token_set.all().delete()
    device.confirmed = True
    device.throttle_reset(commit=False)
    device.save()
    codes = [StaticToken.random_token() for _ in range(settings.MFA_RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=stored_recovery_code(code)) for code in codes])
    _changed(context=context, user=user, kind=Kind.RECOVERY_CODES, added=True, detail={"count": len(codes)})
    return codes


def _drop_recovery_codes_without_factor(*, context: AuditContext, user: User) -> None:
    if has_factor(user):
        return
    deleted, _ = StaticDevice.objects.filter(user=user).delete()
    if deleted:
        _changed(context=context, user=user, kind=Kind.RECOVERY_CODES, added=False, detail={})


# --- sign-in events -----------------------------------------------------------------------------------------------


def record_verified(*, context: AuditContext, device) -> None:
    record_event(context=context, action="account.mfa.verified", detail={"device": device.persistent_id})


def record_wrong_code(*, context: AuditContext, user: User, failures: int, signed_out: bool) -> None:
    record_event(
        context=context,
        action="account.mfa.wrong_code",
        detail={"username": user.get_username(), "failures": failures, "signed_out": signed_out},
    )


# --- audit and notice ---------------------------------------------------------------------------------------------


def _changed(*, context: AuditContext, user: User, kind: str, added: bool, detail: dict) -> None:
    action = f"account.mfa.{kind}_{'added' if added else 'removed'}"
    record_event(context=context, action=action, detail={"user": user.get_username(), **detail})
    if user.email:
        transaction.on_commit(lambda: _send_notice(user=user, kind=kind, added=added))


def _send_notice(*, user: User, kind: str, added: bool) -> None:
    """Tell the user: if it was not them, someone has their password (the notice says what to do)."""
    context = {
        "user": user,
        "what": KIND_LABELS[kind],
        "added": added,
        "at": timezone.now(),
        "security_url": settings.SITE_URL.rstrip("/") + reverse("accounts:security"),
    }
    subject = render_to_string("emails/mfa_changed_subject.txt", context).strip()
    message = EmailMultiAlternatives(subject, render_to_string("emails/mfa_changed.txt", context), to=[user.email])
    try:
        message.send()
    except Exception:  # the change is made; a mail server that is down must not undo it or show a 500
        logger.exception("Could not send the second-factor notice to user %s", user.pk)
