from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .forms import LoginForm


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed sign-in attempts. For your safety, signing in with this username from this "
        f"device is paused for {minutes} minutes. Wait and try again, or reset your password. "
        f"If you feel unwell, do not wait: call your transplant unit."
    )


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
