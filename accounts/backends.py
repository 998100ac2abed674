"""An authentication backend that refuses an attempt while the per-account wait applies (accounts/lockout.py).

The sign-in page and the API token endpoint check the wait themselves, to answer in words before anything is
authenticated; this backend covers every other path that calls `authenticate` (the admin site's sign-in), so
that none of them can be used to try passwords faster.
"""

from django.core.exceptions import PermissionDenied

from .lockout import login_slowdown


class AccountSlowdownBackend:
    def authenticate(self, request, username=None, **kwargs):
        if request is not None and login_slowdown(request, username) is not None:
            raise PermissionDenied("Too many failed sign-ins for this account: wait before trying again.")
        return None  # the next backend checks the password

    # No get_user: this backend never signs anybody in, so no session names it (Django's test client's
    # force_login also takes the first backend that has one).
