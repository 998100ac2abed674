"""The patient's check-in forms: built for a phone and for someone who feels unwell."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from recovery.clinical.config import TriageConfig
from recovery.clinical.symptom_questions import GRADE_WORDS, QUESTIONS, SYMPTOM_GROUPS, SymptomQuestion, picker_order
from recovery.forms.widgets import LocalDateTimeInput
from recovery.services.symptoms import check_report


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

    def temperature_message(self, message: str) -> str:
        """A refusal of the temperature, said with what the person typed when they typed °F ("You entered 113 °F
        (45.0 °C). ..."), numbers as their language writes them."""
        if self.cleaned_data.get("unit") != "F":
            return message
        return gettext("You entered %(fahrenheit)s °F (%(celsius)s °C). %(message)s") % {
            "fahrenheit": number_format(self.cleaned_data["temperature"]),
            "celsius": number_format(self.temperature_c(), 1),
            "message": message,
        }


class TemperatureForm(TemperatureMixin):
    """Just a temperature: the two-tap log."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["temperature"].required = True
        self.fields["temperature"].error_messages["required"] = _("Enter the temperature.")


def error_summary(form: forms.Form, anchors: dict[str, str]) -> list[dict[str, str]]:
    """The messages for an error summary at the top of the page, each linked to the input of its field."""
    return [
        {"message": message, "href": f"#{anchors[name]}" if name in anchors else ""}
        for name, messages in form.errors.items()
        for message in messages
    ]


class SymptomPickerForm(forms.Form):
    """The check-in's first step: which symptoms are new or worse since the patient last told the team."""

    symptoms = forms.MultipleChoiceField(
        choices=[(code, code) for code in picker_order()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        error_messages={"invalid_choice": _("Choose the symptoms from the list.")},
    )
    # What is wrong may be in no list: then the last step asks for it in words (and "does this feel urgent?").
    other = forms.BooleanField(required=False)

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("symptoms") and not cleaned.get("other"):
            self.add_error("symptoms", _("Choose the symptoms that are new or worse, or choose I feel fine."))
        return cleaned

    def groups(self) -> list[dict]:
        """The picker's groups for the template: a title and its options (code, name, whether ticked)."""
        ticked = set(self["symptoms"].value() or [])
        return [
            {
                "title": gettext(title),
                "options": [
                    {"code": code, "name": gettext(QUESTIONS[code].name), "checked": code in ticked} for code in codes
                ],
            }
            for title, codes in SYMPTOM_GROUPS
        ]


class SymptomGradeForm(forms.Form):
    """One question: how bad one symptom has been at its worst, graded 0-4 in words (PRO-CTCAE severity)."""

    grade = forms.TypedChoiceField(
        choices=[(grade, grade) for grade in GRADE_WORDS],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose how bad it has been: None, Mild, Moderate, Severe or Very severe."),
            "invalid_choice": _("Choose how bad it has been: None, Mild, Moderate, Severe or Very severe."),
        },
    )

    def __init__(self, *args, question: SymptomQuestion, **kwargs):
        super().__init__(*args, **kwargs)
        self.question = question

    def options(self) -> list[dict]:
        """Each grade for the template: its value, its word and this symptom's example, and whether chosen."""
        chosen = str(self["grade"].value())
        return [
            {
                "value": grade,
                "word": gettext(word),
                "example": gettext(self.question.examples[grade]),
                "checked": chosen == str(grade),
            }
            for grade, word in GRADE_WORDS.items()
        ]


class CheckinDetailsForm(TemperatureMixin):
    """The check-in's last question: a temperature if taken, its time, notes and "does this feel urgent?".

    Checked here as the service will check it (its `check_report`), so a temperature it would refuse is
    shown on this step, where it was typed, and not only when the answers are sent.
    """

    notes = forms.CharField(
        label=_("Anything else you want to tell the team?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    feels_urgent = forms.BooleanField(label=_("I feel this is urgent"), required=False)

    def __init__(self, *args, config: TriageConfig, symptoms_chosen: bool = True, other: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.config = config
        self.symptoms_chosen = symptoms_chosen
        # "Something else, not in this list": only the patient's words say what it is, so they are required
        # (a temperature or "urgent" alone would send a report that says nothing of it; hazard H-41).
        self.other = other

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        errors, _temperature, _grades = check_report(
            recorded_at=cleaned.get("recorded_at"),
            temperature_c=self.temperature_c(),
            symptoms={},
            notes=cleaned.get("notes", ""),
            feels_urgent=cleaned.get("feels_urgent", False),
            now=timezone.now(),
            config=self.config,
        )
        for field, message in errors.items():
            target = {"temperature_c": "temperature", "recorded_at": "recorded_at", "__all__": "notes"}.get(field)
            if target == "notes":
                if self.symptoms_chosen:  # their grades are the report: nothing else is needed
                    continue
                message = gettext("Tell us in a few words what is wrong, or go back and choose I feel fine.")
            if target == "temperature":
                message = self.temperature_message(message)
            self.add_error(target, message)
        # Something else needs words, except when the patient says it feels urgent: an urgent report is never held
        # back for want of words (the team calls them back and asks).
        needs_words = self.other and not cleaned.get("feels_urgent")
        if needs_words and not (cleaned.get("notes") or "").strip() and "notes" not in self.errors:
            self.add_error("notes", gettext("You chose Something else: tell us in a few words what it is."))
        return cleaned

    def stored(self) -> dict[str, str]:
        """What was typed, as text, to keep between the steps (and to bind this form again later)."""
        return {
            name: self.data.get(name, "") for name in ("temperature", "unit", "recorded_at", "notes", "feels_urgent")
        }
