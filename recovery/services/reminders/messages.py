"""What each kind of message says: one function per kind, each with subject, text and HTML templates.

Templates live in `templates/notifications/<language>/<kind>/{subject.txt,body.txt,body.html}`; a message
to the patient is in the patient's language (English when there is no translation of that kind), a
message to staff in English. The text body is also the SMS and the in-app notification's text.
"""

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import select_template
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy

from recovery.event_titles import event_title
from recovery.models import Audience, Notification, NotificationKind
from recovery.queries.configuration import active_config


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


def _language(notification: Notification) -> str:
    if notification.audience == Audience.PATIENT:
        return notification.patient.preferred_language or settings.LANGUAGE_CODE
    return "en"


def _render_part(language: str, kind: str, name: str, context: dict) -> str:
    """One template of a kind, in `language` when it has that translation, else in English."""
    names = [f"notifications/{language}/{kind}/{name}", f"notifications/en/{kind}/{name}"]
    template = select_template(names)
    # dates and numbers (month names, "3 dec") in the language the template is written in, whatever the request's
    with translation.override(language if template.origin.template_name == names[0] else "en"):
        return template.render(context)


def _celsius(value: float, language: str) -> str:
    """A temperature as the patient's language writes it (38.0, 38,0)."""
    text = f"{value:.1f}"
    return text.replace(".", ",") if language == "sv" else text


def _render(notification: Notification, **extra) -> Message:
    patient = notification.patient
    zone = ZoneInfo(patient.timezone)
    language = _language(notification)
    triage = active_config(patient.centre_id).triage
    context = {
        "n": notification,
        "patient": patient,
        "centre": patient.centre,
        "local_due": notification.due_at.astimezone(zone),
        "about_local": notification.about_at.astimezone(zone) if notification.about_at else None,
        "site_url": settings.SITE_URL.rstrip("/"),
        "detail": notification.detail or {},
        # the centre's thresholds that the patient is told to call at (triage: urgent in the high-risk window)
        "fever_c": _celsius(triage.fever_c, language),
        "very_low_c": _celsius(triage.very_low_temperature_c, language),
        **extra,
    }
    kind = notification.kind
    return Message(
        subject=" ".join(_render_part(language, kind, "subject.txt", context).split()),
        text=_render_part(language, kind, "body.txt", context).strip(),
        html=_render_part(language, kind, "body.html", context),
    )


_lazy_event_title = lazy(event_title, str)


def _event_context(notification: Notification) -> dict:
    event = notification.event
    # lazy: the built-in title (or the fallback) in the language the template is rendered in (`_render_part`)
    title = _lazy_event_title(event.title) if event else gettext_lazy("your appointment")
    return {"event": event, "event_title": title}


def temperature_checkin(notification: Notification) -> Message:
    return _render(notification)


def red_flag_checkin(notification: Notification) -> Message:
    return _render(notification)


def checkin(notification: Notification) -> Message:
    return _render(notification)


def appointment_eve(notification: Notification) -> Message:
    return _render(notification, **_event_context(notification))


def appointment_morning(notification: Notification) -> Message:
    return _render(notification, **_event_context(notification))


def missed_checkin(notification: Notification) -> Message:
    return _render(notification)


def missed_checkin_task(notification: Notification) -> Message:
    return _render(notification)


def missed_checkin_clinician(notification: Notification) -> Message:
    return _render(notification)


def _alert_context(notification: Notification) -> dict:
    alert = notification.alert
    return {"alert": alert, "alert_local": alert.created_at.astimezone(ZoneInfo(notification.patient.timezone))}


def alert_resend(notification: Notification) -> Message:
    return _render(notification, **_alert_context(notification))


def alert_on_call(notification: Notification) -> Message:
    return _render(notification, **_alert_context(notification))


def alert_end_of_day(notification: Notification) -> Message:
    return _render(notification, **_alert_context(notification))


def vaccination_due(notification: Notification) -> Message:
    return _render(notification)


def lab_due(notification: Notification) -> Message:
    return _render(notification)


def prophylaxis_reminder(notification: Notification) -> Message:
    return _render(notification)


def prophylaxis_review(notification: Notification) -> Message:
    return _render(notification)


def missed_lab_task(notification: Notification) -> Message:
    return _render(notification)


RENDERERS: dict[str, Callable[[Notification], Message]] = {
    NotificationKind.TEMPERATURE_CHECKIN: temperature_checkin,
    NotificationKind.RED_FLAG_CHECKIN: red_flag_checkin,
    NotificationKind.CHECKIN: checkin,
    NotificationKind.APPOINTMENT_EVE: appointment_eve,
    NotificationKind.APPOINTMENT_MORNING: appointment_morning,
    NotificationKind.MISSED_CHECKIN: missed_checkin,
    NotificationKind.MISSED_CHECKIN_TASK: missed_checkin_task,
    NotificationKind.MISSED_CHECKIN_CLINICIAN: missed_checkin_clinician,
    NotificationKind.ALERT_RESEND: alert_resend,
    NotificationKind.ALERT_ON_CALL: alert_on_call,
    NotificationKind.ALERT_END_OF_DAY: alert_end_of_day,
    NotificationKind.VACCINATION_DUE: vaccination_due,
    NotificationKind.LAB_DUE: lab_due,
    NotificationKind.PROPHYLAXIS_REMINDER: prophylaxis_reminder,
    NotificationKind.PROPHYLAXIS_REVIEW: prophylaxis_review,
    NotificationKind.MISSED_LAB_TASK: missed_lab_task,
}


def render(notification: Notification) -> Message:
    """The message a notification sends (its kind's function)."""
    return RENDERERS[notification.kind](notification)
