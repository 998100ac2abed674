"""The forms of the vaccination and prophylaxis pages: a vaccine dose given, and a prophylaxis stop.

Each binds and checks what was typed; the services (`recovery.services.vaccinations`,
`recovery.services.prophylaxis`) apply the clinical rules and save. A refusal comes back as form errors,
so the page shows the message next to the values as they were typed.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recovery.forms.widgets import DateInput

MAX_DOSE = 20  # no schedule has more doses; yearly vaccines are counted from 1 after Day 0
DATE_INVALID = gettext_lazy("Enter the date as YYYY-MM-DD, e.g. 2026-05-14.")


class VaccinationForm(forms.Form):
    vaccine = forms.ChoiceField(
        label=gettext_lazy("Vaccine"),
        error_messages={"invalid_choice": gettext_lazy("Choose a vaccine from the list.")},
    )
    dose = forms.IntegerField(
        label=gettext_lazy("Dose"),
        min_value=1,
        max_value=MAX_DOSE,
        error_messages={
            "invalid": gettext_lazy("The dose is a whole number: 1 for the first dose, 2 for the second…"),
            "min_value": gettext_lazy("The dose is a whole number from 1."),
            # Django fills in %(limit_value)s: MAX_DOSE.
            "max_value": gettext_lazy("No vaccine in the schedule has more than %(limit_value)s doses."),
        },
        widget=forms.NumberInput(attrs={"min": "1", "max": str(MAX_DOSE), "inputmode": "numeric"}),
    )
    given_date = forms.DateField(
        label=gettext_lazy("Given on"),
        widget=DateInput(),
        error_messages={"invalid": DATE_INVALID},
    )
    # A question, not a tick box: an unticked box would read as "no". Left unanswered it is None, and the rule
    # (recovery.clinical.vaccination.check_vaccination) refuses a live vaccine until it is answered.
    immunosuppressed = forms.TypedChoiceField(
        label=gettext_lazy("Is the patient on immunosuppressive treatment now?"),
        choices=[("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))],
        coerce=lambda answer: answer == "yes",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        help_text=gettext_lazy("Needed for live vaccines (MMR, varicella): they are refused unless the answer is no."),
        error_messages={"invalid_choice": gettext_lazy("Answer yes or no.")},
    )
    note = forms.CharField(label=gettext_lazy("Note (batch, site)"), required=False, max_length=300)

    def __init__(self, *args, vaccines: list[tuple[str, str]], **kwargs):
        kwargs.setdefault("auto_id", "vaccination_%s")
        super().__init__(*args, **kwargs)
        self.fields["vaccine"].choices = [("", _("Choose…")), *vaccines]
        self.helper = FormHelper()
        self.helper.form_method = "post"
        self.helper.form_action = ""
        self.helper.form_id = "vaccination-form"
        self.helper.attrs = {"novalidate": "", "data-testid": "vaccination-form"}
        self.helper.layout = Layout(
            "vaccine",
            Row(Column("dose", css_class="col-4"), Column("given_date", css_class="col-8")),
            "immunosuppressed",
            "note",
            Submit("save", _("Record the dose"), css_id="vaccination-submit"),
        )


class ProphylaxisStopForm(forms.Form):
    medication = forms.ChoiceField(
        label=gettext_lazy("Medication"),
        error_messages={"invalid_choice": gettext_lazy("Choose a medication of the plan.")},
    )
    stopped_on = forms.DateField(
        label=gettext_lazy("Stopped on"),
        widget=DateInput(),
        error_messages={"invalid": DATE_INVALID},
    )
    confirm_early = forms.BooleanField(
        label=gettext_lazy("Stop before the protocol allows it (stop date not reached or CD4 not recovered)"),
        required=False,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=300,
        help_text=gettext_lazy("Required when stopping before the protocol allows."),
    )

    def __init__(self, *args, medications: list[tuple[str, str]], **kwargs):
        kwargs.setdefault("auto_id", "stop_%s")
        super().__init__(*args, **kwargs)
        self.fields["medication"].choices = [("", _("Choose…")), *medications]
        self.helper = FormHelper()
        self.helper.form_method = "post"
        self.helper.form_action = ""
        self.helper.form_id = "stop-form"
        self.helper.attrs = {"novalidate": "", "data-testid": "stop-form"}
        self.helper.layout = Layout(
            "medication",
            "stopped_on",
            "confirm_early",
            "reason",
            Submit("save", _("Record the stop"), css_id="stop-submit", css_class="btn-danger"),
        )
