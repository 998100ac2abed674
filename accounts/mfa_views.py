"""The second factor's pages: the Security page, setting up an authenticator app, recovery codes, removing a
factor, and the second step of signing in (codes and passkeys). The rules are in accounts/mfa.py."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django.views.i18n import JavaScriptCatalog
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.models import WebAuthnCredential

from accounts import mfa
from accounts.mfa_forms import CodeForm, PasswordConfirmForm, TotpConfirmForm
from accounts.middleware import forget_no_factor
from recovery.services.audit import AuditContext

WRONG_CODES_KEY = "_mfa_wrong_codes"


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _verified_or_free(request: HttpRequest) -> bool:
    """Changing factors needs a session that passed one, when the user has any."""
    return request.user.is_verified() or not mfa.has_factor(request.user)


# --- the Security page and set-up -----------------------------------------------------------------------------------


@never_cache
@login_required
def security(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/security.html",
        {
            "factors": mfa.factors_of(user),
            "required": mfa.mfa_required(user),
            "must_set_up": getattr(request, "mfa_pending", None) == "set-up",
            "next": _next_url(request),
            "code_count": settings.MFA_RECOVERY_CODE_COUNT,
            "passkeys_available": mfa.passkeys_available(),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not _verified_or_free(request):
        return redirect("accounts:mfa-verify")
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        messages.info(request, _("You already have an authenticator app set up. Remove it first to set up another."))
        return redirect("accounts:security")
    device = mfa.pending_totp(user)
    form = TotpConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if mfa.confirm_totp(context=AuditContext.from_request(request), device=device, code=form.cleaned_data["code"]):
            if not user.is_verified():
                otp_login(request, device)
            forget_no_factor(request)
            messages.success(request, _("Your authenticator app is set up: signing in now asks for its code."))
            if mfa.factors_of(user).recovery_codes_left is None:
                codes = mfa.new_recovery_codes(context=AuditContext.from_request(request), user=user)
                return render(request, "accounts/recovery_codes.html", {"codes": codes, "first": True})
            return redirect("accounts:security")
        form.add_error(
            "code",
            _(
                "That code is not right. Check that your app shows the recovery tracker and enter the 6 digits it "
                "shows now (a new code appears every 30 seconds)."
            ),
        )
    return render(
        request,
        "accounts/totp_setup.html",
        {"form": form, "qr_svg": mfa.totp_qr_svg(device), "secret": mfa.totp_secret_text(device)},
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not mfa.has_factor(user):
        messages.info(request, _("Recovery codes back up an authenticator app or a passkey: set up one of them first."))
        return redirect("accounts:security")
    if not user.is_verified():
        return redirect("accounts:mfa-verify")
    if request.method == "POST":
        codes = mfa.new_recovery_codes(context=AuditContext.from_request(request), user=user)
        return render(request, "accounts/recovery_codes.html", {"codes": codes, "first": False})
    return render(
        request,
        "accounts/recovery_codes_confirm.html",
        {"factors": mfa.factors_of(user), "code_count": settings.MFA_RECOVERY_CODE_COUNT},
    )


def _remove(request: HttpRequest, device, kind: str, remover) -> HttpResponse:
    user = request.user
    if not user.is_verified():
        return redirect("accounts:mfa-verify")
    factors = mfa.factors_of(user)
    last = len(factors.totp) + len(factors.passkeys) == 1
    if last and mfa.mfa_required(user):
        messages.error(
            request,
            _(
                "Staff must keep a second sign-in step. Add another one (an authenticator app or a passkey) first, "
                "then remove this one."
            ),
        )
        return redirect("accounts:security")
    form = PasswordConfirmForm(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        remover(context=AuditContext.from_request(request), **{kind: device})
        messages.success(request, _("Removed. We have e-mailed you a notice of the change."))
        return redirect("accounts:security")
    return render(request, "accounts/factor_remove.html", {"form": form, "device": device, "last": last})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def totp_remove(request: HttpRequest, device_id: int) -> HttpResponse:
    device = get_object_or_404(TOTPDevice, pk=device_id, user=request.user, confirmed=True)
    return _remove(request, device, "device", mfa.remove_totp)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def passkey_remove(request: HttpRequest, device_id: int) -> HttpResponse:
    credential = get_object_or_404(WebAuthnCredential, pk=device_id, user=request.user, confirmed=True)
    return _remove(request, credential, "credential", mfa.remove_passkey)


# --- the second step of signing in ----------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """After the password: a code (authenticator app or recovery code) or a passkey.

    Wrong codes are counted in the session: after MFA_MAX_WRONG_CODES the user is signed out and starts again from
    the password, and django-axes records it as a failed sign-in. Each device also waits longer after each wrong
    code (django-otp's throttling, kept in the database and not reset by a correct password).
    """
    user = request.user
    if not user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if user.is_verified() or not mfa.has_factor(user):
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = mfa.check_code(user, form.cleaned_data["code"])
        context = AuditContext.from_request(request)
        if check.device is not None:
            otp_login(request, check.device)
            request.session.cycle_key()  # a new session id for the now fully signed-in session
            request.session.pop(WRONG_CODES_KEY, None)
            mfa.record_verified(context=context, device=check.device)
            return redirect(_next_url(request))
        if check.wait_seconds:
            form.add_error(
                "code",
                ngettext(
                    "Too many wrong codes in a row. Wait %(count)d second, then enter the code your app shows at "
                    "that moment.",
                    "Too many wrong codes in a row. Wait %(count)d seconds, then enter the code your app shows at "
                    "that moment.",
                    check.wait_seconds,
                )
                % {"count": check.wait_seconds},
            )
        else:
            failures = request.session.get(WRONG_CODES_KEY, 0) + 1
            limit = settings.MFA_MAX_WRONG_CODES
            signed_out = failures >= limit
            mfa.record_wrong_code(context=context, user=user, failures=failures, signed_out=signed_out)
            if signed_out:
                username = user.get_username()
                logout(request)
                user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
                messages.error(
                    request,
                    _(
                        "%(limit)d wrong codes in a row, so you have been signed out. Sign in again with your "
                        "password; if you have lost your phone, use one of your recovery codes."
                    )
                    % {"limit": limit},
                )
                return redirect(settings.LOGIN_URL)
            request.session[WRONG_CODES_KEY] = failures
            left = limit - failures
            form.add_error(
                "code",
                ngettext(
                    "That code is not right. Enter the 6 digits your app shows now, or a recovery code (%(count)d "
                    "try left before you must sign in again).",
                    "That code is not right. Enter the 6 digits your app shows now, or a recovery code (%(count)d "
                    "tries left before you must sign in again).",
                    left,
                )
                % {"count": left},
            )
    factors = mfa.factors_of(user)
    return render(
        request, "registration/mfa_verify.html", {"form": form, "factors": factors, "next": _next_url(request)}
    )


# --- passkeys (django-otp-webauthn's views, with the audit row and the notice) -------------------------------------


class PasskeyRegistrationComplete(webauthn_views.CompleteCredentialRegistrationView):
    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        if response.status_code == 200:
            credential = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"], user=self.request.user)
            mfa.record_passkey_added(context=AuditContext.from_request(self.request), credential=credential)
            forget_no_factor(self.request)
        return response


class PasskeyAuthenticationComplete(webauthn_views.CompleteCredentialAuthenticationView):
    def complete_auth(self, device):
        super().complete_auth(device)
        self.request.session.cycle_key()
        self.request.session.pop(WRONG_CODES_KEY, None)
        mfa.record_verified(context=AuditContext.from_request(self.request), device=device)


# Mounted under the namespace "otp_webauthn" (recovery/urls.py): django-otp-webauthn's template tags name it.
webauthn_patterns = [
    path(
        "registration/begin/",
        webauthn_views.BeginCredentialRegistrationView.as_view(),
        name="credential-registration-begin",
    ),
    path("registration/complete/", PasskeyRegistrationComplete.as_view(), name="credential-registration-complete"),
    path(
        "authentication/begin/",
        webauthn_views.BeginCredentialAuthenticationView.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        PasskeyAuthenticationComplete.as_view(),
        name="credential-authentication-complete",
    ),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]
