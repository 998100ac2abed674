import re
import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Give every request an id (a trusted proxy's X-Request-ID, or a new one) and echo it back.

    Audit rows carry it, so one request's reads and changes can be found together in the logs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


SESSION_TIMEZONE_KEY = "timezone"


def remember_timezone(sender, request, user, **kwargs) -> None:
    """At sign-in, keep the zone pages are shown in: a patient's own, or the staff member's (first) centre's."""
    from recovery.models import Patient

    zone = Patient.objects.filter(user=user).values_list("timezone", flat=True).first()
    if zone is None:
        zone = user.centres.order_by("name").values_list("timezone", flat=True).first()
    if zone and request is not None and hasattr(request, "session"):
        request.session[SESSION_TIMEZONE_KEY] = zone


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
