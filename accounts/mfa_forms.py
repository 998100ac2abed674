"""Forms of the second factor's pages (accounts/mfa_views.py)."""

from django import forms
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """The second step of signing in: a code from the authenticator app, or one of the recovery codes."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code your authenticator app shows now, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "autocapitalize": "off"}),
        error_messages={"required": _("Enter the code from your authenticator app, or a recovery code.")},
    )


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code your app shows now"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        error_messages={"required": _("Enter the 6-digit code that your authenticator app shows now.")},
    )


class PasswordConfirmForm(forms.Form):
    """Removing a factor asks for the password again (checked through the authentication backends, so that
    django-axes counts wrong ones as it does on the sign-in page)."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
        error_messages={"required": _("Enter your password to confirm.")},
    )

    def __init__(self, request, *args, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        user = self.request.user
        if authenticate(self.request, username=user.get_username(), password=password) != user:
            raise forms.ValidationError(_("That password is not right. Nothing was removed: try again."))
        return password
