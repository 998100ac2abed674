"""Staff entering a reading for a patient from a phone call."""

from django.utils.translation import gettext_lazy

from recovery.forms.checkin import TemperatureMixin


class PhoneReadingForm(TemperatureMixin):
    """The temperature the patient gave on the phone, and when they took it (the patient's own time)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        temperature = self.fields["temperature"]
        temperature.required = True
        temperature.label = gettext_lazy("Temperature the patient gave")
        temperature.error_messages["required"] = gettext_lazy("Enter the temperature the patient gave.")
        self.fields["recorded_at"].label = gettext_lazy("When did the patient take it?")
        self.fields["recorded_at"].error_messages["required"] = gettext_lazy(
            "Enter when the patient took the temperature."
        )
