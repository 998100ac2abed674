"""The cohort dashboard's analysis: one row per transplanted patient, Kaplan-Meier curves and a safety summary
(domain.md sections 4.6 and 5; section 8 items 22 and 23).

The cohort is every patient the user may see whose Day 0 has happened, narrowed by `CohortFilters`. Everything
is read in a fixed number of queries, whatever the number of patients (one more per centre for its
configuration), and computed in Python by the pure rules of recovery.clinical.

Definitions a reader should know:

* **Follow-up** runs from Day 0 to the patient's last outcome record (EDSS, relapse or MRI): that is where the
  curves censor a patient without the event (`recovery.clinical.outcomes.survival_endpoints`).
* **Febrile neutropenia**: a check-in that triage flagged as neutropenic fever, or a temperature at or above
  the centre's fever threshold (`TriageConfig.fever_c`) on a local date from Day 0 to neutrophil engraftment.
  Without a recorded engraftment the window ends on the centre's possible-graft-failure day
  (`PhaseConfig.possible_graft_failure_day`): later fevers are not counted as neutropenic.
* **Deaths**: the app records that a patient has died (status "deceased") but not when or why, so deaths are
  a count of deceased patients, not transplant-related mortality by Day +100.
* **Days in hospital**: discharge date minus admission date, for patients with both recorded.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q
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
from recovery.clinical.eligibility import whole_years_between
from recovery.clinical.outcomes import (
    ENDPOINT_NEDA3,
    ENDPOINT_PROGRESSION_FREE,
    ENDPOINT_RELAPSE_FREE,
    survival_endpoints,
)
from recovery.clinical.phases import local_date
from recovery.clinical.survival import Curve, at_risk_table, kaplan_meier, months_between, survival_at
from recovery.models import Patient, PatientStatus, SymptomReport
from recovery.services.configuration import ActiveConfig, active_configs
from recovery.services.outcomes import cohort_outcomes


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
    febrile_neutropenia: bool
    deceased: bool
    hospital_days: int | None

    @property
    def day0_year(self) -> int:
        return self.day0.year

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
    n: int
    count: int
    benchmark: Benchmark | None

    @property
    def rate(self) -> float | None:
        return self.count / self.n if self.n else None


@dataclass(frozen=True)
class Safety:
    n: int
    febrile_neutropenia: int
    by_regimen: tuple[RegimenRate, ...]
    deaths: int
    hospital_days_median: float | None
    hospital_days_n: int  # patients with both an admission and a discharge date
    edss_n: int  # patients with an EDSS change category
    edss_improved: int
    edss_stable: int
    edss_worse: int
    benchmarks: dict[str, tuple[Benchmark, ...]]  # febrile neutropenia, mortality and EDSS anchors by measure

    @property
    def febrile_neutropenia_rate(self) -> float | None:
        return self.febrile_neutropenia / self.n if self.n else None

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


def _fever_window_end(patient: Patient, config: ActiveConfig) -> date:
    episode = patient.episode
    if episode.neutrophil_engraftment_date is not None:
        return episode.neutrophil_engraftment_date
    return episode.reinfusion_date + timedelta(days=config.phase.possible_graft_failure_day)


def febrile_neutropenia(patients: list[Patient], configs: dict[int, ActiveConfig]) -> set[int]:
    """The pks of the patients with febrile neutropenia (see the module docstring), in one query."""
    if not patients:
        return set()
    by_pk = {p.pk: p for p in patients}
    lowest = min(Decimal(str(configs[p.centre_id].triage.fever_c)) for p in patients)
    reports = SymptomReport.objects.filter(patient_id__in=list(by_pk)).filter(
        Q(neutropenic_fever=True) | Q(temperature_c__gte=lowest)
    )
    found: set[int] = set()
    for pk, recorded_at, temperature, flagged in reports.values_list(
        "patient_id", "recorded_at", "temperature_c", "neutropenic_fever"
    ):
        if pk in found:
            continue
        patient = by_pk[pk]
        config = configs[patient.centre_id]
        if flagged:
            found.add(pk)
        elif temperature is not None and float(temperature) >= config.triage.fever_c:
            on = local_date(recorded_at, patient.timezone)
            if patient.episode.reinfusion_date <= on <= _fever_window_end(patient, config):
                found.add(pk)
    return found


def analysis_rows(patients: list[Patient], on: date) -> list[CohortRow]:
    """The analysis data set of `patients` (loaded by `cohort_patients`) as of `on`."""
    configs = active_configs({p.centre_id for p in patients})
    fevers = febrile_neutropenia(patients, configs)
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
                febrile_neutropenia=patient.pk in fevers,
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


def safety_summary(rows: list[CohortRow]) -> Safety:
    fn_benchmarks = {b.regimen: b for b in benchmarks_for(FEBRILE_NEUTROPENIA)}
    by_regimen: dict[str | None, list[CohortRow]] = defaultdict(list)
    for row in rows:
        by_regimen[row.regimen].append(row)
    regimen_rates = tuple(
        RegimenRate(
            regimen=regimen,
            label=group[0].regimen_name or "No regimen recorded",
            n=len(group),
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
    )


def cohort_analysis(user: User, filters: CohortFilters, on: date | None = None) -> CohortAnalysis:
    """The analysis data set, curves and safety summary of the user's cohort as of `on` (default today)."""
    on = on or timezone.localdate()
    rows = analysis_rows(cohort_patients(user, filters, on), on)
    return CohortAnalysis(
        as_of=on, filters=filters, rows=tuple(rows), endpoints=survival_curves(rows), safety=safety_summary(rows)
    )


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
