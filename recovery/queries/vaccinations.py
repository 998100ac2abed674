"""The revaccination plan of a patient, the doses due across patients, and the vaccine choices. Reads only."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils import timezone

from recovery.clinical.labs_config import VaccinationConfig
from recovery.clinical.phases import local_date
from recovery.clinical.vaccination import (
    DoseStatus,
    PlannedDose,
    vaccination_plan,
    vaccine_name,
)
from recovery.models import Patient, PatientStatus, Transfusion, TransfusionProduct, VaccinationDose
from recovery.queries.configuration import ActiveConfig, active_config, active_configs
from recovery.queries.timeline import episode_of, patient_today

OPEN_STATUSES = frozenset({DoseStatus.DUE, DoseStatus.OVERDUE})


def known_doses(config: VaccinationConfig) -> dict[str, int]:
    """The schedule's vaccines and their last scheduled dose number."""
    last: dict[str, int] = {}
    for scheduled in config.dose_list():
        last[scheduled.vaccine] = max(scheduled.dose, last.get(scheduled.vaccine, 0))
    return last


def _in_schedule(vaccine: str, dose: int, config: VaccinationConfig, last: dict[str, int]) -> bool:
    return vaccine in last and (dose <= last[vaccine] or vaccine in config.yearly_vaccines)


def plan_from(
    day0: date, doses: list[tuple[str, int, date]], today: date, config: VaccinationConfig
) -> list[PlannedDose]:
    """The plan, leaving out recorded doses the (changed) schedule no longer has, so that it never fails."""
    last = known_doses(config)
    given = [(vaccine, dose, on) for vaccine, dose, on in doses if _in_schedule(vaccine, dose, config, last)]
    return vaccination_plan(day0, given, today, config)


def plan_for(
    patient: Patient,
    *,
    today: date | None = None,
    config: ActiveConfig | None = None,
    doses: list[tuple[str, int, date]] | None = None,
) -> list[PlannedDose]:
    """The patient's revaccination plan on `today` (their local date); empty without a Day 0.

    `doses` (vaccine, dose, date given) saves the query when the caller has them already.
    """
    episode = episode_of(patient)
    if episode is None or episode.reinfusion_date is None:
        return []
    config = (config or active_config(patient.centre_id)).vaccination
    if doses is None:
        doses = list(patient.vaccinations.values_list("vaccine", "dose", "given_date"))
    return plan_from(episode.reinfusion_date, doses, today or patient_today(patient), config)


def vaccine_choices(config: VaccinationConfig) -> list[tuple[str, str]]:
    """(code, name) of every vaccine of the schedule, in schedule order."""
    return [(code, vaccine_name(code)) for code in known_doses(config)]


def immunoglobulin_dates(patient: Patient) -> list[date]:
    """The patient's recorded immunoglobulin (IVIG) doses, as dates where the patient is, oldest first."""
    given = Transfusion.objects.filter(patient=patient, product=TransfusionProduct.IMMUNOGLOBULIN)
    return sorted(local_date(at, patient.timezone) for at in given.values_list("given_at", flat=True))


@dataclass(frozen=True)
class PatientDue:
    """One patient's doses due or overdue today (their local date)."""

    patient: Patient
    today: date
    doses: list[PlannedDose]

    @property
    def overdue(self) -> list[PlannedDose]:
        return [d for d in self.doses if d.status == DoseStatus.OVERDUE]

    @property
    def earliest(self) -> date:
        return min(d.due_date for d in self.doses)


def _local_today(now: datetime, tz: str, cache: dict[str, date]) -> date:
    if tz not in cache:
        cache[tz] = now.astimezone(ZoneInfo(tz)).date()
    return cache[tz]


def doses_due(patients: QuerySet[Patient], *, overdue_only: bool = False) -> list[PatientDue]:
    """Active patients after Day 0 with a dose due or overdue: the most overdue first. Three queries."""
    now = timezone.now()
    rows = list(
        patients.filter(status=PatientStatus.ACTIVE, episode__reinfusion_date__lte=now.date())
        .select_related("episode", "centre")
        .order_by("last_name", "first_name", "id")
    )
    given: dict[int, list[tuple[str, int, date]]] = defaultdict(list)
    for patient_id, vaccine, dose, on in VaccinationDose.objects.filter(patient__in=[p.pk for p in rows]).values_list(
        "patient_id", "vaccine", "dose", "given_date"
    ):
        given[patient_id].append((vaccine, dose, on))
    configs = active_configs({p.centre_id for p in rows})
    todays: dict[str, date] = {}
    result = []
    for patient in rows:
        today = _local_today(now, patient.timezone, todays)
        plan = plan_from(
            patient.episode.reinfusion_date, given[patient.pk], today, configs[patient.centre_id].vaccination
        )
        wanted = {DoseStatus.OVERDUE} if overdue_only else OPEN_STATUSES
        open_doses = [d for d in plan if d.status in wanted]
        if open_doses:
            result.append(PatientDue(patient=patient, today=today, doses=open_doses))
    return sorted(result, key=lambda row: (not row.overdue, row.earliest, row.patient.last_name))
