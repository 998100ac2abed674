"""The small forms of the patient's outcome page: an EDSS assessment, a relapse, an MRI scan, and a clinician's
classification of a recorded relapse (relapse or pseudo-relapse).

Each binds and checks what was typed; the services in `recovery.services.outcomes` check the record as a whole
and save it. All post to the same page; a hidden field `form` (edss, relapse, mri or classify) says which one.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recovery.forms.fields import LocalDecimalField
from recovery.forms.widgets import DateInput
from recovery.models.outcomes import MS_DOMAINS, RelapseClassification
from recovery.validators import validate_edss

MAX_LESIONS = 500  # as the model's validators

EDSS_HELP = gettext_lazy("0, or 1.0 to 10.0 in steps of 0.5")
# The models' choices in the reader's language (the stored values stay as they are).
DOMAIN_LABELS = {
    "visual": gettext_lazy("Visual"),
    "pyramidal": gettext_lazy("Pyramidal (weakness, stiffness)"),
    "cerebellar": gettext_lazy("Cerebellar (balance, coordination)"),
    "brainstem": gettext_lazy("Brainstem (double vision, speech, swallowing)"),
    "sensory": gettext_lazy("Sensory (numbness, tingling)"),
    "bowel_bladder": gettext_lazy("Bowel and bladder"),
    "cerebral": gettext_lazy("Cerebral (cognition, mood)"),
}
CLASSIFICATION_LABELS = {
    RelapseClassification.RELAPSE: gettext_lazy("Relapse"),
    RelapseClassification.PSEUDO_RELAPSE: gettext_lazy("Pseudo-relapse"),
}
NOT_CLASSIFIED = gettext_lazy("Choose whether this was a relapse or a pseudo-relapse.")


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

    assessed_on = forms.DateField(label=gettext_lazy("Assessed on"), widget=DateInput())
    # No decimal_places or range here: validate_edss gives the one plain message for 3.7, 3.75, 0.5 or 11.
    score = LocalDecimalField(label="EDSS", help_text=EDSS_HELP, validators=[validate_edss])

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "edss_%s")
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            self.kind,
            _("Add the assessment"),
            Layout(Row(Column("assessed_on", css_class="col-sm-6"), Column("score", css_class="col-sm-6"))),
        )


class RelapseForm(forms.Form):
    kind = "relapse"

    onset_date = forms.DateField(label=gettext_lazy("Onset"), widget=DateInput())
    domains = forms.MultipleChoiceField(
        label=gettext_lazy("Functional systems affected"),
        choices=[(value, DOMAIN_LABELS.get(value, label)) for value, label in MS_DOMAINS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    description = forms.CharField(
        label=gettext_lazy("What happened"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    treated_with_steroids = forms.BooleanField(label=gettext_lazy("Treated with steroids"), required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "relapse_%s")
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            self.kind,
            _("Add the relapse"),
            Layout("onset_date", "domains", "description", "treated_with_steroids"),
        )


class MRIForm(forms.Form):
    kind = "mri"

    scan_date = forms.DateField(label=gettext_lazy("Scan date"), widget=DateInput())
    new_t2_lesions = forms.IntegerField(
        label=gettext_lazy("New or enlarging T2 lesions"), min_value=0, max_value=MAX_LESIONS, initial=0
    )
    gd_enhancing_lesions = forms.IntegerField(
        label=gettext_lazy("Gadolinium-enhancing lesions"), min_value=0, max_value=MAX_LESIONS, initial=0
    )
    is_rebaseline = forms.BooleanField(
        label=gettext_lazy("Re-baseline scan"),
        required=False,
        help_text=gettext_lazy("The post-transplant reference that new lesions are counted against."),
    )
    notes = forms.CharField(
        label=gettext_lazy("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "mri_%s")
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            self.kind,
            _("Add the scan"),
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

    relapse = forms.UUIDField(
        widget=forms.HiddenInput, error_messages={"invalid": gettext_lazy("Choose a relapse from the list.")}
    )
    classification = forms.ChoiceField(
        label=gettext_lazy("The team's call"),
        choices=[(value, CLASSIFICATION_LABELS.get(value, label)) for value, label in RelapseClassification.choices],
        error_messages={"required": NOT_CLASSIFIED, "invalid_choice": NOT_CLASSIFIED},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "classify_%s")
        super().__init__(*args, **kwargs)


OUTCOME_FORMS: dict[str, type[forms.Form]] = {
    form.kind: form for form in (EDSSForm, RelapseForm, MRIForm, RelapseClassificationForm)
}
