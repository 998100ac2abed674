from django import template

register = template.Library()

_PHASE_LABELS = {
    "evaluation": "Evaluation",
    "mobilisation": "Mobilisation",
    "collection": "Collection",
    "conditioning": "Conditioning",
    "aplasia": "Aplasia",
    "early_recovery": "Early recovery",
    "recovery": "Recovery (3-6 months)",
    "reconstitution": "Reconstitution",
    "follow_up": "Long-term follow-up",
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
    return _PHASE_LABELS.get(str(phase), str(phase))


@register.filter
def day_label(day) -> str:
    """Day 0, Day +9, Day -3; empty without a Day 0."""
    if day is None or day == "":
        return ""
    day = int(day)
    return f"Day {day:+d}" if day else "Day 0"


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
