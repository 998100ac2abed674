"""Django's admin site, open only to a session that has passed the second factor.

django-otp's OTPAdminSite asks every administrator for a code; this site asks the same of an administrator who has
a factor, or who must have one (MFA_REQUIRED_FOR_STAFF), and sends sign-in through the app's own sign-in page, so
that the password step (with django-axes' lockout) and the second step are the same everywhere.
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse


class SecondFactorAdminSite(admin.AdminSite):
    def has_permission(self, request) -> bool:
        from accounts import mfa  # the app registry is not ready when this module is imported

        if not super().has_permission(request):
            return False
        user = request.user
        if user.is_verified():
            return True
        return not mfa.mfa_required(user) and not mfa.has_factor(user)

    def login(self, request, extra_context=None):
        if not request.user.is_authenticated:
            target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
            return redirect(reverse("accounts:login") + "?" + urlencode({"next": target}))
        return super().login(request, extra_context)
