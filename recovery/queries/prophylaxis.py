"""Prophylaxis courses as planned by the rules, with their stop records and the CD4 results they depend on.
Reads only."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy

from recovery.clinical.labs_config import LabConfig, ProphylaxisConfig
from recovery.clinical.prophylaxis import CourseStatus, MedicationPlan, prophylaxis_plan, usable_cd4
from recovery.models import LabResult, LabTest, Patient, PatientStatus, ProphylaxisStop, TransplantEpisode
from recovery.queries.configuration import ActiveConfig, active_config, active_configs
from recovery.queries.timeline import episode_of, patient_today

# Display names and what each medication prevents, in plain words; a code not listed is shown as it is.
MEDICATIONS: dict[str, tuple[str, str]] = {
    "aciclovir": (gettext_lazy("Aciclovir"), gettext_lazy("prevents shingles and cold sores (HSV/VZV)")),
    "valaciclovir": (gettext_lazy("Valaciclovir"), gettext_lazy("prevents shingles and cold sores (HSV/VZV)")),
    "cotrimoxazole": (gettext_lazy("Co-trimoxazole"), gettext_lazy("prevents pneumocystis pneumonia (PJP)")),
    "fluconazole": (gettext_lazy("Fluconazole"), gettext_lazy("prevents fungal (yeast) infections")),
    "levofloxacin": (
        gettext_lazy("Levofloxacin"),
        gettext_lazy("prevents bacterial infections while the neutrophils are low"),
    ),
}


def medication_name(code: str) -> str:
    return str(MEDICATIONS.get(code, (code.capitalize(), ""))[0])


def medication_purpose(code: str) -> str:
    return str(MEDICATIONS.get(code, ("", ""))[1])


class Display:
    """What a course's badge says (computed from the plan and the stop record)."""

    NOT_STARTED = "not_started"
    ACTIVE = "active"
    AWAITING_CD4 = "awaiting_cd4"
    STOP_ALLOWED = "stop_allowed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Course:
    plan: MedicationPlan
    stop: ProphylaxisStop | None

    @property
    def medication(self) -> str:
        return self.plan.medication

    @property
    def name(self) -> str:
        return medication_name(self.plan.medication)

    @property
    def purpose(self) -> str:
        return medication_purpose(self.plan.medication)

    @property
    def display(self) -> str:
        if self.stop is not None:
            return Display.STOPPED
        if self.plan.awaiting_cd4:
            return Display.AWAITING_CD4
        if self.plan.status == CourseStatus.STOP_ALLOWED:
            return Display.STOP_ALLOWED
        if self.plan.status == CourseStatus.ACTIVE:
            return Display.ACTIVE
        return Display.NOT_STARTED

    @property
    def needs_review(self) -> bool:
        """The clinician prompt: the stop date is reached but CD4 is not recovered, and it is still taken."""
        return self.stop is None and self.plan.awaiting_cd4


@dataclass(frozen=True)
class ProphylaxisSummary:
    today: date
    day0: date | None
    courses: list[Course]
    cd4: tuple[date, Decimal] | None  # the latest CD4 after Day 0 (local date, x10^9/L)
    cd4_threshold: float

    @property
    def reviews(self) -> list[Course]:
        return [c for c in self.courses if c.needs_review]


def _cd4_counts(patients: Sequence[Patient]) -> dict[int, list[tuple[date, Decimal]]]:
    """(local date, value) of the CD4 counts of `patients` by patient id, oldest first: one query."""
    zones = {p.pk: ZoneInfo(p.timezone) for p in patients}
    found: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    for patient_id, at, value in (
        LabResult.objects.filter(patient__in=list(zones), test=LabTest.CD4)
        .order_by("collected_at")
        .values_list("patient_id", "collected_at", "value")
    ):
        found[patient_id].append((at.astimezone(zones[patient_id]).date(), value))
    return found


def cd4_results(patient: Patient, day0: date, labs: LabConfig | None = None) -> list[tuple[date, Decimal]]:
    """(local date, value) of the patient's CD4 counts the courses read (`usable_cd4`: after Day 0 and after the
    last implausible count), oldest first. `labs` (the centre's) saves a query."""
    labs = labs or active_config(patient.centre_id).labs
    return usable_cd4(_cd4_counts([patient])[patient.pk], day0, labs)


def cd4_by_patient(
    patients: Sequence[Patient], configs: Mapping[int, ActiveConfig]
) -> dict[int, list[tuple[date, Decimal]]]:
    """`cd4_results` of each of `patients` (each with its episode's Day 0; `configs` by centre id), by patient id,
    in one query whatever their number."""
    counts = _cd4_counts(patients)
    return {p.pk: usable_cd4(counts[p.pk], p.episode.reinfusion_date, configs[p.centre_id].labs) for p in patients}


def courses_from(
    episode: TransplantEpisode,
    cd4: list[tuple[date, Decimal]],
    stops: list[ProphylaxisStop],
    today: date,
    config: ProphylaxisConfig,
) -> list[Course]:
    """The episode's courses on `today`, each with its stop record (if any)."""
    day0 = episode.reinfusion_date
    conditioning = episode.conditioning_start_date
    if conditioning is not None and conditioning > day0:
        conditioning = None  # a data error the episode form refuses; the course then counts from Day 0
    engraftment = episode.neutrophil_engraftment_date
    if engraftment is not None and engraftment < day0:
        engraftment = None
    plans = prophylaxis_plan(day0, conditioning, engraftment, [(on, float(v)) for on, v in cd4], today, config)
    by_medication = {stop.medication: stop for stop in stops}
    return [Course(plan=plan, stop=by_medication.get(plan.medication)) for plan in plans]


def prophylaxis_for(
    patient: Patient,
    *,
    today: date | None = None,
    config: ActiveConfig | None = None,
    stops: list[ProphylaxisStop] | None = None,
    with_cd4: bool = True,
) -> ProphylaxisSummary | None:
    """The patient's courses on `today` (their local date); None without a Day 0.

    `stops` saves the query when the caller has them already. Without CD4 (`with_cd4=False`, for a summary
    that only tells which courses are still taken) no course counts as recovered.
    """
    episode = episode_of(patient)
    if episode is None or episode.reinfusion_date is None:
        return None
    active = config or active_config(patient.centre_id)
    config = active.prophylaxis
    today = today or patient_today(patient)
    cd4 = cd4_results(patient, episode.reinfusion_date, active.labs) if with_cd4 else []
    if stops is None:
        stops = list(patient.prophylaxis_stops.select_related("stopped_by"))
    latest = [(on, v) for on, v in cd4 if on <= today]
    return ProphylaxisSummary(
        today=today,
        day0=episode.reinfusion_date,
        courses=courses_from(episode, cd4, stops, today, config),
        cd4=latest[-1] if latest else None,
        cd4_threshold=config.cd4_threshold,
    )


def reviews_due(patients) -> list[tuple[Patient, list[Course]]]:
    """Active patients with a course whose stop date is reached but CD4 is not recovered. Four queries."""
    rows = list(
        patients.filter(status=PatientStatus.ACTIVE, episode__reinfusion_date__isnull=False)
        .select_related("episode", "centre")
        .order_by("last_name", "first_name", "id")
    )
    configs = active_configs({p.centre_id for p in rows})
    cd4 = cd4_by_patient(rows, configs)
    stops: dict[int, list[ProphylaxisStop]] = defaultdict(list)
    for stop in ProphylaxisStop.objects.filter(patient__in=[p.pk for p in rows]):
        stops[stop.patient_id].append(stop)
    result = []
    for patient in rows:
        today = patient_today(patient)
        courses = courses_from(
            patient.episode, cd4[patient.pk], stops[patient.pk], today, configs[patient.centre_id].prophylaxis
        )
        waiting = [c for c in courses if c.needs_review]
        if waiting:
            result.append((patient, waiting))
    return result
