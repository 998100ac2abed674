from django.http import HttpRequest

from recovery import access


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {
        "nav_items": access.navigation_for(user),
        "may_create_patient": access.may(user, access.Action.CREATE_PATIENT),
    }
