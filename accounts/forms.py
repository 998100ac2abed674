from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": gettext_lazy("That username and password do not match. Check them and try again."),
    }


class ApiTokenForm(forms.Form):
    """A name and a lifetime for a new API token (API_TOKEN_DAYS by default, at most API_TOKEN_MAX_DAYS)."""

    name = forms.CharField(
        max_length=100,
        label=gettext_lazy("Name"),
        help_text=gettext_lazy('What the token is for, e.g. "Ward laptop script".'),
        error_messages={"required": gettext_lazy("Give the token a name, so you know later what it is for.")},
    )
    days = forms.IntegerField(label=gettext_lazy("Valid for (days)"), min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        maximum = settings.API_TOKEN_MAX_DAYS
        days = self.fields["days"]
        days.initial = settings.API_TOKEN_DAYS
        days.max_value = maximum
        days.validators.append(MaxValueValidator(maximum))
        days.widget.attrs.update({"min": 1, "max": maximum})
        values = {"maximum": maximum}
        days.help_text = _("From 1 to %(maximum)s days. The token stops working after that.") % values
        days.error_messages.update(
            {
                "required": _("Enter how many days the token should work (1 to %(maximum)s).") % values,
                "invalid": _("Enter a whole number of days from 1 to %(maximum)s.") % values,
                "min_value": _("A token works for 1 to %(maximum)s days.") % values,
                "max_value": _("A token works for 1 to %(maximum)s days.") % values,
            }
        )
