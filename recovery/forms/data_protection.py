"""The confirmation steps of deactivation and erasure."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class DeactivateForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": gettext_lazy("e.g. moved to another centre")}
        ),
        error_messages={"required": gettext_lazy("Say why the patient is deactivated (e.g. moved to another centre).")},
    )
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I understand: the patient leaves every list, their reminders stop and their login stops working."
        ),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        error_messages={"required": gettext_lazy("Tick the box to confirm.")},
    )


class EraseForm(forms.Form):
    hospital_number = forms.CharField(
        label=gettext_lazy("Type the patient's hospital number to confirm"),
        max_length=32,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
        error_messages={"required": gettext_lazy("Type the hospital number to confirm.")},
    )

    def __init__(self, *args, expected: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected = expected

    def clean_hospital_number(self) -> str:
        typed = self.cleaned_data["hospital_number"].strip()
        if typed.casefold() != self.expected.casefold():
            raise forms.ValidationError(_("That is not this patient's hospital number: nothing was erased."))
        return typed
