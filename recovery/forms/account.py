"""The signed-in patient's own account: changing the e-mail address of their login."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms


class EmailChangeForm(forms.Form):
    """The new address and the current password; the service checks both and sends the link."""

    new_email = forms.EmailField(
        label="New e-mail address",
        max_length=254,
        help_text="We send a link to this address; your address changes when you open it.",
    )
    password = forms.CharField(
        label="Your current password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_email"].widget.attrs["autocomplete"] = "email"
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Send the confirmation link", css_class="btn-primary"))
