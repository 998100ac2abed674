"""The revaccination plan of a patient, the doses due across patients, and the vaccine choices. Reads only."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import Case, DateField, F, Max, Min, Q, QuerySet, Value, When
from django.db.models.functions import Collate
from django.utils import timezone

from recovery.clinical.labs_config import VaccinationConfig
from recovery.clinical.phases import local_date
from recovery.clinical.vaccination import (
    DoseStatus,
    OpenDose,
    PlannedDose,
    open_doses,
    vaccination_plan,
    vaccine_name,
)
from recovery.models import (
    Patient,
    PatientStatus,
    PlannedVaccination,
    Transfusion,
    TransfusionProduct,
    VaccinationDose,
)
from recovery.queries.configuration import ActiveConfig, active_config, active_configs
from recovery.queries.follow_up import follow_up_cutoffs, in_follow_up
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


def open_doses_from(day0: date, doses: list[tuple[str, int, date]], config: VaccinationConfig) -> list[OpenDose]:
    """The plan's open doses (what is stored for the list of doses due), leaving out recorded doses the (changed)
    schedule no longer has, as `plan_from` does."""
    last = known_doses(config)
    given = [(vaccine, dose, on) for vaccine, dose, on in doses if _in_schedule(vaccine, dose, config, last)]
    return open_doses(day0, given, config)


def due_summary(doses: Sequence[OpenDose]) -> tuple[date | None, date | None]:
    """(the earliest due date, the first day one of them is overdue) of the open doses, None without any: what
    `VaccinationPlanState` stores so that the list of doses due reads one row a patient. A dose is overdue on the
    days after `due_until` that are not before `due_date`."""
    if not doses:
        return None, None
    return min(d.due_date for d in doses), min(max(d.due_date, d.due_until + timedelta(days=1)) for d in doses)


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

    def key(self) -> tuple:
        """The list's order: the most overdue first (any dose overdue, then the earliest due date), then by name
        in code point order (the database sorts the stored rows the same way: `_name_order`)."""
        return (not self.overdue, self.earliest, self.patient.last_name, self.patient.first_name, self.patient.pk)


def _schedule_order(config: VaccinationConfig) -> dict[tuple[str, int], int]:
    """The plan's order of doses with the same due date (schedule order; yearly repeats after every other)."""
    return {(d.vaccine, d.dose): index for index, d in enumerate(config.dose_list())}


def _name_order(field: str):
    """`field` sorted by code point, as Python compares text, whatever the database's collation."""
    return Collate(field, "C" if connection.vendor == "postgresql" else "BINARY")


class DueList(Sequence):
    """The patients of `doses_due`, counted and ordered in the database (the paginator's object list): a fixed
    number of queries whatever the number of patients.

    The patients whose stored plan is current are filtered and ordered by SQL from the plan's summary
    (`VaccinationPlanState.first_due` and `first_overdue`, one row a patient; the list of overdue doses only
    groups the stored doses, `PlannedVaccination`), on each patient's local date (one date per time zone, so the
    statuses in SQL are exact); the same query counts them, and a page reads the doses of its patients only.
    The few patients whose stored plan is not current (marked for a refresh, not yet computed, or from another
    Day 0 or configuration version) are computed live from the rule and merged in, so the list is always what
    `vaccination_plan` says. Patients past follow-up (`recovery/clinical/follow_up.py`: ten years
    and thirty days after Day 0 with the default configuration) are not listed: the centre plans nothing from
    their Day 0 any more, as for reminders."""

    def __init__(self, patients: QuerySet[Patient], *, overdue_only: bool = False) -> None:
        now = timezone.now()
        self.overdue_only = overdue_only
        transplanted = patients.filter(status=PatientStatus.ACTIVE, episode__reinfusion_date__lte=now.date())
        # the time zones and centres of all the patients (a few: read from the index on both), a superset of the
        # transplanted ones': a zone or centre more changes nothing
        pairs = set(patients.order_by().values_list("centre_id", "timezone").distinct())
        self.todays = {tz: local_date(now, tz) for _, tz in pairs}
        self.configs = active_configs({centre for centre, _ in pairs})
        # Past follow-up the centre no longer plans anything from Day 0 (a day of slack for the local dates).
        slack = now.date() - timedelta(days=1)
        self.base = transplanted.filter(in_follow_up(slack, self.configs))
        # the earliest Day 0 still listed, for the page to say who is not
        self.follow_up_from = min(follow_up_cutoffs(slack, self.configs).values(), default=None)
        self._count: int | None = None
        self._ids: list[int] | None = None
        stored, live = self._scan() if pairs else ([], [])
        if not overdue_only:
            self._ids = stored
        self.live = self._live(live)

    # --- the patients computed live ----------------------------------------------------------------------------

    def _current(self) -> Q:
        """The patients whose stored plan may be read (from their Day 0 and their centre's configuration)."""
        versions = Q(pk__in=[])
        for centre_id, config in self.configs.items():
            versions |= Q(centre_id=centre_id, vaccination_plan__config_version=config.version)
        return Q(vaccinations_stale_since__isnull=True, vaccination_plan__day0=F("episode__reinfusion_date")) & versions

    def _scan(self) -> tuple[list[int], list[int]]:
        """One query over the patients: (the stored patients listed, in the list's order; the patients computed
        live). A stored plan is read from its summary (`first_due`, `first_overdue`: one row a patient); the list
        of overdue doses only, ordered by the earliest overdue dose, orders its stored patients itself
        (`_overdue_ids`)."""
        today = self._today("")
        listed = "vaccination_plan__first_overdue__lte" if self.overdue_only else "vaccination_plan__first_due__lte"
        rows = (
            self.base.annotate(
                current=Case(When(self._current(), then=Value(True)), default=Value(False)),
                overdue=Case(When(vaccination_plan__first_overdue__lte=today, then=Value(1)), default=Value(0)),
                earliest=F("vaccination_plan__first_due"),
                by_last_name=_name_order("last_name"),
                by_first_name=_name_order("first_name"),
            )
            .filter(Q(current=False) | Q(current=True, **{listed: today}))
            .order_by("-overdue", "earliest", "by_last_name", "by_first_name", "pk")
            .values_list("pk", "current")
        )
        stored, live = [], []
        for pk, current in rows:
            (stored if current else live).append(pk)
        return stored, live

    def _live(self, ids: list[int]) -> list[PatientDue]:
        if not ids:
            return []
        rows = list(Patient.objects.filter(pk__in=ids).select_related("episode", "centre"))
        given: dict[int, list[tuple[str, int, date]]] = defaultdict(list)
        for patient_id, vaccine, dose, on in VaccinationDose.objects.filter(
            patient__in=[p.pk for p in rows]
        ).values_list("patient_id", "vaccine", "dose", "given_date"):
            given[patient_id].append((vaccine, dose, on))
        wanted = {DoseStatus.OVERDUE} if self.overdue_only else OPEN_STATUSES
        result = []
        for patient in rows:
            today = self.todays[patient.timezone]
            plan = plan_from(
                patient.episode.reinfusion_date, given[patient.pk], today, self.configs[patient.centre_id].vaccination
            )
            open_doses = [d for d in plan if d.status in wanted]
            if open_doses:
                result.append(PatientDue(patient=patient, today=today, doses=open_doses))
        return sorted(result, key=PatientDue.key)

    # --- the stored rows ---------------------------------------------------------------------------------------

    def _today(self, patient: str = "patient__") -> Case:
        """The patient's local date, one value per time zone of the list (`patient`: the lookup to the patient)."""
        whens = [When(**{f"{patient}timezone": tz}, then=Value(on)) for tz, on in self.todays.items()]
        return Case(*whens, default=Value(None), output_field=DateField())

    def _due_rows(self) -> QuerySet[PlannedVaccination]:
        current = self.base.filter(self._current())
        rows = PlannedVaccination.objects.filter(patient__in=current.values("pk"), due_date__lte=self._today())
        return rows.filter(due_until__lt=self._today()) if self.overdue_only else rows

    def _stored_ids(self) -> list[int]:
        """The stored patients of the list, in its order (which also counts them)."""
        if self._ids is None:
            self._ids = self._overdue_ids() if self.todays else []
        return self._ids

    def _overdue_ids(self) -> list[int]:
        overdue = Max(Case(When(due_until__lt=self._today(), then=Value(1)), default=Value(0)))
        grouped = (
            self._due_rows()
            .values("patient_id")
            .annotate(
                overdue=overdue,
                earliest=Min("due_date"),
                last_name=_name_order("patient__last_name"),
                first_name=_name_order("patient__first_name"),
            )
            .order_by("-overdue", "earliest", "last_name", "first_name", "patient_id")
        )
        return [row["patient_id"] for row in grouped]

    def _stored_page(self, start: int, stop: int) -> list[PatientDue]:
        ids = self._stored_ids()[start:stop]
        if not ids:
            return []
        patients = Patient.objects.select_related("episode", "centre").in_bulk(ids)
        doses: dict[int, list[PlannedDose]] = defaultdict(list)
        page_rows = PlannedVaccination.objects.filter(patient_id__in=ids, due_date__lte=self._today())
        if self.overdue_only:
            page_rows = page_rows.filter(due_until__lt=self._today())
        for row in page_rows.select_related(None).order_by():
            today = self.todays[patients[row.patient_id].timezone]
            open_dose = OpenDose(row.vaccine, row.dose, row.due_date, row.due_until)
            doses[row.patient_id].append(
                PlannedDose(row.vaccine, row.dose, row.due_date, row.due_until, open_dose.status_on(today), None)
            )
        orders = {centre: _schedule_order(config.vaccination) for centre, config in self.configs.items()}
        result = []
        for pk in ids:
            patient, order = patients[pk], orders[patients[pk].centre_id]
            planned = sorted(doses[pk], key=lambda d: (d.due_date, order.get((d.vaccine, d.dose), len(order))))
            result.append(PatientDue(patient=patient, today=self.todays[patient.timezone], doses=planned))
        return result

    # --- the sequence -----------------------------------------------------------------------------------------

    def count(self) -> int:
        if self._count is None:
            self._count = len(self._stored_ids()) + len(self.live)
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            items = self[index : index + 1] if index >= 0 else list(self)[index : index + 1 or None]
            if not items:
                raise IndexError(index)
            return items[0]
        start, stop, step = index.indices(self.count())
        if step != 1:
            return list(self)[index]
        if stop <= start:
            return []
        # Stored row i is at position i + (live rows before it): the rows at [start, stop) are stored rows from
        # start - len(live) on, merged with the live rows that do not come before the first of them.
        first = max(0, start - len(self.live))
        stored = self._stored_page(first, stop)
        if not stored:
            return self.live[start:stop] if first == 0 else []
        before = sum(1 for row in self.live if row.key() < stored[0].key())
        merged = sorted([*stored, *self.live[before:]], key=PatientDue.key)
        offset = first + before
        return merged[start - offset : stop - offset]

    def __iter__(self):
        return iter(self[0 : self.count()])


def doses_due(patients: QuerySet[Patient], *, overdue_only: bool = False) -> DueList:
    """Active patients after Day 0 with a dose due or overdue on their local date: the most overdue first, then by
    name; only the doses due (or overdue), in date order. A sequence counted and sliced in the database."""
    return DueList(patients, overdue_only=overdue_only)
