"""The cohort dashboard's analysis: one row per transplanted patient, Kaplan-Meier curves and a safety summary
(domain.md sections 4.6 and 5; section 8 items 22 and 23).

The cohort is every patient the user may see whose Day 0 has happened, narrowed by `CohortFilters`. Everything
is read in a fixed number of queries, whatever the number of patients. Each patient's row comes from their
stored outcome summary (`PatientOutcomeSummary`, kept current by services/outcome_summaries.py); only a patient
whose summary is missing or no longer current is computed by the pure rules of recovery.clinical, in the same
fixed number of queries (recovery/queries/cohort_rows.py).

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
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
from recovery.clinical.febrile_neutropenia import FNStatus
from recovery.clinical.outcomes import (
    ENDPOINT_NEDA3,
    ENDPOINT_PROGRESSION_FREE,
    ENDPOINT_RELAPSE_FREE,
)
from recovery.clinical.survival import Curve, at_risk_table, kaplan_meier, survival_at
from recovery.models import Patient
from recovery.queries.cohort_rows import CohortRow, cohort_rows
from recovery.queries.configuration import ActiveConfig, active_configs


@dataclass(frozen=True)
class AgeGroup:
    code: str
    label: str
    lowest: int | None  # age at Day 0 in whole years, inclusive
    below: int | None  # exclusive


AGE_GROUPS: tuple[AgeGroup, ...] = (
    AgeGroup("under_30", _("Under 30"), None, 30),
    AgeGroup("30_39", _("30 to 39"), 30, 40),
    AgeGroup("40_49", _("40 to 49"), 40, 50),
    AgeGroup("50_plus", _("50 and over"), 50, None),
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
    EndpointDefinition(ENDPOINT_NEDA3, "NEDA-3", _("a relapse, confirmed disability progression or new MRI activity")),
    EndpointDefinition(ENDPOINT_PROGRESSION_FREE, _("Progression-free"), _("confirmed disability progression (EDSS)")),
    EndpointDefinition(ENDPOINT_RELAPSE_FREE, _("Relapse-free"), _("a relapse")),
)


@dataclass(frozen=True)
class CohortFilters:
    """What narrows the cohort; None is "any". `centre` must be one of the user's own (the forms check)."""

    centre: Centre | None = None
    regimen: str | None = None  # a protocol code
    age_group: str | None = None  # an AgeGroup code
    year_from: int | None = None  # the year of Day 0, inclusive
    year_to: int | None = None

    def as_detail(self) -> dict:
        """The filters as an audit row names them (only those set)."""
        values = {
            "centre": str(self.centre.uuid) if self.centre is not None else None,
            "regimen": self.regimen,
            "age_group": self.age_group,
            "year_from": self.year_from,
            "year_to": self.year_to,
        }
        return {name: value for name, value in values.items() if value is not None}


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
    return _narrowed(access.visible_patients(user), filters, on)


def centre_cohort_patients(centre_ids, filters: CohortFilters, on: date) -> list[Patient]:
    """The same for the active patients of these centres, whoever asks (for stored figures: a staff member sees
    exactly the active patients of their centres, recovery.access)."""
    return _narrowed(Patient.objects.active().filter(centre_id__in=list(centre_ids)), filters, on)


def _narrowed(patients, filters: CohortFilters, on: date) -> list[Patient]:
    patients = (
        patients.filter(episode__reinfusion_date__isnull=False, episode__reinfusion_date__lte=on)
        .select_related("centre", "episode__protocol", "outcome_summary")
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
    return _analysis(cohort_patients(user, filters, on), filters, on)


def cohort_export_rows(user: User, filters: CohortFilters, on: date | None = None) -> tuple[date, list[CohortRow]]:
    """The analysis data set alone (the CSV export): the rows of `cohort_analysis`, without its curves and safety
    summary, which an export does not show."""
    on = on or timezone.localdate()
    patients = cohort_patients(user, filters, on)
    return on, cohort_rows(patients, on, active_configs({p.centre_id for p in patients}))


def centre_cohort_analysis(centre_ids, filters: CohortFilters, on: date | None = None) -> CohortAnalysis:
    """The same for the cohort of these centres (the stored figures of recovery.services.analytics)."""
    on = on or timezone.localdate()
    return _analysis(centre_cohort_patients(centre_ids, filters, on), filters, on)


def _analysis(patients: list[Patient], filters: CohortFilters, on: date) -> CohortAnalysis:
    configs = active_configs({p.centre_id for p in patients})
    rows = cohort_rows(patients, on, configs)
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
