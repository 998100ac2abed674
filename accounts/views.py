import logging
import secrets
from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from recovery.middleware import remember_language
from recovery.services import api_tokens
from recovery.services.audit import AuditContext
from recovery.services.language import set_own_language

from . import mfa, sessions
from .forms import ApiTokenForm, LoginForm
from .lockout import login_slowdown, remember_device
from .models import ApiToken
from .passwords import password_rule_text, reset_link_lifetime, reset_request_refusal
from .tasks import send_password_reset

logger = logging.getLogger(__name__)


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return _(
        "Too many failed sign-in attempts. For your safety, signing in with this username from this device is "
        "paused for %(minutes)s minutes. Wait and try again, or reset your password. If you feel unwell, do not "
        "wait: call your transplant unit."
    ) % {"minutes": minutes}


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """What django-axes returns while a (username, IP) pair is locked out: the login page, or JSON for the API."""
    status = settings.AXES_HTTP_RESPONSE_CODE if hasattr(settings, "AXES_HTTP_RESPONSE_CODE") else 429
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message()}, status=status)
    form = LoginForm(request)
    return render(
        request,
        "registration/login.html",
        {"form": form, "locked_out": True, "lockout_message": lockout_message()},
        status=status,
    )


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["failure_limit"] = settings.AXES_FAILURE_LIMIT
        context["cooloff_minutes"] = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        return context

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        slowdown = login_slowdown(request, username)
        if slowdown is not None:
            # Refused before the password is checked; the form is unbound so that nothing is authenticated.
            form = self.form_class(request, initial={"username": username})
            context = self.get_context_data(form=form, locked_out=True, lockout_message=slowdown.message)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(slowdown.seconds)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        remember_device(self.request, response, form.get_user().get_username())
        return response


class PasswordRuleMixin:
    """Says the password rule in words above the form."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "password_rule": password_rule_text()}


class PasswordChangeView(PasswordRuleMixin, auth_views.PasswordChangeView):
    pass


class PasswordResetConfirmView(PasswordRuleMixin, auth_views.PasswordResetConfirmView):
    pass


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "link_valid_for": reset_link_lifetime()}


class PasswordResetView(auth_views.PasswordResetView):
    """Rate-limited, and the same work whether or not the address has an account: the e-mail is a task's job."""

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        refusal = reset_request_refusal(self.request, email)
        if refusal is not None:
            form.add_error(None, refusal.message)
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(refusal.seconds)
            return response
        transaction.on_commit(partial(_enqueue_password_reset, email))
        return HttpResponseRedirect(self.get_success_url())


def _enqueue_password_reset(email: str) -> None:
    try:
        send_password_reset.delay(email)
    except Exception:  # the broker is down: the answer must not differ, so it is logged, not shown
        logger.exception("Could not enqueue a password-reset e-mail")


@require_http_methods(["GET", "POST"])
def session_keep_alive(request: HttpRequest) -> JsonResponse:
    """POST: the person is still there (the middleware has counted it as activity). GET: how long is left.

    Both answer the seconds left before the session ends without further activity.
    """
    timeout = getattr(request, "session_timeout", None)
    if not request.user.is_authenticated or timeout is None:
        return JsonResponse({"detail": _("You are signed out."), "remaining": 0}, status=401)
    return JsonResponse({"remaining": timeout["remaining"], "idle": sessions.idle_seconds(request.user)})


def second_factor_needed(user) -> str:
    """Why this session may not create an API token yet ("" when it may).

    A token bypasses the sign-in, so it is made only in a session that passed the second factor, whenever the
    user has one; staff need one when MFA_REQUIRED_FOR_STAFF is on."""
    if mfa.has_factor(user):
        if not user.is_verified():
            return _("Sign out and sign in again with your second factor before you create an API token.")
        return ""
    if mfa.mfa_required(user):
        return _("Set up a second factor (an authenticator app) and sign in with it before you create an API token.")
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def api_token_list(request: HttpRequest) -> HttpResponse:
    """The user's own API tokens (never their secrets); a new token's key is shown once, in this response only.

    The form carries a one-time number: sending the same form again (the browser's refresh after creating a
    token) makes no second token, and the secret is never kept on the server to show it later."""
    blocked = second_factor_needed(request.user)
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    created, key, resent = None, "", False
    if request.method == "POST" and not blocked and form.is_valid():
        if _spend_form_nonce(request, request.POST.get("nonce", "")):
            created, key = api_tokens.issue_token(
                context=AuditContext.from_request(request),
                owner=request.user,
                name=form.cleaned_data["name"],
                days=form.cleaned_data["days"],
            )
        else:
            resent = True
        form = ApiTokenForm()
    now = timezone.now()
    tokens = [(token, token.status(now)) for token in ApiToken.objects.filter(owner=request.user)]
    response = render(
        request,
        "accounts/api_tokens.html",
        {
            "form": form,
            "nonce": _new_form_nonce(request),
            "tokens": tokens,
            "created": created,
            "key": key,
            "resent": resent,
            "blocked": blocked,
            "any_active": any(state == "active" for _, state in tokens),
        },
        status=200 if request.method == "GET" or created or resent else 403 if blocked else 400,
    )
    add_never_cache_headers(response)  # the page may carry a new key: never kept by a browser or proxy
    return response


_TOKEN_FORM_NONCES = "_api_token_form_nonces"  # noqa: S105 (a session key, not a secret)


def _new_form_nonce(request: HttpRequest) -> str:
    nonce = secrets.token_urlsafe(16)
    request.session[_TOKEN_FORM_NONCES] = [*request.session.get(_TOKEN_FORM_NONCES, [])[-4:], nonce]
    return nonce


def _spend_form_nonce(request: HttpRequest, nonce: str) -> bool:
    """True once per form shown: the number is then used up."""
    nonces = request.session.get(_TOKEN_FORM_NONCES, [])
    if not nonce or nonce not in nonces:
        return False
    request.session[_TOKEN_FORM_NONCES] = [n for n in nonces if n != nonce]
    return True


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, token_id) -> HttpResponse:
    token = get_object_or_404(ApiToken, uuid=token_id, owner=request.user)
    if api_tokens.revoke_token(context=AuditContext.from_request(request), token=token, reason="revoked by owner"):
        messages.success(request, _("The token “%(name)s” is revoked: it no longer works.") % {"name": token.name})
    else:
        messages.info(request, _("The token “%(name)s” was revoked already.") % {"name": token.name})
    return redirect("accounts:api-tokens")


@login_required
@require_POST
def api_token_revoke_all(request: HttpRequest) -> HttpResponse:
    count = api_tokens.revoke_all(
        context=AuditContext.from_request(request), owner=request.user, reason="all revoked by owner"
    )
    if count:
        text = ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count) % {"count": count}
    else:
        text = _("You had no token left to revoke.")
    messages.success(request, text)
    return redirect("accounts:api-tokens")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The language switch in the navigation: the cookie for this browser (signed in or not) and, for someone
    signed in, their own setting (a patient's record, audited; a member of staff's account); then back to the
    page it was used on, when that is a page of this site."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = resolve_url(settings.LOGIN_REDIRECT_URL if request.user.is_authenticated else settings.LOGIN_URL)
    response = HttpResponseRedirect(next_url)
    follow_browser = language == "" and request.user.is_authenticated  # staff: "the browser's language"
    if language not in dict(settings.LANGUAGES) and not follow_browser:
        messages.error(request, _("Choose one of the languages offered."))
        return response
    if request.user.is_authenticated:
        try:
            set_own_language(context=AuditContext.from_request(request), user=request.user, language=language)
        except ValidationError as exc:
            if follow_browser:  # a patient's record always has a language
                messages.error(request, " ".join(exc.messages))
                return response
            messages.warning(
                request, _("The language is changed in this browser, but it could not be saved to your account.")
            )
        remember_language(request, language)
    if follow_browser:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN
        )
        return response
    translation.activate(language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
