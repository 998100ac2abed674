"""Ends a session that has been idle too long or has reached its absolute limit (see accounts/sessions.py)."""

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from . import sessions


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
