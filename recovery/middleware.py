import ipaddress
import re
import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers

from recovery.api.fhir.common import outcome_response, too_large_message

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Give every request an id made here, and echo it back in X-Request-ID.

    Audit rows carry it, so one request's reads and changes can be found together in the logs. A client's own
    X-Request-ID is never the stored id (anyone could send one to blur the trail); when it is well formed it is
    kept apart as `request.client_request_id`, which the audit row records under that name.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.client_request_id = incoming if _REQUEST_ID.match(incoming) else ""
        request.request_id = uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address of the person's device, for audit rows (and the lockout, see the README).

    With no trusted proxy (TRUSTED_PROXY_COUNT=0, the default) that is REMOTE_ADDR: an X-Forwarded-For header is
    then whatever the client wrote and is ignored. Behind N trusted proxies, each of which appends the address it
    was reached from to X-Forwarded-For, the client is the N-th address from the right (anything further left
    was written by the client). A header that is missing, too short or not an address falls back to REMOTE_ADDR.
    """
    request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    remote = _valid_ip(request.META.get("REMOTE_ADDR"))
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < count:
        return remote
    return _valid_ip(hops[-count]) or remote


# C0 control characters other than tab, line feed and carriage return (NUL among them: PostgreSQL refuses it in
# text, so it would otherwise reach the database and answer 500).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same characters written as JSON escapes (\u0000 ... \u001f and \u007f, except tab, LF and CR).
_JSON_CONTROL = re.compile(r"\\u00(?:0[0-8bcef]|1[0-9a-f]|7f)", re.IGNORECASE)
CONTROL_MESSAGE = (
    "The request contains a control character (such as NUL) that no field accepts. Remove it and try again."
)


def _any_control(pairs) -> bool:
    return any(CONTROL_CHARACTERS.search(key) or CONTROL_CHARACTERS.search(value) for key, value in pairs)


def _is_form(request) -> bool:
    return (request.content_type or "") in ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_control_characters(request) -> bool:
    if CONTROL_CHARACTERS.search(request.path) or CONTROL_CHARACTERS.search(request.META.get("QUERY_STRING", "")):
        return True
    if _any_control((key, value) for key, values in request.GET.lists() for value in values):
        return True
    if _is_form(request):  # form fields (an uploaded file, the CSV import, is checked where it is read)
        if request.path.startswith("/api/"):
            return _any_control((key, value) for key, values in request.POST.lists() for value in values)
        return any(CONTROL_CHARACTERS.search(key) for key in request.POST)
    if (request.content_type or "").endswith("json"):
        text = request.body.decode("utf-8", "replace")
        return CONTROL_CHARACTERS.search(text) is not None or _JSON_CONTROL.search(text) is not None
    return False


def _without_control_characters(request) -> None:
    """A page's form fields lose their (invisible) control characters and keep everything else that was typed:
    a NUL pasted into a check-in's notes must not cost the patient the whole check-in."""
    if _is_form(request) and not request.path.startswith("/api/"):
        posted = request.POST
        if _any_control((key, value) for key, values in posted.lists() for value in values):
            cleaned = posted.copy()
            for key, values in posted.lists():
                cleaned.setlist(key, [CONTROL_CHARACTERS.sub("", value) for value in values])
            cleaned._mutable = False
            request.POST = cleaned


class RefuseControlCharactersMiddleware:
    """A control character in the path, the query string, an API form field or a JSON body is a clear 400, never a
    500; in a page's form fields it is removed and the rest of what was typed goes on to the view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            refused = _has_control_characters(request)
        except RequestDataTooBig:
            if not request.path.startswith("/fhir/"):
                raise
            return outcome_response(400, "too-costly", too_large_message())
        if refused:
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": CONTROL_MESSAGE}, status=400)
            if request.path.startswith("/fhir/"):
                return outcome_response(400, "invalid", CONTROL_MESSAGE)
            return HttpResponse(CONTROL_MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        _without_control_characters(request)
        return self.get_response(request)


SESSION_TIMEZONE_KEY = "timezone"
# The signed-in person's own language, kept in the session at sign-in (and by the language switch) so that no
# page reads it from the database; empty: the browser's.
SESSION_LANGUAGE_KEY = "language"


def remember_timezone(sender, request, user, **kwargs) -> None:
    """At sign-in, keep the zone pages are shown in (a patient's own, or the staff member's (first) centre's) and
    the language (a patient's preferred language, or the staff member's own setting)."""
    from recovery.models import Patient

    own = Patient.objects.filter(user=user).values_list("timezone", "preferred_language").first()
    if own is None:
        zone = user.centres.order_by("name").values_list("timezone", flat=True).first()
        language = user.language
    else:
        zone, language = own
    if request is not None and hasattr(request, "session"):
        if zone:
            request.session[SESSION_TIMEZONE_KEY] = zone
        remember_language(request, language)


def remember_language(request, language: str) -> None:
    """Pages in `language` from now on in this session ("" follows the browser again)."""
    if language and translation.check_for_language(language):
        request.session[SESSION_LANGUAGE_KEY] = language
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
    else:
        request.session.pop(SESSION_LANGUAGE_KEY, None)


class UserLanguageMiddleware:
    """The signed-in person's own language before the browser's.

    Django's LocaleMiddleware (earlier in the chain) has chosen the language cookie's, else Accept-Language's,
    else English; a language kept in the session at sign-in wins over it. Signed out, the session has none.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = request.session.get(SESSION_LANGUAGE_KEY) if hasattr(request, "session") else None
        if language and translation.check_for_language(language):
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class TimezoneMiddleware:
    """Show times in the zone remembered at sign-in (stored times stay UTC)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = request.session.get(SESSION_TIMEZONE_KEY) if hasattr(request, "session") else None
        if zone:
            try:
                timezone.activate(ZoneInfo(zone))
            except (ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()  # nothing after this request (another request, a test) inherits the zone


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's enforced policy (settings.CONTENT_SECURITY_POLICY) on every response.

    Two exceptions. The admin site: Django's change-list template writes an inline <style>, so its pages may use
    inline styles (scripts stay 'self' only there too). And with DEBUG on, DRF's browsable API (an HTML page that
    only DEBUG turns on, see REST_FRAMEWORK) may use its inline script and styles; the Swagger page needs neither.
    """

    RELAXED_STYLE_PREFIXES = ("/admin/",)

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        path = request.path_info
        relaxed = {}
        if path.startswith(self.RELAXED_STYLE_PREFIXES):
            relaxed = {"style-src": [UNSAFE_INLINE]}
        elif (
            settings.DEBUG
            and path.startswith("/api/")
            and not path.startswith("/api/docs/")
            and response.get("Content-Type", "").startswith("text/html")
        ):
            relaxed = {"style-src": [UNSAFE_INLINE], "script-src": [UNSAFE_INLINE]}
        if relaxed:
            parts.update = {**(parts.update or {}), **relaxed}
        return parts


class PermissionsPolicyMiddleware:
    """Permissions-Policy (settings.PERMISSIONS_POLICY): the browser features our pages may use, on every response
    that is not a static file (WhiteNoise answers those before this middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = ", ".join(f"{feature}={allow}" for feature, allow in settings.PERMISSIONS_POLICY.items())

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.setdefault("Permissions-Policy", self.header)
        return response


class NoStoreMiddleware:
    """No browser or proxy keeps a copy of a response that may carry patient data.

    That is every response to a signed-in request and every API response (a token signs those in inside the view),
    whatever its status. Left alone: static files (WhiteNoise answers those first; STATIC_URL is skipped too),
    /healthz (never cached by its own view), and what an anonymous visitor gets (the sign-in page, the
    password-reset pages). The calendar feed sets its own `private, no-cache` and is reached without signing
    in, so it keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request):
        response = self.get_response(request)
        path = request.path_info
        if path.startswith(self.static_prefix) or path == "/healthz":
            return response
        user = getattr(request, "user", None)
        if path.startswith("/api/") or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)  # Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private
            response["Pragma"] = "no-cache"
        return response
