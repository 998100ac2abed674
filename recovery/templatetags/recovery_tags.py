from django import template
from django.utils.translation import gettext_lazy

from recovery import event_titles
from recovery.phase_text import day_label as phase_day_label
from recovery.queries.alert_reasons import alert_reason as reason_text

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

# Words for the codes shown with `kind_label`: timeline event kinds, alert kinds and triage levels.
_KIND_LABELS = {
    # timeline event kinds (clinical.timeline.EventKind)
    "visit": gettext_lazy("Visit"),
    "lab": gettext_lazy("Lab"),
    "medication_start": gettext_lazy("Medication start"),
    "medication_stop": gettext_lazy("Medication stop"),
    "checkin_period": gettext_lazy("Check-in period"),
    "vaccination": gettext_lazy("Vaccination"),
    "mri": gettext_lazy("MRI"),
    "edss_review": gettext_lazy("EDSS review"),
    "chemotherapy": gettext_lazy("Chemotherapy"),
    "procedure": gettext_lazy("Procedure"),
    # alert kinds (clinical.triage.AlertKind)
    "fever": gettext_lazy("Fever"),
    "red_flag": gettext_lazy("Red flag"),
    "severe_symptom": gettext_lazy("Severe symptom"),
    "worsening": gettext_lazy("Worsening"),
    "feels_urgent": gettext_lazy("Feels urgent"),
    "low_temperature": gettext_lazy("Low temperature"),
    "pseudo_relapse": gettext_lazy("Pseudo relapse"),
    "routine_review": gettext_lazy("Routine review"),
    "delayed_engraftment": gettext_lazy("Delayed engraftment"),
    "possible_graft_failure": gettext_lazy("Possible graft failure"),
    "ebv_viraemia": gettext_lazy("EBV viraemia"),
    # triage levels
    "urgent": gettext_lazy("Urgent"),
    "same_day": gettext_lazy("Same day"),
    "routine": gettext_lazy("Routine"),
}

# The phase's engraftment flags (clinical.phases.Flag).
_FLAG_LABELS = {
    "delayed_engraftment": gettext_lazy("Delayed engraftment"),
    "possible_graft_failure": gettext_lazy("Possible graft failure"),
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
    """An event kind, alert kind or triage level in words (an unknown code as itself, in words)."""
    label = _KIND_LABELS.get(str(kind))
    return str(label) if label is not None else str(kind).replace("_", " ").capitalize()


@register.filter
def status_class(status) -> str:
    return _STATUS_CLASSES.get(str(status), "text-bg-light")


@register.filter
def flag_label(flag) -> str:
    label = _FLAG_LABELS.get(str(flag))
    return str(label) if label is not None else str(flag).replace("_", " ").capitalize()


@register.filter
def event_title(title) -> str:
    """A timeline event's stored title in the active language when it is a built-in title; a typed one as typed."""
    return event_titles.event_title(title)


@register.filter
def percent(value) -> int:
    return round(float(value or 0) * 100)


@register.filter
def alert_reason(alert) -> str:
    """An alert's whole reason in the reader's language (the stored English for an alert stored without codes)."""
    return reason_text(alert)
