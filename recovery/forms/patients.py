"""Staff forms for a patient: their record, the transplant episode, timeline events, apheresis and eligibility."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Hidden, Layout, Row, Submit
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Centre
from recovery.clinical.episode import DATE_FIELDS
from recovery.clinical.timeline import EventKind
from recovery.forms.fields import LocalDecimalField
from recovery.forms.widgets import DateInput
from recovery.models import EligibilityReview, Patient, ProtocolTemplate, TransplantEpisode
from recovery.models.patients import MSType, PatientStatus, Sex
from recovery.models.transplant import EligibilityDecision
from recovery.services.login_email import EMAIL_LOCKED, has_active_login
from recovery.services.patients import EDITABLE_FIELDS
from recovery.services.timeline import EPISODE_FIELDS
from recovery.validators import validate_edss

EDSS_HELP = gettext_lazy("0, or 1.0 to 10.0 in steps of 0.5.")
EVENT_KIND_LABELS = {
    EventKind.VISIT: gettext_lazy("Visit"),
    EventKind.LAB: gettext_lazy("Lab"),
    EventKind.MEDICATION_START: gettext_lazy("Medication start"),
    EventKind.MEDICATION_STOP: gettext_lazy("Medication stop"),
    EventKind.CHECKIN_PERIOD: gettext_lazy("Check-in period"),
    EventKind.VACCINATION: gettext_lazy("Vaccination"),
    EventKind.MRI: gettext_lazy("MRI"),
    EventKind.EDSS_REVIEW: gettext_lazy("EDSS review"),
    EventKind.CHEMOTHERAPY: gettext_lazy("Chemotherapy"),
    EventKind.PROCEDURE: gettext_lazy("Procedure"),
}
# The models' choices, in the reader's language (the stored values and the models stay as they are).
SEX_LABELS = {
    Sex.FEMALE: gettext_lazy("Female"),
    Sex.MALE: gettext_lazy("Male"),
    Sex.OTHER: gettext_lazy("Other"),
    Sex.UNKNOWN: gettext_lazy("Unknown"),
}
MS_TYPE_LABELS = {
    MSType.RRMS: gettext_lazy("Relapsing-remitting (RRMS)"),
    MSType.SPMS: gettext_lazy("Secondary progressive (SPMS)"),
    MSType.PPMS: gettext_lazy("Primary progressive (PPMS)"),
    MSType.CIS: gettext_lazy("Clinically isolated syndrome (CIS)"),
}
STATUS_LABELS = {
    PatientStatus.ACTIVE: gettext_lazy("Active"),
    PatientStatus.WITHDRAWN: gettext_lazy("Withdrawn"),
    PatientStatus.DECEASED: gettext_lazy("Deceased"),
}
DECISION_LABELS = {
    EligibilityDecision.ELIGIBLE: gettext_lazy("Eligible"),
    EligibilityDecision.NOT_ELIGIBLE: gettext_lazy("Not eligible"),
    EligibilityDecision.DEFERRED: gettext_lazy("Deferred"),
}


def _translate_choices(field: forms.ChoiceField, labels: dict) -> None:
    """The field's choices with the labels above; the blank choice and any other value keep theirs."""
    field.choices = [(value, labels.get(value, label)) for value, label in field.choices]


class PatientForm(forms.ModelForm):
    """Binds and checks the typed values; the service validates the record as a whole and saves it."""

    centre = forms.ModelChoiceField(label=gettext_lazy("Centre"), queryset=Centre.objects.none(), required=True)

    class Meta:
        model = Patient
        fields = EDITABLE_FIELDS
        field_classes = {"baseline_edss": LocalDecimalField}
        widgets = {
            "date_of_birth": DateInput(),
            "ms_onset_date": DateInput(),
            "previous_treatments": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {
            "first_name": gettext_lazy("First name"),
            "last_name": gettext_lazy("Last name"),
            "date_of_birth": gettext_lazy("Date of birth"),
            "sex": gettext_lazy("Sex"),
            "hospital_number": gettext_lazy("Hospital number"),
            "email": gettext_lazy("Email"),
            "phone": gettext_lazy("Phone"),
            "timezone": gettext_lazy("Timezone"),
            "ms_type": gettext_lazy("MS type"),
            "ms_onset_date": gettext_lazy("MS onset date"),
            "baseline_edss": gettext_lazy("Baseline EDSS"),
            "previous_treatments": gettext_lazy("Previous disease-modifying treatments"),
            "preferred_language": gettext_lazy("Preferred language"),
            "contact_name": gettext_lazy("Next of kin / contact"),
            "contact_phone": gettext_lazy("Contact's phone"),
            "status": gettext_lazy("Status"),
        }
        help_texts = {
            "hospital_number": gettext_lazy("Unique within the centre."),
            "phone": gettext_lazy("International format, e.g. +46701234567."),
            "timezone": gettext_lazy("Reminders and the day number follow this time zone."),
            "previous_treatments": gettext_lazy("One per line, with years, e.g. Natalizumab 2019-2022."),
            "contact_phone": gettext_lazy("International format."),
        }

    def __init__(self, *args, centres=None, submit_label: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        centre_field = self.fields["centre"]
        _translate_choices(self.fields["sex"], SEX_LABELS)
        _translate_choices(self.fields["ms_type"], MS_TYPE_LABELS)
        _translate_choices(self.fields["status"], STATUS_LABELS)
        if self.instance.pk or centres is None or len(centres) <= 1:
            del self.fields["centre"]
        else:
            centre_field.queryset = Centre.objects.filter(pk__in=[c.pk for c in centres])
        self.fields["baseline_edss"].help_text = EDSS_HELP
        if self.instance.pk and has_active_login(self.instance):
            # shown, not editable: the patient's login and password resets use it (see services.login_email)
            self.fields["email"].disabled = True
            self.fields["email"].help_text = EMAIL_LOCKED
        self.helper = FormHelper()
        self.helper.layout = Layout(
            *(["centre"] if "centre" in self.fields else []),
            Row(Column("first_name", css_class="col-md-6"), Column("last_name", css_class="col-md-6")),
            Row(
                Column("date_of_birth", css_class="col-md-4"),
                Column("sex", css_class="col-md-4"),
                Column("hospital_number", css_class="col-md-4"),
            ),
            Row(Column("email", css_class="col-md-6"), Column("phone", css_class="col-md-6")),
            "timezone",
            Row(
                Column("ms_type", css_class="col-md-4"),
                Column("ms_onset_date", css_class="col-md-4"),
                Column("baseline_edss", css_class="col-md-4"),
            ),
            "previous_treatments",
            Row(
                Column("preferred_language", css_class="col-md-4"),
                Column("contact_name", css_class="col-md-4"),
                Column("contact_phone", css_class="col-md-4"),
            ),
            "status",
            Submit("save", submit_label or _("Save"), css_class="btn-primary"),
        )

    def _post_clean(self):
        # The service runs the model's validation on the complete record; running it here too would
        # report the same error twice.
        pass

    def patient_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}


class EpisodeForm(forms.ModelForm):
    """The transplant's dates. A future date is a plan; it moves the timeline when it changes."""

    class Meta:
        model = TransplantEpisode
        fields = EPISODE_FIELDS
        field_classes = {"cd34_dose": LocalDecimalField}
        widgets = {name: DateInput() for name in DATE_FIELDS}
        labels = {
            "protocol": gettext_lazy("Regimen (protocol)"),
            "mobilisation_date": gettext_lazy("Mobilisation date"),
            "gcsf_start_date": gettext_lazy("G-CSF start date"),
            "apheresis_date": gettext_lazy("First apheresis date"),
            "cd34_dose": gettext_lazy("CD34+ dose (x 10^6/kg)"),
            "cryostorage_date": gettext_lazy("Cryostorage date"),
            "admission_date": gettext_lazy("Admission date"),
            "conditioning_start_date": gettext_lazy("Conditioning start date"),
            "reinfusion_date": gettext_lazy("Reinfusion date (Day 0)"),
            "neutrophil_engraftment_date": gettext_lazy("Neutrophil engraftment date"),
            "platelet_engraftment_date": gettext_lazy("Platelet engraftment date"),
            "discharge_date": gettext_lazy("Discharge date"),
        }
        help_texts = {
            "mobilisation_date": gettext_lazy("Cyclophosphamide mobilisation dose (M-day 1)."),
            "cd34_dose": gettext_lazy("Total collected, in millions of CD34+ cells per kg."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["protocol"].queryset = ProtocolTemplate.objects.filter(is_active=True)
        self.fields["protocol"].empty_label = _("Not chosen yet")
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Hidden("form", "episode"),
            "protocol",
            Fieldset(
                _("Mobilisation and collection"),
                Row(
                    Column("mobilisation_date", css_class="col-md-4"),
                    Column("gcsf_start_date", css_class="col-md-4"),
                    Column("apheresis_date", css_class="col-md-4"),
                ),
                Row(Column("cd34_dose", css_class="col-md-4"), Column("cryostorage_date", css_class="col-md-4")),
            ),
            Fieldset(
                _("Transplant"),
                Row(
                    Column("admission_date", css_class="col-md-4"),
                    Column("conditioning_start_date", css_class="col-md-4"),
                    Column("reinfusion_date", css_class="col-md-4"),
                ),
            ),
            Fieldset(
                _("Recovery"),
                Row(
                    Column("neutrophil_engraftment_date", css_class="col-md-4"),
                    Column("platelet_engraftment_date", css_class="col-md-4"),
                    Column("discharge_date", css_class="col-md-4"),
                ),
            ),
            Submit("save", _("Save dates"), css_class="btn-primary"),
        )

    def _post_clean(self):
        pass  # the service checks the episode as a whole (see PatientForm)

    def episode_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in EPISODE_FIELDS}


class EventAddForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=[(k.value, EVENT_KIND_LABELS[k]) for k in EventKind])
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    planned_date = forms.DateField(label=gettext_lazy("Planned date"), widget=DateInput())
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", _("Add to the timeline"), css_class="btn-primary"))


class EventChangeForm(forms.Form):
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        choices=[
            ("complete", gettext_lazy("Mark done")),
            ("move", gettext_lazy("Move to another date")),
            ("cancel", gettext_lazy("Cancel")),
            ("reopen", gettext_lazy("Reopen")),
        ],
    )
    on = forms.DateField(
        label=gettext_lazy("Date"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("The new date, or the day it was done."),
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", _("Save"), css_class="btn-primary"))

    def clean(self):
        data = super().clean()
        if data.get("action") == "move" and not data.get("on"):
            self.add_error("on", _("Give the new date."))
        return data


class EligibilityForm(forms.ModelForm):
    relapsing_with_breakthrough = forms.TypedChoiceField(
        label=gettext_lazy("Relapsing MS with breakthrough activity despite high-efficacy treatment?"),
        choices=[("", gettext_lazy("Not known")), ("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))],
        coerce=lambda value: {"yes": True, "no": False}.get(value),
        empty_value=None,
        required=False,
    )

    class Meta:
        model = EligibilityReview
        fields = ["relapsing_with_breakthrough", "edss", "decision", "decided_on", "notes"]
        field_classes = {"edss": LocalDecimalField}
        widgets = {"decided_on": DateInput(), "notes": forms.Textarea(attrs={"rows": 3})}
        labels = {
            "edss": gettext_lazy("EDSS at review"),
            "decision": gettext_lazy("Decision"),
            "decided_on": gettext_lazy("Decided on"),
            "notes": gettext_lazy("Notes"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["edss"].validators.append(validate_edss)
        self.fields["edss"].help_text = EDSS_HELP
        _translate_choices(self.fields["decision"], DECISION_LABELS)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", _("Record the decision"), css_class="btn-primary"))


class ApheresisForm(forms.Form):
    collected_on = forms.DateField(label=gettext_lazy("Collected on"), widget=DateInput())
    cd34_per_kg = LocalDecimalField(
        label=gettext_lazy("CD34+ yield (x 10^6/kg)"),
        max_digits=5,
        decimal_places=2,
        help_text=gettext_lazy("Millions of CD34+ cells per kg."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
