"""Password rules in words, and the limit on password-reset e-mails.

The reset limit counts in the cache (shared between processes when CACHE_URL or a Redis broker is set): per
client address and per e-mail address (hashed), so that nobody can flood an inbox or probe many addresses.
"""

import hashlib
import time
from dataclasses import dataclass

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _

from .words import duration_words


def password_rule_text() -> str:
    return _(
        "Use at least %(length)s characters; a few unrelated words make a password that is long and easy to "
        "remember. Passwords that are common or have appeared in data breaches are refused."
    ) % {"length": settings.PASSWORD_MIN_LENGTH}


def reset_link_lifetime() -> str:
    """How long a password-reset or invitation link works, in words ("1 hour")."""
    return duration_words(settings.PASSWORD_RESET_TIMEOUT)


@dataclass(frozen=True)
class ResetRefusal:
    seconds: int

    @property
    def message(self) -> str:
        window = duration_words(settings.PASSWORD_RESET_LIMIT_WINDOW_MINUTES * 60)
        return _(
            "We have already sent the most password-reset e-mails we send in %(window)s. Check your inbox (and "
            "spam folder) for the e-mails sent, or try again in %(wait)s. If you feel unwell, do not wait: call "
            "your transplant unit."
        ) % {"window": window, "wait": duration_words(self.seconds)}


def _count(key: str, limit: int, window: int, now: float) -> int:
    """Count one more request in the window that started with the first one; seconds left when over `limit`."""
    cache.add(f"{key}:start", now, window)
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        count = 1
    if count <= limit:
        return 0
    started = cache.get(f"{key}:start", now)
    return max(1, int(started + window - now + 0.999))


def reset_request_refusal(request: HttpRequest, email: str) -> ResetRefusal | None:
    """Count a reset request from this client for this e-mail address; a refusal when either is over its limit.

    The same for an address with an account and one without: the answer reveals nothing.
    """
    now = time.time()
    window = settings.PASSWORD_RESET_LIMIT_WINDOW_MINUTES * 60
    address = get_client_ip_address(request) or "unknown"
    email_hash = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    wait = max(
        _count(f"password-reset:address:{address}", settings.PASSWORD_RESET_LIMIT_PER_ADDRESS, window, now),
        _count(f"password-reset:email:{email_hash}", settings.PASSWORD_RESET_LIMIT_PER_EMAIL, window, now),
    )
    return ResetRefusal(wait) if wait else None
