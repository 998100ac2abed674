"""The small forms of the patient's outcome page: an EDSS assessment, a relapse, an MRI scan, and a clinician's
classification of a recorded relapse (relapse or pseudo-relapse).

Each binds and checks what was typed; the services in `recovery.services.outcomes` check the record as a whole
and save it. All post to the same page; a hidden field `form` (edss, relapse, mri or classify) says which one.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms

from recovery.forms.fields import LocalDecimalField
from recovery.forms.widgets import DateInput
from recovery.models.outcomes import MS_DOMAINS, RelapseClassification
from recovery.validators import validate_edss

MAX_LESIONS = 500  # as the model's validators

EDSS_HELP = "0, or 1.0 to 10.0 in steps of 0.5"


def _helper(kind: str, submit_label: str, layout: Layout) -> FormHelper:
    helper = FormHelper()
    helper.form_method = "post"
    helper.form_action = ""  # the view sets its own URL (recovery:outcome-add with this kind)
    helper.form_id = f"{kind}-form"
    helper.attrs = {"novalidate": "", "data-testid": f"{kind}-form"}
    layout.append(Submit("save", submit_label, css_id=f"{kind}-submit"))
    helper.layout = layout
    return helper


class EDSSForm(forms.Form):
    kind = "edss"

    assessed_on = forms.DateField(label="Assessed on", widget=DateInput())
    # No decimal_places or range here: validate_edss gives the one plain message for 3.7, 3.75, 0.5 or 11.
    score = LocalDecimalField(label="EDSS", help_text=EDSS_HELP, validators=[validate_edss])

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "edss_%s")
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            self.kind,
            "Add the assessment",
            Layout(Row(Column("assessed_on", css_class="col-sm-6"), Column("score", css_class="col-sm-6"))),
        )


class RelapseForm(forms.Form):
    kind = "relapse"

    onset_date = forms.DateField(label="Onset", widget=DateInput())
    domains = forms.MultipleChoiceField(
        label="Functional systems affected",
        choices=MS_DOMAINS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    description = forms.CharField(
        label="What happened", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    treated_with_steroids = forms.BooleanField(label="Treated with steroids", required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "relapse_%s")
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            self.kind,
            "Add the relapse",
            Layout("onset_date", "domains", "description", "treated_with_steroids"),
        )


class MRIForm(forms.Form):
    kind = "mri"

    scan_date = forms.DateField(label="Scan date", widget=DateInput())
    new_t2_lesions = forms.IntegerField(
        label="New or enlarging T2 lesions", min_value=0, max_value=MAX_LESIONS, initial=0
    )
    gd_enhancing_lesions = forms.IntegerField(
        label="Gadolinium-enhancing lesions", min_value=0, max_value=MAX_LESIONS, initial=0
    )
    is_rebaseline = forms.BooleanField(
        label="Re-baseline scan",
        required=False,
        help_text="The post-transplant reference that new lesions are counted against.",
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "mri_%s")
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            self.kind,
            "Add the scan",
            Layout(
                "scan_date",
                Row(
                    Column("new_t2_lesions", css_class="col-sm-6"),
                    Column("gd_enhancing_lesions", css_class="col-sm-6"),
                ),
                "is_rebaseline",
                "notes",
            ),
        )


class RelapseClassificationForm(forms.Form):
    """One relapse row's "relapse or pseudo-relapse?" control; the template draws it in the relapse table."""

    kind = "classify"

    relapse = forms.UUIDField(widget=forms.HiddenInput, error_messages={"invalid": "Choose a relapse from the list."})
    classification = forms.ChoiceField(
        label="The team's call",
        choices=RelapseClassification.choices,
        error_messages={
            "required": "Choose whether this was a relapse or a pseudo-relapse.",
            "invalid_choice": "Choose whether this was a relapse or a pseudo-relapse.",
        },
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "classify_%s")
        super().__init__(*args, **kwargs)


OUTCOME_FORMS: dict[str, type[forms.Form]] = {
    form.kind: form for form in (EDSSForm, RelapseForm, MRIForm, RelapseClassificationForm)
}
