"""The stored current phase (`Patient.phase` and its companions, written by services/phases.py) and how the lists
filter on it in SQL while always giving exactly what the pure rule `phase_on` gives for each patient's own today.

A stored row says: on `phase_as_of` (the patient's local date), with centre configuration `phase_config_version`,
`phase_on` gave `phase` and `phase_flagged`, and the same holds every day until the day before `phase_changes_on`
(`clinical.phases.phase_changes_on`). So the stored phase is certain for a patient whose local today lies in
[`phase_as_of`, `phase_changes_on`) and whose centre's configuration version is the stored one; every other row
("unsure": never stored, a date reached, a new configuration) is computed exactly in Python. Local today depends
on the patient's time zone; there are only a few distinct zones and centres among the patients, so both are
written into the SQL as CASE expressions (one query finds them). Every function runs a fixed number of queries.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import BooleanField, Case, DateField, F, IntegerField, Q, QuerySet, Value, When

from recovery.clinical.phases import EpisodeDates, Phase, local_date, phase_changes_on, phase_on
from recovery.models import Patient
from recovery.queries.configuration import ActiveConfig, active_configs

DATE_COLUMNS = (
    "episode__mobilisation_date",
    "episode__apheresis_date",
    "episode__conditioning_start_date",
    "episode__reinfusion_date",
    "episode__neutrophil_engraftment_date",
)
# What computing one patient's phase needs: `values_list(*PHASE_COLUMNS)` of a Patient queryset.
PHASE_COLUMNS = ("pk", "timezone", "centre_id", *DATE_COLUMNS)


def dates_from(values: Iterable) -> EpisodeDates:
    """EpisodeDates from the five DATE_COLUMNS values, in that order."""
    mobilisation, apheresis, conditioning, reinfusion, engraftment = values
    return EpisodeDates(mobilisation, apheresis, conditioning, reinfusion, engraftment)


@dataclass(frozen=True)
class StoredPhase:
    """What is stored on the patient row (see the module docstring)."""

    phase: Phase
    flagged: bool
    as_of: date
    changes_on: date | None
    config_version: int


def stored_phase_of(dates: EpisodeDates, today: date, config: ActiveConfig) -> StoredPhase:
    state = phase_on(dates, today, config.phase)
    return StoredPhase(
        phase=state.phase,
        flagged=bool(state.flags),
        as_of=today,
        changes_on=phase_changes_on(dates, today, config.phase),
        config_version=config.version,
    )


# Up to this many unsure rows, "sure" is "not one of them" (a list the database checks by hash); above it (right
# after an upgrade or a new configuration, until the refresh has run) every row's stored columns are compared.
UNSURE_AS_LIST = 5000


def other_config_version(configs: dict[int, ActiveConfig]) -> Q:
    """The patients stored under another configuration version than their centre's (of `configs`), as ranges the
    index on (centre, `phase_config_version`) serves."""
    other = Q(pk__in=[])
    for centre_id, config in configs.items():
        version = config.version
        other |= Q(centre_id=centre_id) & (Q(phase_config_version__lt=version) | Q(phase_config_version__gt=version))
    return other


@dataclass
class PhaseCheck:
    """`patients` annotated with `local_today`, `config_version` and `phase_sure` (the stored phase holds today),
    and the local today of each time zone and the configuration of each centre among them."""

    patients: QuerySet[Patient]
    todays: dict[str, date]
    configs: dict[int, ActiveConfig]
    _unsure: list[tuple] | None = None

    def _maybe_unsure(self) -> Q:
        """A superset of the unsure rows that the database finds by its indexes (on `phase_as_of`,
        `phase_changes_on`, the centre and `phase_config_version`), so that `phase_sure` is worked out for those
        few rows, not for every patient: never stored, stored for a date after the earliest local today, a
        change date reached by the latest local today, or another configuration version than the centre's."""
        first, last = min(self.todays.values()), max(self.todays.values())
        maybe = Q(phase_as_of__isnull=True) | Q(phase_config_version__isnull=True)
        maybe |= Q(phase_as_of__gt=first) | Q(phase_changes_on__lte=last)
        return maybe | other_config_version(self.configs)

    def unsure_rows(self) -> list[tuple]:
        """`PHASE_COLUMNS` of the patients whose stored phase is not certain today (one query, once)."""
        if self._unsure is None:
            rows = self.patients.filter(self._maybe_unsure()).filter(phase_sure=False)
            self._unsure = list(rows.values_list(*PHASE_COLUMNS))
        return self._unsure

    def sure(self) -> Q:
        """The patients whose stored phase holds today (after `unsure_rows`, which it reads)."""
        unsure = self.unsure_rows()
        if len(unsure) > UNSURE_AS_LIST:
            return Q(phase_sure=True)
        return ~Q(pk__in=sorted(row[0] for row in unsure))

    def exact(self, row: tuple) -> StoredPhase:
        """The phase of one of `unsure_rows`, computed with the pure rule for the patient's today."""
        _pk, tz, centre_id, *columns = row
        return stored_phase_of(dates_from(columns), self.todays[tz], self.configs[centre_id])

    def in_phases(self, phases: Iterable[Phase]) -> QuerySet[Patient]:
        """The patients whose phase today is one of `phases`, exactly (one query, and the returned queryset)."""
        wanted = {Phase(p) for p in phases}
        keep = [row[0] for row in self.unsure_rows() if self.exact(row).phase in wanted]
        return self.patients.filter((self.sure() & Q(phase__in=sorted(wanted))) | Q(pk__in=keep))


def check_stored_phase(patients: QuerySet[Patient], now: datetime) -> PhaseCheck | None:
    """Annotate `patients` with whether their stored phase holds today (two queries); None without patients."""
    pairs = list(patients.order_by().values_list("timezone", "centre_id").distinct())
    if not pairs:
        return None
    todays = {tz: local_date(now, tz) for tz in {tz for tz, _ in pairs}}
    configs = active_configs({centre_id for _, centre_id in pairs})
    local_today = Case(
        *[When(timezone=tz, then=Value(today)) for tz, today in todays.items()], default=None, output_field=DateField()
    )
    version = Case(
        *[When(centre_id=centre_id, then=Value(config.version)) for centre_id, config in configs.items()],
        default=None,
        output_field=IntegerField(),
    )
    holds = (
        Q(phase_as_of__isnull=False, phase_config_version__isnull=False)
        & Q(phase_as_of__lte=F("local_today"), phase_config_version=F("config_version"))
        & (Q(phase_changes_on__isnull=True) | Q(phase_changes_on__gt=F("local_today")))
    )
    annotated = patients.annotate(local_today=local_today, config_version=version).annotate(
        # CASE makes a NULL comparison (never stored) plainly false, so filter(phase_sure=False) finds it
        phase_sure=Case(When(holds, then=Value(True)), default=Value(False), output_field=BooleanField())
    )
    return PhaseCheck(patients=annotated, todays=todays, configs=configs)


def stored_phase_unsure(patients: QuerySet[Patient], now: datetime) -> QuerySet[Patient]:
    """The patients whose stored phase may not be what `phase_on` gives for their today (computed afresh)."""
    check = check_stored_phase(patients, now)
    return patients.none() if check is None else check.patients.filter(check._maybe_unsure(), phase_sure=False)


def patients_in_phases(patients: QuerySet[Patient], phases: Iterable[Phase], now: datetime) -> QuerySet[Patient]:
    """The patients whose phase today (in their own time zone) is one of `phases`, exactly (three queries).

    The stored phase answers in SQL where it holds today; the other rows are computed with the pure rule.
    """
    check = check_stored_phase(patients, now)
    return patients.none() if check is None else check.in_phases(phases)
