"""Summaries of vaccinations and prophylaxis for pages whose views belong to other features (the patient's
home page, the staff patient page). Each reads through the same services as the care pages."""

from datetime import date

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from recovery.clinical.vaccination import DoseStatus
from recovery.queries.care import my_care_context
from recovery.queries.configuration import active_config
from recovery.queries.prophylaxis import Display, prophylaxis_for
from recovery.queries.timeline import patient_today
from recovery.queries.vaccinations import plan_for

register = template.Library()


@register.inclusion_tag("recovery/care/_my_care_summary.html")
def my_care_summary(patient):
    """The patient's medicines and the vaccinations due now, in plain words, with a link to the full plan."""
    return my_care_context(patient)


@register.inclusion_tag("recovery/care/_prophylaxis_card.html")
def care_card(patient, config=None):
    """Staff: the courses being taken, the CD4 prompt, and the number of doses due, given and overdue.

    `config`: the centre's active configuration when the page has it already.
    """
    config = config or active_config(patient.centre_id)
    today = patient_today(patient)
    summary = prophylaxis_for(patient, today=today, config=config)
    plan = plan_for(patient, today=today, config=config)
    courses = summary.courses if summary else []
    return {
        "patient": patient,
        "summary": summary,
        "taking": [c for c in courses if c.display in (Display.ACTIVE, Display.AWAITING_CD4, Display.STOP_ALLOWED)],
        "due": sum(1 for d in plan if d.status == DoseStatus.DUE),
        "overdue": sum(1 for d in plan if d.status == DoseStatus.OVERDUE),
        "given": sum(1 for d in plan if d.status == DoseStatus.GIVEN),
    }


@register.filter
def as_date(value):
    """An ISO date string (as stored in a notification's detail) as a date; anything else unchanged."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


@register.filter
def names(rows) -> list[str]:
    """The `name` of each row (a course, a dose row), for `join`."""
    return [row.name for row in rows]


@register.filter
def bold_names(rows):
    """ "<strong>A</strong>, <strong>B</strong> and <strong>C</strong>", the list's "and" in the active language."""
    bold = [format_html("<strong>{}</strong>", row.name) for row in rows]
    if len(bold) < 2:
        return bold[0] if bold else ""
    return format_html(
        _("%(items)s and %(last)s") % {"items": "{}", "last": "{}"},
        format_html_join(", ", "{}", ((item,) for item in bold[:-1])),
        bold[-1],
    )
