"""The per-account cap on failed sign-ins, which slows rather than blocks, and the device cookie that passes it.

django-axes locks a (username, client address) pair after AXES_FAILURE_LIMIT failures. On top of that, when one
username has had LOGIN_ACCOUNT_FAILURE_LIMIT failures from any addresses within LOGIN_ACCOUNT_WINDOW_MINUTES,
each further attempt for it must wait: LOGIN_ACCOUNT_DELAY_SECONDS after the latest failure, doubling with each
failure over the limit, up to LOGIN_ACCOUNT_DELAY_MAX_SECONDS. An attempt made while waiting is refused without
checking the password (and is not counted). A browser that has signed in to the account before carries a signed
device cookie (OWASP "device cookies") and does not wait; it stays subject to its own per-address lock.

Both sign-in paths call `login_slowdown`: the sign-in page and the API token endpoint.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from axes.models import AccessFailureLog
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from .words import duration_words

DEVICE_COOKIE = "rt_device"
_DEVICE_SALT = "accounts.lockout.device"
_DEVICE_ACCOUNTS_KEPT = 5  # a shared ward computer may be used by a few people


@dataclass(frozen=True)
class Slowdown:
    seconds: int

    @property
    def message(self) -> str:
        return _(
            "Many wrong passwords have been tried for this account, so for your safety each new try from a device "
            "that has not signed in to it before must wait. Try again in %(wait)s, or reset your password. If you "
            "feel unwell, do not wait: call your transplant unit."
        ) % {"wait": duration_words(self.seconds)}


def _key(username: str) -> str:
    return username  # as the sign-in compares it: exactly


def _known_accounts(request: HttpRequest) -> list[str]:
    value = request.COOKIES.get(DEVICE_COOKIE)
    if not value:
        return []
    try:
        accounts = signing.loads(value, salt=_DEVICE_SALT, max_age=timedelta(days=settings.LOGIN_DEVICE_COOKIE_DAYS))
    except signing.BadSignature:
        return []
    return [name for name in accounts if isinstance(name, str)] if isinstance(accounts, list) else []


def is_known_device(request: HttpRequest, username: str) -> bool:
    return _key(username) in _known_accounts(request)


def remember_device(request: HttpRequest, response: HttpResponse, username: str) -> None:
    """After a successful sign-in: (re)issue the signed cookie that names this account for this browser."""
    accounts = [name for name in _known_accounts(request) if name != _key(username)] + [_key(username)]
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(accounts[-_DEVICE_ACCOUNTS_KEPT:], salt=_DEVICE_SALT),
        max_age=settings.LOGIN_DEVICE_COOKIE_DAYS * 86400,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def login_slowdown(request: HttpRequest, username: str | None) -> Slowdown | None:
    """The wait this attempt for `username` must still sit out, or None when it may go ahead."""
    if not username or is_known_device(request, username):
        return None
    now = timezone.now()
    failures = AccessFailureLog.objects.filter(
        username=username, attempt_time__gte=now - timedelta(minutes=settings.LOGIN_ACCOUNT_WINDOW_MINUTES)
    )
    count = failures.count()
    if count < settings.LOGIN_ACCOUNT_FAILURE_LIMIT:
        return None
    over = min(count - settings.LOGIN_ACCOUNT_FAILURE_LIMIT, 30)
    delay = min(settings.LOGIN_ACCOUNT_DELAY_SECONDS * 2**over, settings.LOGIN_ACCOUNT_DELAY_MAX_SECONDS)
    latest = failures.order_by("-attempt_time").values_list("attempt_time", flat=True).first()
    remaining = math.ceil((latest + timedelta(seconds=delay) - now).total_seconds())
    return Slowdown(remaining) if remaining > 0 else None
