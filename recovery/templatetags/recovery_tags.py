from django import template
from django.utils.translation import gettext_lazy

from recovery.phase_text import day_label as phase_day_label

register = template.Library()

_PHASE_LABELS = {
    "evaluation": gettext_lazy("Evaluation"),
    "mobilisation": gettext_lazy("Mobilisation"),
    "collection": gettext_lazy("Collection"),
    "conditioning": gettext_lazy("Conditioning"),
    "aplasia": gettext_lazy("Aplasia"),
    "early_recovery": gettext_lazy("Early recovery"),
    "recovery": gettext_lazy("Recovery (3-6 months)"),
    "reconstitution": gettext_lazy("Reconstitution"),
    "follow_up": gettext_lazy("Long-term follow-up"),
}

_STATUS_CLASSES = {
    "overdue": "text-bg-danger",
    "due": "text-bg-warning",
    "planned": "text-bg-light border",
    "done": "text-bg-success",
    "cancelled": "text-bg-secondary",
}


@register.filter
def phase_label(phase) -> str:
    return str(_PHASE_LABELS.get(str(phase), str(phase)))


@register.filter
def day_label(day) -> str:
    """Day 0, Day +9, Day -3 (in the active language); empty without a Day 0."""
    if day is None or day == "":
        return ""
    return phase_day_label(int(day))


@register.filter
def kind_label(kind) -> str:
    return str(kind).replace("_", " ").capitalize()


@register.filter
def status_class(status) -> str:
    return _STATUS_CLASSES.get(str(status), "text-bg-light")


@register.filter
def flag_label(flag) -> str:
    return str(flag).replace("_", " ").capitalize()


@register.filter
def percent(value) -> int:
    return round(float(value or 0) * 100)
