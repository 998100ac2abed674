"""The signed-in patient's own account: changing the e-mail address of their login."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class EmailChangeForm(forms.Form):
    """The new address and the current password; the service checks both and sends the link."""

    new_email = forms.EmailField(
        label=gettext_lazy("New e-mail address"),
        max_length=254,
        help_text=gettext_lazy("We send a link to this address; your address changes when you open it."),
    )
    password = forms.CharField(
        label=gettext_lazy("Your current password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_email"].widget.attrs["autocomplete"] = "email"
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", _("Send the confirmation link"), css_class="btn-primary"))
