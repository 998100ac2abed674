"""The cohort dashboard's analysis: one row per transplanted patient, Kaplan-Meier curves and a safety summary
(domain.md sections 4.6 and 5; section 8 items 22 and 23).

The cohort is every patient the user may see whose Day 0 has happened, narrowed by `CohortFilters`. Everything
is read in a fixed number of queries, whatever the number of patients (one more per centre for its
configuration), and computed in Python by the pure rules of recovery.clinical.

Definitions a reader should know:

* **Follow-up** runs from Day 0 to the patient's last outcome record (EDSS, relapse or MRI): that is where the
  curves censor a patient without the event (`recovery.clinical.outcomes.survival_endpoints`).
* **Febrile neutropenia** follows CTCAE v5.0 (`recovery.clinical.febrile_neutropenia`), so that the rate can
  stand next to the published 68% / 88%: a temperature from a check-in at or above 38.3 C, or at or above
  38.0 C for more than an hour, with the ANC lab result nearest to it (within 24 hours) below 1.0 x10^9/L,
  from conditioning start through Day +100 (the centre's `OutcomeConfig` holds every one of these numbers).
  The rate counts only patients whose window has closed and who have at least one ANC result in it; the
  others are shown apart ("still within the window", "no ANC result"), never as "no febrile neutropenia".
  A check-in flagged by triage as a neutropenic fever (the IDSA alerting rule, without an ANC) no longer
  counts by itself.
* **Deaths**: the app records that a patient has died (status "deceased") but not when or why, so deaths are
  a count of deceased patients, not transplant-related mortality by Day +100.
* **Days in hospital**: discharge date minus admission date, for patients with both recorded.
"""

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Centre, User
from recovery import access
from recovery.clinical.benchmarks import (
    EDSS_IMPROVED,
    EDSS_STABLE,
    EDSS_WORSE,
    FEBRILE_NEUTROPENIA,
    TREATMENT_RELATED_MORTALITY,
    Benchmark,
    benchmarks_for,
)
from recovery.clinical.config import DEFAULT_OUTCOME_CONFIG, OutcomeConfig
from recovery.clinical.eligibility import whole_years_between
from recovery.clinical.febrile_neutropenia import FNResult, FNStatus, TimedValue
from recovery.clinical.febrile_neutropenia import febrile_neutropenia as fn_rule
from recovery.clinical.outcomes import (
    ENDPOINT_NEDA3,
    ENDPOINT_PROGRESSION_FREE,
    ENDPOINT_RELAPSE_FREE,
    survival_endpoints,
)
from recovery.clinical.survival import Curve, at_risk_table, kaplan_meier, months_between, survival_at
from recovery.models import LabResult, LabTest, Patient, PatientStatus, SymptomReport
from recovery.queries.configuration import ActiveConfig, active_configs
from recovery.queries.outcomes import cohort_outcomes


@dataclass(frozen=True)
class AgeGroup:
    code: str
    label: str
    lowest: int | None  # age at Day 0 in whole years, inclusive
    below: int | None  # exclusive


AGE_GROUPS: tuple[AgeGroup, ...] = (
    AgeGroup("under_30", "Under 30", None, 30),
    AgeGroup("30_39", "30 to 39", 30, 40),
    AgeGroup("40_49", "40 to 49", 40, 50),
    AgeGroup("50_plus", "50 and over", 50, None),
)
AGE_GROUP_CODES = [group.code for group in AGE_GROUPS]

# Months after Day 0 at which the number at risk is shown under each curve.
AT_RISK_MONTHS: tuple[int, ...] = (0, 12, 24, 36, 48, 60, 84, 120)


@dataclass(frozen=True)
class EndpointDefinition:
    key: str
    label: str
    event: str  # what ends the event-free time, for the reader


ENDPOINTS: tuple[EndpointDefinition, ...] = (
    EndpointDefinition(ENDPOINT_NEDA3, "NEDA-3", "a relapse, confirmed disability progression or new MRI activity"),
    EndpointDefinition(ENDPOINT_PROGRESSION_FREE, "Progression-free", "confirmed disability progression (EDSS)"),
    EndpointDefinition(ENDPOINT_RELAPSE_FREE, "Relapse-free", "a relapse"),
)


@dataclass(frozen=True)
class CohortFilters:
    """What narrows the cohort; None is "any". `centre` must be one of the user's own (the forms check)."""

    centre: Centre | None = None
    regimen: str | None = None  # a protocol code
    age_group: str | None = None  # an AgeGroup code
    year_from: int | None = None  # the year of Day 0, inclusive
    year_to: int | None = None


@dataclass(frozen=True)
class CohortRow:
    """One patient of the analysis data set."""

    patient: Patient
    hospital_number: str
    centre: str
    regimen: str | None  # protocol code
    regimen_name: str | None
    day0: date
    age_at_day0: int
    follow_up_months: float
    neda3_event: bool
    neda3_months: float
    progression_event: bool
    progression_months: float
    relapse_event: bool
    relapse_months: float
    baseline_edss: Decimal | None
    last_edss: Decimal | None
    edss_category: str | None  # "improved", "stable", "worse"; None without a baseline or a later score
    fn_status: str  # an FNStatus value: "yes", "no", "pending" (window still open), "no_anc" (no ANC in it)
    deceased: bool
    hospital_days: int | None

    @property
    def day0_year(self) -> int:
        return self.day0.year

    @property
    def febrile_neutropenia(self) -> bool | None:
        """True or False when the patient counts in the febrile-neutropenia rate; None when they do not."""
        return {FNStatus.YES: True, FNStatus.NO: False}.get(FNStatus(self.fn_status))

    @property
    def febrile_neutropenia_status(self) -> str:
        return self.fn_status

    def endpoint(self, key: str) -> tuple[float, bool]:
        """(months, event) for one of the ENDPOINTS."""
        return {
            ENDPOINT_NEDA3: (self.neda3_months, self.neda3_event),
            ENDPOINT_PROGRESSION_FREE: (self.progression_months, self.progression_event),
            ENDPOINT_RELAPSE_FREE: (self.relapse_months, self.relapse_event),
        }[key]


@dataclass(frozen=True)
class Endpoint:
    """One Kaplan-Meier curve with its number-at-risk table and the published anchors to read it against."""

    key: str
    label: str
    event: str
    curve: Curve
    at_risk: tuple[tuple[int, int], ...]  # (months, number at risk) at AT_RISK_MONTHS
    estimates: tuple[tuple[int, float | None], ...]  # (months, estimate) at AT_RISK_MONTHS; None past follow-up
    benchmarks: tuple[Benchmark, ...]


@dataclass(frozen=True)
class RegimenRate:
    regimen: str | None
    label: str
    n: int  # patients counted in the febrile-neutropenia rate (window closed, ANC recorded)
    count: int
    benchmark: Benchmark | None

    @property
    def rate(self) -> float | None:
        return self.count / self.n if self.n else None


@dataclass(frozen=True)
class Safety:
    n: int
    febrile_neutropenia: int
    fn_n: int  # patients counted in the febrile-neutropenia rate
    fn_pending: int  # still within the window
    fn_no_anc: int  # window closed, no ANC result in it
    by_regimen: tuple[RegimenRate, ...]
    deaths: int
    hospital_days_median: float | None
    hospital_days_n: int  # patients with both an admission and a discharge date
    edss_n: int  # patients with an EDSS change category
    edss_improved: int
    edss_stable: int
    edss_worse: int
    benchmarks: dict[str, tuple[Benchmark, ...]]  # febrile neutropenia, mortality and EDSS anchors by measure
    # the febrile-neutropenia thresholds, when every centre of the cohort uses the same ones (else None)
    fn_config: OutcomeConfig | None = DEFAULT_OUTCOME_CONFIG

    @property
    def febrile_neutropenia_rate(self) -> float | None:
        return self.febrile_neutropenia / self.fn_n if self.fn_n else None

    @property
    def edss_rows(self) -> tuple[tuple[str, int, float | None, tuple[Benchmark, ...]], ...]:
        """(category, count, share of `edss_n` or None, published anchors) for improved, stable and worse."""
        return tuple(
            (label, count, count / self.edss_n if self.edss_n else None, self.benchmarks[measure])
            for label, count, measure in (
                ("improved", self.edss_improved, EDSS_IMPROVED),
                ("stable", self.edss_stable, EDSS_STABLE),
                ("worse", self.edss_worse, EDSS_WORSE),
            )
        )


@dataclass(frozen=True)
class CohortAnalysis:
    as_of: date
    filters: CohortFilters
    rows: tuple[CohortRow, ...]
    endpoints: tuple[Endpoint, ...]
    safety: Safety

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def with_follow_up(self) -> int:
        """Patients with at least one outcome record after Day 0 (the others are censored at 0 months)."""
        return sum(1 for row in self.rows if row.follow_up_months > 0)


# The cohort --------------------------------------------------------------------------------------------------


def _in_age_group(age: int, group: AgeGroup) -> bool:
    return (group.lowest is None or age >= group.lowest) and (group.below is None or age < group.below)


def cohort_patients(user: User, filters: CohortFilters, on: date) -> list[Patient]:
    """The patients the user may see with a Day 0 on or before `on`, narrowed by `filters` (one query)."""
    patients = (
        access.visible_patients(user)
        .filter(episode__reinfusion_date__isnull=False, episode__reinfusion_date__lte=on)
        .select_related("centre", "episode__protocol")
        .order_by("episode__reinfusion_date", "centre__name", "hospital_number", "pk")
    )
    if filters.centre is not None:
        patients = patients.filter(centre=filters.centre)
    if filters.regimen:
        patients = patients.filter(episode__protocol__code=filters.regimen)
    if filters.year_from is not None:
        patients = patients.filter(episode__reinfusion_date__year__gte=filters.year_from)
    if filters.year_to is not None:
        patients = patients.filter(episode__reinfusion_date__year__lte=filters.year_to)
    result = list(patients)
    if filters.age_group:
        group = next(g for g in AGE_GROUPS if g.code == filters.age_group)
        result = [
            p for p in result if _in_age_group(whole_years_between(p.date_of_birth, p.episode.reinfusion_date), group)
        ]
    return result


def _fn_window(patient: Patient, config: ActiveConfig) -> tuple[date, date]:
    """The first and last local dates of the patient's febrile-neutropenia window."""
    episode = patient.episode
    start = episode.conditioning_start_date or episode.reinfusion_date
    return start, episode.reinfusion_date + timedelta(days=config.outcomes.fn_window_end_day)


def febrile_neutropenia(patients: list[Patient], configs: dict[int, ActiveConfig], on: date) -> dict[int, FNResult]:
    """Each patient's febrile-neutropenia status as of `on` (see the module docstring), in two queries."""
    if not patients:
        return {}
    pks = [p.pk for p in patients]
    readings: dict[int, list[TimedValue]] = defaultdict(list)
    anc: dict[int, list[TimedValue]] = defaultdict(list)
    temperatures = SymptomReport.objects.filter(patient_id__in=pks, temperature_c__isnull=False)
    for pk, recorded_at, temperature in temperatures.values_list("patient_id", "recorded_at", "temperature_c"):
        readings[pk].append(TimedValue(recorded_at, temperature))
    counts = LabResult.objects.filter(patient_id__in=pks, test=LabTest.ANC)
    for pk, collected_at, value in counts.values_list("patient_id", "collected_at", "value"):
        anc[pk].append(TimedValue(collected_at, value))
    result = {}
    for patient in patients:
        config = configs[patient.centre_id]
        first, last = _fn_window(patient, config)
        result[patient.pk] = fn_rule(
            readings=readings[patient.pk],
            anc_results=anc[patient.pk],
            start=datetime.combine(first, time.min, tzinfo=patient.tz),
            end=datetime.combine(last + timedelta(days=1), time.min, tzinfo=patient.tz),
            closed=on > last,
            config=config.outcomes,
        )
    return result


def analysis_rows(patients: list[Patient], on: date, configs: dict[int, ActiveConfig] | None = None) -> list[CohortRow]:
    """The analysis data set of `patients` (loaded by `cohort_patients`) as of `on`."""
    if configs is None:
        configs = active_configs({p.centre_id for p in patients})
    fn = febrile_neutropenia(patients, configs, on)
    rows = []
    for patient, outcome in cohort_outcomes(patients, on):
        episode = patient.episode
        endpoints = survival_endpoints(outcome)
        if endpoints is None:  # no post-Day-0 period; cohort_patients leaves these out already
            continue
        follow_up_end = max(outcome.follow_up_end or episode.reinfusion_date, episode.reinfusion_date)
        admitted, discharged = episode.admission_date, episode.discharge_date
        rows.append(
            CohortRow(
                patient=patient,
                hospital_number=patient.hospital_number,
                centre=patient.centre.name,
                regimen=episode.protocol.code if episode.protocol_id else None,
                regimen_name=episode.protocol.name if episode.protocol_id else None,
                day0=episode.reinfusion_date,
                age_at_day0=whole_years_between(patient.date_of_birth, episode.reinfusion_date),
                follow_up_months=months_between(episode.reinfusion_date, follow_up_end),
                neda3_months=endpoints[ENDPOINT_NEDA3][0],
                neda3_event=endpoints[ENDPOINT_NEDA3][1],
                progression_months=endpoints[ENDPOINT_PROGRESSION_FREE][0],
                progression_event=endpoints[ENDPOINT_PROGRESSION_FREE][1],
                relapse_months=endpoints[ENDPOINT_RELAPSE_FREE][0],
                relapse_event=endpoints[ENDPOINT_RELAPSE_FREE][1],
                baseline_edss=outcome.baseline_edss,
                last_edss=outcome.last_edss,
                edss_category=outcome.edss_change_category,
                fn_status=fn[patient.pk].status.value,
                deceased=patient.status == PatientStatus.DECEASED,
                hospital_days=(discharged - admitted).days if admitted and discharged else None,
            )
        )
    return rows


# Summaries ---------------------------------------------------------------------------------------------------


def survival_curves(rows: list[CohortRow]) -> tuple[Endpoint, ...]:
    """The three Kaplan-Meier curves from Day 0, in months, with numbers at risk at AT_RISK_MONTHS."""
    endpoints = []
    for definition in ENDPOINTS:
        pairs = [row.endpoint(definition.key) for row in rows]
        durations = [months for months, _ in pairs]
        events = [event for _, event in pairs]
        curve = kaplan_meier(durations, events)
        endpoints.append(
            Endpoint(
                key=definition.key,
                label=definition.label,
                event=definition.event,
                curve=curve,
                at_risk=tuple(zip(AT_RISK_MONTHS, at_risk_table(durations, AT_RISK_MONTHS), strict=True)),
                estimates=tuple((months, survival_at(curve, months)) for months in AT_RISK_MONTHS),
                benchmarks=tuple(benchmarks_for(definition.key)),
            )
        )
    return tuple(endpoints)


def _shared_fn_config(configs: Iterable[ActiveConfig]) -> OutcomeConfig | None:
    """The outcome configuration whose febrile-neutropenia fields every centre shares (None if they differ)."""
    outcomes = [config.outcomes for config in configs] or [DEFAULT_OUTCOME_CONFIG]
    fn_fields = [name for name in outcomes[0].as_dict() if name.startswith("fn_")]
    if any(getattr(o, name) != getattr(outcomes[0], name) for o in outcomes for name in fn_fields):
        return None
    return outcomes[0]


def safety_summary(rows: list[CohortRow], fn_config: OutcomeConfig | None = DEFAULT_OUTCOME_CONFIG) -> Safety:
    fn_benchmarks = {b.regimen: b for b in benchmarks_for(FEBRILE_NEUTROPENIA)}
    by_regimen: dict[str | None, list[CohortRow]] = defaultdict(list)
    for row in rows:
        by_regimen[row.regimen].append(row)
    regimen_rates = tuple(
        RegimenRate(
            regimen=regimen,
            label=group[0].regimen_name or "No regimen recorded",
            n=sum(1 for row in group if row.febrile_neutropenia is not None),
            count=sum(1 for row in group if row.febrile_neutropenia),
            benchmark=fn_benchmarks.get(regimen),
        )
        for regimen, group in sorted(by_regimen.items(), key=lambda item: (item[0] is None, item[1][0].regimen_name))
    )
    stays = [row.hospital_days for row in rows if row.hospital_days is not None]
    categories = [row.edss_category for row in rows if row.edss_category is not None]
    return Safety(
        n=len(rows),
        febrile_neutropenia=sum(1 for row in rows if row.febrile_neutropenia),
        fn_n=sum(1 for row in rows if row.febrile_neutropenia is not None),
        fn_pending=sum(1 for row in rows if row.fn_status == FNStatus.PENDING),
        fn_no_anc=sum(1 for row in rows if row.fn_status == FNStatus.NO_ANC),
        by_regimen=regimen_rates,
        deaths=sum(1 for row in rows if row.deceased),
        hospital_days_median=float(statistics.median(stays)) if stays else None,
        hospital_days_n=len(stays),
        edss_n=len(categories),
        edss_improved=categories.count("improved"),
        edss_stable=categories.count("stable"),
        edss_worse=categories.count("worse"),
        benchmarks={
            measure: tuple(benchmarks_for(measure))
            for measure in (FEBRILE_NEUTROPENIA, TREATMENT_RELATED_MORTALITY, EDSS_IMPROVED, EDSS_STABLE, EDSS_WORSE)
        },
        fn_config=fn_config,
    )


def cohort_analysis(user: User, filters: CohortFilters, on: date | None = None) -> CohortAnalysis:
    """The analysis data set, curves and safety summary of the user's cohort as of `on` (default today)."""
    on = on or timezone.localdate()
    patients = cohort_patients(user, filters, on)
    configs = active_configs({p.centre_id for p in patients})
    rows = analysis_rows(patients, on, configs)
    safety = safety_summary(rows, _shared_fn_config(configs.values()))
    return CohortAnalysis(as_of=on, filters=filters, rows=tuple(rows), endpoints=survival_curves(rows), safety=safety)


# The CSV export ----------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "hospital_number",
    "centre",
    "regimen",
    "age_at_day0",
    "day0_year",
    "follow_up_months",
    "neda3_event",
    "neda3_months",
    "progression_event",
    "progression_months",
    "relapse_event",
    "relapse_months",
    "baseline_edss",
    "last_edss",
    "edss_category",
    "febrile_neutropenia",
    "febrile_neutropenia_status",
    "deceased",
    "hospital_days",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """Text that a spreadsheet will show as text, never run as a formula."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, str):
        return _text(value)
    return str(value)


def csv_records(rows: list[CohortRow]) -> list[list[str]]:
    """The rows of the CSV export, in CSV_COLUMNS order: events and flags 1/0, months to 2 decimals, blank unknown."""
    return [[_cell(getattr(row, column)) for column in CSV_COLUMNS] for row in rows]
