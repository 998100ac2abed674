"""Antimicrobial prophylaxis: each patient's courses from the protocol, and a clinician's record of a stop.

The courses are computed, never stored: `recovery.clinical.prophylaxis.prophylaxis_plan` from the episode's
dates, the CD4 results since Day 0 and the centre's `ProphylaxisConfig`; a `ProphylaxisStop` records that a
clinician stopped one. Stopping before the protocol allows it (before the planned stop date, or while CD4
is not recovered for a CD4-gated course) is refused unless the clinician confirms it and gives the reason.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from recovery.models import Patient, ProphylaxisStop
from recovery.queries.configuration import active_config
from recovery.queries.prophylaxis import Course, cd4_results, courses_from, medication_name
from recovery.queries.timeline import episode_of, patient_today
from recovery.services.audit import AuditContext, record_event
from recovery.services.reminders.replan import request_replan


def _d(value: date) -> str:
    """3 Dec 2026, or 3 dec 2026 in Swedish."""
    return date_format(value, _("j M Y"))


def _why_early(course: Course, cd4: list[tuple[date, Decimal]], threshold: float, stopped_on: date) -> str:
    """Why the protocol does not allow the stop yet (empty when it does)."""
    plan = course.plan
    if plan.stop_allowed:
        return ""
    if plan.planned_stop is None:
        return _(
            "%(medication)s has no planned stop date yet: the date it stops from (e.g. engraftment) is not recorded."
        ) % {"medication": course.name}
    if stopped_on < plan.planned_stop:
        return _("The protocol keeps %(medication)s until at least %(date)s.") % {
            "medication": course.name,
            "date": _d(plan.planned_stop),
        }
    latest = [(on, v) for on, v in cd4 if on <= stopped_on]
    if latest:
        on, value = latest[-1]
        return _(
            "%(medication)s continues until CD4 is at least %(threshold)s x10^9/L: the latest CD4 "
            "(%(value)s x10^9/L on %(date)s) is below it."
        ) % {
            "medication": course.name,
            "threshold": number_format(threshold),
            "value": number_format(value.normalize()),
            "date": _d(on),
        }
    return _(
        "%(medication)s continues until CD4 is at least %(threshold)s x10^9/L, and no CD4 count since Day 0 is "
        "recorded."
    ) % {"medication": course.name, "threshold": number_format(threshold)}


@transaction.atomic
def record_prophylaxis_stop(
    *,
    context: AuditContext,
    patient: Patient,
    medication: str,
    stopped_on: date,
    confirm_early: bool = False,
    reason: str = "",
) -> ProphylaxisStop:
    """A clinician's record that a medication was stopped on `stopped_on`.

    Refused (ValidationError by field) without a Day 0, for a medication not in the plan, a date in the
    future or before the course started, a course already stopped, and a stop the protocol does not allow
    yet unless `confirm_early` with a `reason`.
    """
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    episode = episode_of(patient)
    if episode is None or episode.reinfusion_date is None:
        raise ValidationError({"medication": _("No Day 0 is recorded yet, so there is no prophylaxis plan.")})
    active = active_config(patient.centre_id)
    config = active.prophylaxis
    today = patient_today(patient)
    if stopped_on > today:
        raise ValidationError(
            {
                "stopped_on": _("%(date)s is in the future: record a stop once it has happened.")
                % {"date": _d(stopped_on)}
            }
        )
    cd4 = cd4_results(patient, episode.reinfusion_date, active.labs)
    stops = list(patient.prophylaxis_stops.all())
    courses = {c.medication: c for c in courses_from(episode, cd4, stops, stopped_on, config)}
    course = courses.get(medication)
    if course is None:
        names = ", ".join(medication_name(code) for code in courses)
        raise ValidationError({"medication": _("Unknown medication: the plan has %(names)s.") % {"names": names}})
    if course.stop is not None:
        raise ValidationError(
            {
                "medication": _("%(medication)s is already recorded as stopped on %(date)s.")
                % {"medication": course.name, "date": _d(course.stop.stopped_on)}
            }
        )
    started = course.plan.start or episode.reinfusion_date
    if stopped_on < started:
        raise ValidationError(
            {
                "stopped_on": _("%(medication)s started on %(date)s: it cannot stop before that.")
                % {"medication": course.name, "date": _d(started)}
            }
        )
    early = _why_early(course, cd4, config.cd4_threshold, stopped_on)
    reason = (reason or "").strip()
    if early and not (confirm_early and reason):
        raise ValidationError(
            {
                "confirm_early": _("%(why)s To stop it anyway, confirm the early stop and give the reason.")
                % {"why": early}
            }
        )
    try:
        with transaction.atomic():
            stop = ProphylaxisStop.objects.create(
                patient=patient,
                medication=medication,
                stopped_on=stopped_on,
                stopped_by=context.actor,
                note=reason[:300],
            )
    except IntegrityError:
        raise ValidationError({"medication": f"{course.name} is already recorded as stopped."}) from None
    record_event(
        context=context,
        action="prophylaxis.stop",
        patient=patient,
        detail={"medication": medication, "stopped_on": stopped_on.isoformat(), "early": bool(early), "reason": reason},
    )
    request_replan(patient)
    return stop
