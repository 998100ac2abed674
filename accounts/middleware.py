"""Ends a session that has been idle too long or has reached its absolute limit (see accounts/sessions.py)."""

import time
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from . import mfa, sessions


def is_background(request: HttpRequest) -> bool:
    """A request the page made by itself (polling), not the person: it does not keep the session alive."""
    if request.META.get(sessions.BACKGROUND_META):
        return True
    return request.method == "GET" and request.path == reverse("accounts:session-keep-alive")


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            current = sessions.state(request, now)
            if current.expired_because:
                return self._end(request, current.expired_because)
            if not is_background(request):
                sessions.touch(request, now)
                current = sessions.state(request, now)
            request.session_timeout = {
                "remaining": current.remaining,
                "warning": settings.SESSION_WARNING_SECONDS,
                "warning_words": sessions.warning_words(),
            }
        return self.get_response(request)

    def _end(self, request: HttpRequest, reason: str) -> HttpResponse:
        user = request.user
        message = sessions.ended_message(user, reason)
        logout(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=401)
        messages.info(request, message)  # shown by the sign-in page the browser goes to next
        if request.path == reverse("accounts:session-keep-alive"):
            return JsonResponse({"detail": message, "remaining": 0}, status=401)
        if request.headers.get("HX-Request"):
            # htmx would swap the sign-in page into a fragment; it follows HX-Redirect with a full page instead.
            page = urlsplit(request.headers.get("HX-Current-URL", "")).path or "/"
            response = HttpResponse(status=401)
            response["HX-Redirect"] = redirect_to_login(page)["Location"]
            return response
        return redirect_to_login(request.get_full_path())


# --- the second factor ---
# The second factor's gate, for every page and for the API used with a session.
#
# After a correct password the user is signed in, but the session is not *verified* until a code or a passkey has
# passed (`django_otp.login`). Until then:
# - a user who has a factor reaches only the page that asks for it (and signing out);
# - staff and administrators without a factor, while MFA_REQUIRED_FOR_STAFF is on, reach only the pages that set one
#   up (and signing out);
# - anyone else (patients, and staff while it is off) goes on as before.
# Requests authenticated by an API token are not seen here (DRF authenticates them in the view, later).

# Open to every signed-in user, verified or not.
ALWAYS_OPEN = frozenset(
    {
        "accounts:login",
        "accounts:logout",
        "accounts:session-keep-alive",
        "accounts:set-language",
        "healthz",
        "otp_webauthn:js-i18n-catalog",
    }
)
# The second step of signing in.
VERIFY_OPEN = frozenset(
    {
        "accounts:mfa-verify",
        "otp_webauthn:credential-authentication-begin",
        "otp_webauthn:credential-authentication-complete",
    }
)
# Setting up a first factor.
SETUP_OPEN = frozenset(
    {
        "accounts:security",
        "accounts:mfa-totp-setup",
        "otp_webauthn:credential-registration-begin",
        "otp_webauthn:credential-registration-complete",
    }
)

# A user with no factor who need not have one is checked again this often (not on every request), so that a
# factor added in another session is asked for here too within minutes.
_NO_FACTOR_UNTIL = "_mfa_no_factor_until"
RECHECK_SECONDS = 300

VERIFY, SET_UP = "verify", "set-up"


def gate_state(request: HttpRequest) -> str | None:
    """What the signed-in, unverified user of this request must do first, if anything."""
    user = request.user
    if not user.is_authenticated or user.is_verified():
        return None
    if mfa.mfa_required(user):
        return VERIFY if mfa.has_factor(user) else SET_UP
    if request.session.get(_NO_FACTOR_UNTIL, 0) > time.time():
        return None
    if mfa.has_factor(user):
        return VERIFY
    request.session[_NO_FACTOR_UNTIL] = time.time() + RECHECK_SECONDS
    return None


def note_factors_at_sign_in(request: HttpRequest, user) -> None:
    """At sign-in (after the password): a user who has no factor and need not have one is not asked again for a
    while, so that the pages after sign-in do not each look for a factor."""
    if not mfa.mfa_required(user) and not mfa.has_factor(user):
        request.session[_NO_FACTOR_UNTIL] = time.time() + RECHECK_SECONDS


def forget_no_factor(request: HttpRequest) -> None:
    request.session.pop(_NO_FACTOR_UNTIL, None)


def _url_name(request: HttpRequest) -> str | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    return f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.mfa_pending = None
        if request.user.is_authenticated:
            name = _url_name(request)
            if name is not None and name not in ALWAYS_OPEN:
                state = gate_state(request)
                request.mfa_pending = state
                if state is not None and name not in (VERIFY_OPEN if state == VERIFY else SETUP_OPEN):
                    return self._refuse(request, state)
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest, state: str):
        if request.path_info.startswith("/api/"):
            detail = (
                "Finish signing in first: enter the code from your authenticator app or use your passkey."
                if state == VERIFY
                else "Set up a second sign-in step first, on the Security page."
            )
            return JsonResponse({"detail": detail}, status=403)
        target = reverse("accounts:mfa-verify" if state == VERIFY else "accounts:security")
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)
