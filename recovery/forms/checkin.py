"""The patient's check-in forms: built for a phone and for someone who feels unwell."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from recovery.clinical.triage import GRADE_LABELS, MS_SYMPTOMS, SYMPTOM_CODES, SYMPTOM_LABELS
from recovery.forms.widgets import LocalDateTimeInput

GRADE_CHOICES = [(grade, f"{grade} · {label}") for grade, label in GRADE_LABELS.items()]


def fahrenheit_to_celsius(value: Decimal) -> Decimal:
    return ((value - 32) * 5 / 9).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def celsius_to_fahrenheit(value: Decimal) -> Decimal:
    return (value * 9 / 5 + 32).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


class TemperatureMixin(forms.Form):
    temperature = forms.CharField(
        label=_("Temperature"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": _("e.g. 37.2")}),
    )
    unit = forms.ChoiceField(choices=[("C", "°C"), ("F", "°F")], initial="C", widget=forms.RadioSelect)
    recorded_at = forms.DateTimeField(
        label=_("When did you take it?"),
        widget=LocalDateTimeInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args, patient_timezone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(patient_timezone)

    def clean_temperature(self) -> Decimal | None:
        raw = (self.cleaned_data.get("temperature") or "").strip().replace(",", ".")
        if not raw:
            return None
        try:
            value = Decimal(raw)
            if not value.is_finite() or value.adjusted() > 5:
                raise InvalidOperation
        except InvalidOperation:
            raise forms.ValidationError(_("Enter the temperature as a number, for example 37.8.")) from None
        return value

    def clean_recorded_at(self) -> datetime:
        value = self.cleaned_data["recorded_at"]
        # The browser sends the patient's wall-clock time; it is in the patient's own zone.
        return value.replace(tzinfo=None).replace(tzinfo=self.zone) if value else value

    def temperature_c(self) -> Decimal | None:
        value = self.cleaned_data.get("temperature")
        if value is None:
            return None
        return fahrenheit_to_celsius(value) if self.cleaned_data.get("unit") == "F" else value


class TemperatureForm(TemperatureMixin):
    """Just a temperature: the two-tap log."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["temperature"].required = True
        self.fields["temperature"].error_messages["required"] = _("Enter the temperature.")


class CheckinForm(TemperatureMixin):
    """Temperature, symptoms graded 0-4 in plain words, notes and "does this feel urgent?"."""

    notes = forms.CharField(
        label="Anything else you want to tell the team?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    feels_urgent = forms.BooleanField(label="I feel this is urgent", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code in SYMPTOM_CODES:
            self.fields[f"symptom_{code}"] = forms.TypedChoiceField(
                label=SYMPTOM_LABELS.get(code, code),
                choices=GRADE_CHOICES,
                coerce=int,
                initial=0,
                required=False,
                empty_value=0,
                widget=forms.Select(attrs={"class": "form-select"}),
            )

    def general_fields(self):
        return [self[f"symptom_{code}"] for code in SYMPTOM_CODES if code not in MS_SYMPTOMS]

    def ms_fields(self):
        return [self[f"symptom_{code}"] for code in MS_SYMPTOMS]

    def symptoms(self) -> dict[str, int]:
        return {code: self.cleaned_data.get(f"symptom_{code}") or 0 for code in SYMPTOM_CODES}
