"""Session lifetimes: an idle timeout (staff and patients differ), an absolute limit from sign-in, and staff
session cookies that end with the browser.

The session keeps when it signed in and when the user was last active. Background refreshes (a page polling
for news, the warning script asking how long is left) send BACKGROUND_HEADER and do not count as activity.
"""

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext as _

from .models import Role
from .words import duration_words

SIGNED_IN_AT = "_signed_in_at"
LAST_ACTIVE_AT = "_last_active_at"
BACKGROUND_HEADER = "X-Background-Refresh"
BACKGROUND_META = "HTTP_X_BACKGROUND_REFRESH"
# Activity is written to the session at most this often (a write per request would be a database write).
ACTIVITY_RESOLUTION_SECONDS = 10


def is_patient(user: AbstractBaseUser) -> bool:
    return getattr(user, "role", "") == Role.PATIENT


def idle_seconds(user: AbstractBaseUser) -> int:
    minutes = settings.SESSION_IDLE_MINUTES_PATIENT if is_patient(user) else settings.SESSION_IDLE_MINUTES_STAFF
    return minutes * 60


def absolute_seconds() -> int:
    return settings.SESSION_ABSOLUTE_HOURS * 3600


def start(request: HttpRequest, user: AbstractBaseUser) -> None:
    """At sign-in: the clocks start; a staff member's cookie ends with the browser."""
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_ACTIVE_AT] = now
    if not is_patient(user):
        request.session.set_expiry(0)


@dataclass(frozen=True)
class SessionState:
    expired_because: str | None  # "idle" or "absolute" when the session has ended
    remaining: int  # seconds until it ends without further activity


def state(request: HttpRequest, now: float) -> SessionState:
    session = request.session
    signed_in = session.setdefault(SIGNED_IN_AT, now)  # a session from before this rule: starts counting now
    last = session.get(LAST_ACTIVE_AT, signed_in)
    idle_end = last + idle_seconds(request.user)
    absolute_end = signed_in + absolute_seconds()
    if now >= absolute_end:
        return SessionState("absolute", 0)
    if now >= idle_end:
        return SessionState("idle", 0)
    return SessionState(None, math.ceil(min(idle_end, absolute_end) - now))  # up: the page asks again at 0


def touch(request: HttpRequest, now: float) -> None:
    """Count this request as activity (a POST always: it is what "Stay signed in" sends)."""
    if request.method == "POST" or now - request.session.get(LAST_ACTIVE_AT, 0) >= ACTIVITY_RESOLUTION_SECONDS:
        request.session[LAST_ACTIVE_AT] = now


def ended_message(user: AbstractBaseUser, reason: str) -> str:
    if reason == "absolute":
        return _(
            "You were signed out because you signed in %(time)s ago, to protect patient data. Sign in again to go on."
        ) % {"time": duration_words(absolute_seconds())}
    return _(
        "You were signed out after %(time)s without activity, to protect patient data. Sign in again to go on."
    ) % {"time": duration_words(idle_seconds(user))}


def warning_words() -> str:
    return duration_words(settings.SESSION_WARNING_SECONDS)
