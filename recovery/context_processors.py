from functools import cache

from django.http import HttpRequest

from recovery import access
from recovery.queries.reminders import unread_count


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {
        "nav_items": access.navigation_for(user),
        "may_create_patient": access.may(user, access.Action.CREATE_PATIENT),
        # Called by the template when the navbar shows the bell: one COUNT query, only on pages that use it.
        "unread_count": cache(lambda: unread_count(user)),
    }
