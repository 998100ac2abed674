"""Staff forms for a patient: their record, the transplant episode, timeline events, apheresis and eligibility."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Hidden, Layout, Row, Submit
from django import forms

from accounts.models import Centre
from recovery.clinical.episode import DATE_FIELDS
from recovery.clinical.timeline import EventKind
from recovery.forms.fields import LocalDecimalField
from recovery.forms.widgets import DateInput
from recovery.models import EligibilityReview, Patient, ProtocolTemplate, TransplantEpisode
from recovery.services.login_email import EMAIL_LOCKED, has_active_login
from recovery.services.patients import EDITABLE_FIELDS
from recovery.services.timeline import EPISODE_FIELDS
from recovery.validators import validate_edss


class PatientForm(forms.ModelForm):
    """Binds and checks the typed values; the service validates the record as a whole and saves it."""

    centre = forms.ModelChoiceField(queryset=Centre.objects.none(), required=True)

    class Meta:
        model = Patient
        fields = EDITABLE_FIELDS
        field_classes = {"baseline_edss": LocalDecimalField}
        widgets = {
            "date_of_birth": DateInput(),
            "ms_onset_date": DateInput(),
            "previous_treatments": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, centres=None, submit_label: str = "Save", **kwargs):
        super().__init__(*args, **kwargs)
        centre_field = self.fields["centre"]
        if self.instance.pk or centres is None or len(centres) <= 1:
            del self.fields["centre"]
        else:
            centre_field.queryset = Centre.objects.filter(pk__in=[c.pk for c in centres])
        self.fields["baseline_edss"].help_text = "0, or 1.0 to 10.0 in steps of 0.5."
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
            Submit("save", submit_label, css_class="btn-primary"),
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
        labels = {"protocol": "Regimen (protocol)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["protocol"].queryset = ProtocolTemplate.objects.filter(is_active=True)
        self.fields["protocol"].empty_label = "Not chosen yet"
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Hidden("form", "episode"),
            "protocol",
            Fieldset(
                "Mobilisation and collection",
                Row(
                    Column("mobilisation_date", css_class="col-md-4"),
                    Column("gcsf_start_date", css_class="col-md-4"),
                    Column("apheresis_date", css_class="col-md-4"),
                ),
                Row(Column("cd34_dose", css_class="col-md-4"), Column("cryostorage_date", css_class="col-md-4")),
            ),
            Fieldset(
                "Transplant",
                Row(
                    Column("admission_date", css_class="col-md-4"),
                    Column("conditioning_start_date", css_class="col-md-4"),
                    Column("reinfusion_date", css_class="col-md-4"),
                ),
            ),
            Fieldset(
                "Recovery",
                Row(
                    Column("neutrophil_engraftment_date", css_class="col-md-4"),
                    Column("platelet_engraftment_date", css_class="col-md-4"),
                    Column("discharge_date", css_class="col-md-4"),
                ),
            ),
            Submit("save", "Save dates", css_class="btn-primary"),
        )

    def _post_clean(self):
        pass  # the service checks the episode as a whole (see PatientForm)

    def episode_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in EPISODE_FIELDS}


class EventAddForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k.value, k.value.replace("_", " ").capitalize()) for k in EventKind])
    title = forms.CharField(max_length=200)
    planned_date = forms.DateField(widget=DateInput())
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Add to the timeline", css_class="btn-primary"))


class EventChangeForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("complete", "Mark done"),
            ("move", "Move to another date"),
            ("cancel", "Cancel"),
            ("reopen", "Reopen"),
        ]
    )
    on = forms.DateField(
        label="Date", required=False, widget=DateInput(), help_text="The new date, or the day it was done."
    )
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save", css_class="btn-primary"))

    def clean(self):
        data = super().clean()
        if data.get("action") == "move" and not data.get("on"):
            self.add_error("on", "Give the new date.")
        return data


class EligibilityForm(forms.ModelForm):
    relapsing_with_breakthrough = forms.TypedChoiceField(
        label="Relapsing MS with breakthrough activity despite high-efficacy treatment?",
        choices=[("", "Not known"), ("yes", "Yes"), ("no", "No")],
        coerce=lambda value: {"yes": True, "no": False}.get(value),
        empty_value=None,
        required=False,
    )

    class Meta:
        model = EligibilityReview
        fields = ["relapsing_with_breakthrough", "edss", "decision", "decided_on", "notes"]
        field_classes = {"edss": LocalDecimalField}
        widgets = {"decided_on": DateInput(), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["edss"].validators.append(validate_edss)
        self.fields["edss"].help_text = "0, or 1.0 to 10.0 in steps of 0.5."
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Record the decision", css_class="btn-primary"))


class ApheresisForm(forms.Form):
    collected_on = forms.DateField(label="Collected on", widget=DateInput())
    cd34_per_kg = LocalDecimalField(
        label="CD34+ yield (x 10^6/kg)", max_digits=5, decimal_places=2, help_text="Millions of CD34+ cells per kg."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
