"""Form fields shared by the forms: decimals typed the way people write them in their language."""

from django import forms
from django.utils import formats


class DecimalInput(forms.TextInput):
    """A text box with the phone's decimal keypad. Not type=number: browsers refuse "37,8" there (and some drop
    what was typed without a word), while a Swede writes a decimal comma."""

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})


class LocalDecimalField(forms.DecimalField):
    """A decimal shown in the active language's format (37,8 in Swedish, 37.8 in English) that accepts both a
    decimal comma and a decimal point whatever the language: a Swede typing 37.8 means 37,8."""

    widget = DecimalInput

    def __init__(self, **kwargs):
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        # DecimalField's step/min/max attributes belong to type=number inputs only.
        attrs = super().widget_attrs(widget)
        return {key: value for key, value in attrs.items() if key not in ("step", "min", "max")}

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace("\u00a0", "").replace(" ", "")
            if "," in value and "." not in value:
                value = value.replace(",", formats.get_format("DECIMAL_SEPARATOR"))
            elif "." in value and "," not in value:
                value = value.replace(".", formats.get_format("DECIMAL_SEPARATOR"))
        return super().to_python(value)
