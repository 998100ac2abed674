"""Revaccination after the transplant: each patient's plan, recording a dose given, and the centre's doses due.

The plan is computed by `recovery.clinical.vaccination.vaccination_plan` from Day 0, the doses recorded
(`VaccinationDose`) and the centre's `VaccinationConfig`; its open doses are also stored for the coordinators'
list of doses due (`services/vaccination_plans.py`), computed again after each dose recorded. A dose is refused,
with the reason in plain language, when the rules of `check_vaccination` forbid it (a live vaccine before month
24, while immunosuppressed or with that question unanswered, or too soon after immunoglobulin; a date before Day 0),
when it is dated in the future, when it is recorded twice, or when the dose it follows has not been recorded.
The page and the API both record through `record_vaccination`, so both apply the same rule. Immunoglobulin
(IVIG) doses are the transfusion records of product "immunoglobulin" (entered with the lab results).
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from recovery.clinical.vaccination import (
    VaccinationRefusedError,
    check_vaccination,
    vaccine_name,
)
from recovery.models import Patient, VaccinationDose
from recovery.queries.configuration import active_config
from recovery.queries.timeline import episode_of, patient_today
from recovery.queries.vaccinations import immunoglobulin_dates
from recovery.services.audit import AuditContext, record_event
from recovery.services.reminders.replan import request_replan
from recovery.services.vaccination_plans import request_vaccination_refresh


def _d(value: date) -> str:
    """3 Dec 2026, or 3 dec 2026 in Swedish."""
    return date_format(value, _("j M Y"))


@transaction.atomic
def record_vaccination(
    *,
    context: AuditContext,
    patient: Patient,
    vaccine: str,
    dose: int,
    given_date: date,
    immunosuppressed: bool | None = None,
    note: str = "",
) -> VaccinationDose:
    """Record a dose given; ValidationError (by field, in plain language) when the rules refuse it.

    `immunosuppressed` is the recorder's answer (None: not answered); a live vaccine needs an explicit False.
    """
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one dose at a time per patient
    config = active_config(patient.centre_id).vaccination
    episode = episode_of(patient)
    day0 = episode.reinfusion_date if episode is not None else None
    if day0 is None:
        raise ValidationError(
            {
                "given_date": "No Day 0 (reinfusion date) is recorded yet. Revaccination counts from Day 0: enter the "
                "transplant dates first."
            }
        )
    vaccine = (vaccine or "").strip().lower()
    today = patient_today(patient)
    if given_date > today:
        raise ValidationError(
            {"given_date": f"{_d(given_date)} is in the future (today is {_d(today)}): record a dose once it is given."}
        )
    try:
        check_vaccination(
            vaccine,
            dose,
            given_date,
            day0,
            config,
            immunosuppressed=immunosuppressed,
            immunoglobulin_dates=immunoglobulin_dates(patient) if vaccine in config.live_vaccines else (),
        )
    except VaccinationRefusedError as exc:
        raise ValidationError({exc.field: _(exc.template) % exc.words(_)}) from None
    name = _(vaccine_name(vaccine))
    recorded = {row.dose: row for row in VaccinationDose.objects.filter(patient=patient, vaccine=vaccine)}
    if dose in recorded:
        raise ValidationError(
            {
                "dose": _("%(name)s dose %(dose)s is already recorded as given on %(date)s.")
                % {"name": name, "dose": dose, "date": _d(recorded[dose].given_date)}
            }
        )
    previous = recorded.get(dose - 1)
    if dose > 1 and previous is None:
        raise ValidationError(
            {
                "dose": _("Record %(name)s dose %(previous)s first: dose %(dose)s follows it.")
                % {"name": name, "previous": dose - 1, "dose": dose}
            }
        )
    if previous is not None and given_date <= previous.given_date:
        raise ValidationError(
            {
                "given_date": _("%(name)s dose %(dose)s must be given after dose %(previous)s (%(date)s).")
                % {"name": name, "dose": dose, "previous": dose - 1, "date": _d(previous.given_date)}
            }
        )
    try:
        with transaction.atomic():
            row = VaccinationDose.objects.create(
                patient=patient,
                vaccine=vaccine,
                dose=dose,
                given_date=given_date,
                entered_by=context.actor,
                note=(note or "").strip()[:300],
                immunosuppressed=immunosuppressed,
            )
    except IntegrityError:
        raise ValidationError({"dose": f"{name} dose {dose} is already recorded."}) from None
    record_event(
        context=context,
        action="vaccination.record",
        patient=patient,
        detail={
            "vaccine": vaccine,
            "dose": dose,
            "given_date": given_date.isoformat(),
            "immunosuppressed": immunosuppressed,
            "id": str(row.uuid),
        },
    )
    request_replan(patient)
    request_vaccination_refresh(patient)  # the worklist of doses due reads the stored plan
    return row
