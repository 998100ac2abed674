"""The forms of the lab pages: a day's panel, a transfusion, an engraftment confirmation and a CSV upload.

The forms bind what was typed and keep it (results are text fields, so "0,4" or "<500" come back as typed with
the service's message); `recovery.services.labs` checks values, units and times and saves.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recovery.clinical.labs_config import LabConfig
from recovery.forms.widgets import DateInput, LocalDateTimeInput
from recovery.models import LabTest, TransfusionProduct
from recovery.services.labs import LAB_TESTS

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
PANEL_GROUPS = (
    (gettext_lazy("Blood count"), ("anc", "platelets", "wbc", "haemoglobin", "lymphocytes")),
    (gettext_lazy("Immune cells"), ("cd4", "cd8", "cd19", "nk")),
    (gettext_lazy("Antibodies, viruses and thyroid"), ("igg", "ebv_pcr", "cmv_pcr", "tsh")),
)
PRODUCT_LABELS = {
    TransfusionProduct.PLATELETS: gettext_lazy("Platelets"),
    TransfusionProduct.RED_CELLS: gettext_lazy("Red cells"),
    TransfusionProduct.IMMUNOGLOBULIN: gettext_lazy("Immunoglobulin (IVIG)"),
}


class _LocalTimeMixin:
    """Date-times typed as wall-clock time in the patient's zone."""

    zone: ZoneInfo

    def _local(self, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=None).replace(tzinfo=self.zone) if value else value


def _number_input(test: str) -> forms.TextInput:
    return forms.TextInput(
        attrs={
            "inputmode": "decimal",
            "autocomplete": "off",
            "class": "form-control text-end",
            "aria-describedby": f"panel-{test}-unit",
        }
    )


class LabPanelForm(_LocalTimeMixin, forms.Form):
    """One day's panel: the collection time and any of the tests, each in its canonical unit."""

    collected_at = forms.DateTimeField(
        label=gettext_lazy("Sample taken"),
        widget=LocalDateTimeInput(attrs={"class": "form-control"}),
        input_formats=LOCAL_FORMATS,
    )
    platelet_transfusion_at = forms.DateTimeField(
        label=gettext_lazy("Platelet transfusion given"),
        required=False,
        widget=LocalDateTimeInput(attrs={"class": "form-control"}),
        input_formats=LOCAL_FORMATS,
        help_text=gettext_lazy(
            "Only if platelets were transfused: platelet counts from the day of a transfusion on "
            "do not count towards engraftment for a while."
        ),
    )

    def __init__(self, *args, patient_timezone: str, config: LabConfig, **kwargs):
        kwargs.setdefault("prefix", "panel")
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(patient_timezone)
        self.config = config
        self.fields["platelet_transfusion_at"].help_text = _(
            "Only if platelets were transfused: platelet counts from the day of a transfusion to "
            "%(days)s days after it do not count towards engraftment."
        ) % {"days": config.platelet_transfusion_free_days - 1}
        for test in LAB_TESTS:
            self.fields[test] = forms.CharField(
                label=LabTest(test).label, required=False, max_length=40, widget=_number_input(test)
            )

    def clean_collected_at(self):
        return self._local(self.cleaned_data["collected_at"])

    def clean_platelet_transfusion_at(self):
        return self._local(self.cleaned_data.get("platelet_transfusion_at"))

    def values(self) -> dict[str, str]:
        return {test: (self.cleaned_data.get(test) or "").strip() for test in LAB_TESTS}

    def groups(self) -> list[tuple[str, list[dict]]]:
        """The test rows by group: the bound field, its unit and reference range (for the template)."""
        out = []
        for title, tests in PANEL_GROUPS:
            rows = []
            for test in tests:
                low, high = self.config.reference_range(test)
                reference = _("not detected") if high == 0 else f"{low:g}\u2013{high:g}"
                rows.append({"test": test, "field": self[test], "unit": self.config.unit(test), "reference": reference})
            out.append((title, rows))
        return out


class TransfusionForm(_LocalTimeMixin, forms.Form):
    product = forms.ChoiceField(
        label=gettext_lazy("Product"),
        choices=[(value, PRODUCT_LABELS.get(value, label)) for value, label in TransfusionProduct.choices],
    )
    given_at = forms.DateTimeField(
        label=gettext_lazy("Given at"), widget=LocalDateTimeInput(), input_formats=LOCAL_FORMATS
    )

    def __init__(self, *args, patient_timezone: str, **kwargs):
        kwargs.setdefault("prefix", "transfusion")
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(patient_timezone)

    def clean_given_at(self):
        return self._local(self.cleaned_data["given_at"])


class ConfirmEngraftmentForm(forms.Form):
    """The date (and a note when it is not the proposal); which engraftment is in the URL."""

    on = forms.DateField(label=gettext_lazy("Engraftment date"), widget=DateInput())
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Needed when the date differs from the one the counts give."),
        widget=forms.TextInput(),
    )

    def __init__(self, *args, kind: str, **kwargs):
        kwargs.setdefault("prefix", f"confirm-{kind}")
        super().__init__(*args, **kwargs)
        self.kind = kind


class LabImportForm(forms.Form):
    centre = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Centre"), empty_label=None)
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("Columns: hospital_number, test, value, unit, collected_at."),
    )

    def __init__(self, *args, centres, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = centres
        if centres.count() == 1:
            self.fields["centre"].widget = forms.HiddenInput()
            self.fields["centre"].initial = centres.first()
