"""Forms for reminders and the care team's tasks: they bind what was typed; the services decide."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Fieldset, Layout, Row, Submit
from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recovery.forms.widgets import TimeInput


class ReminderSettingsForm(forms.Form):
    """The patient's own choices: channels and quiet hours (both ends, or neither for the centre's default)."""

    email_enabled = forms.BooleanField(label=gettext_lazy("Email"), required=False)
    sms_enabled = forms.BooleanField(label=gettext_lazy("Text message (SMS)"), required=False)
    quiet_start = forms.TimeField(label=gettext_lazy("Quiet from"), required=False, widget=TimeInput())
    quiet_end = forms.TimeField(label=gettext_lazy("Quiet until"), required=False, widget=TimeInput())

    def __init__(self, *args, default_quiet: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quiet_start"].error_messages["invalid"] = _("Enter a time such as 22:00.")
        self.fields["quiet_end"].error_messages["invalid"] = _("Enter a time such as 07:00.")
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Fieldset(
                _("How do you want your reminders?"),
                HTML(format_html('<p class="form-text mt-0">{}</p>', _("You always see them here in the app."))),
                "email_enabled",
                "sms_enabled",
            ),
            Fieldset(
                _("Quiet hours"),
                HTML(
                    format_html(
                        '<p class="form-text mt-0">{}</p>',
                        _(
                            "Routine reminders wait until your quiet hours end. Leave both empty for the unit's "
                            "default, %(default)s; the same time twice means no quiet hours. Temperature and "
                            "warning-sign reminders in your high-risk weeks are never held back."
                        )
                        % {"default": default_quiet},
                    )
                ),
                Row(
                    Column("quiet_start", css_class="col-6 col-sm-4"),
                    Column("quiet_end", css_class="col-6 col-sm-4"),
                ),
            ),
            Submit("save", _("Save"), css_class="btn-primary btn-lg rt-tap"),
        )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("quiet_start"), cleaned.get("quiet_end")
        if "quiet_start" in cleaned and "quiet_end" in cleaned and (start is None) != (end is None):
            self.add_error(
                "quiet_end" if end is None else "quiet_start",
                _("Give both the start and the end of quiet hours, or leave both empty."),
            )
        return cleaned


class ReminderHoldForm(forms.Form):
    """A coordinator puts a patient's reminders on hold (with a reason) or lifts the hold."""

    hold_reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. readmitted to the ward")}),
    )


class TaskDoneForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note (optional)"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. spoke to the patient, feeling well")}),
    )
