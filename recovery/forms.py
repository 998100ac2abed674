from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms

from accounts.models import Centre
from recovery.models import Patient
from recovery.services.patients import EDITABLE_FIELDS


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class PatientForm(forms.ModelForm):
    """Binds and checks the typed values; the service validates the record as a whole and saves it."""

    centre = forms.ModelChoiceField(queryset=Centre.objects.none(), required=True)

    class Meta:
        model = Patient
        fields = EDITABLE_FIELDS
        widgets = {"date_of_birth": DateInput(), "ms_onset_date": DateInput()}

    def __init__(self, *args, centres=None, submit_label: str = "Save", **kwargs):
        super().__init__(*args, **kwargs)
        centre_field = self.fields["centre"]
        if self.instance.pk or centres is None or len(centres) <= 1:
            del self.fields["centre"]
        else:
            centre_field.queryset = Centre.objects.filter(pk__in=[c.pk for c in centres])
        self.fields["baseline_edss"].help_text = "0, or 1.0 to 10.0 in steps of 0.5."
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
            Submit("save", submit_label, css_class="btn-primary"),
        )

    def _post_clean(self):
        # The service runs the model's validation on the complete record; running it here too would
        # report the same error twice.
        pass

    def patient_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}
