"""The cohort's analysis data set, one row per transplanted patient (`CohortRow`): read from the stored outcome
summaries (`PatientOutcomeSummary`, services/outcome_summaries.py), or computed by the pure rules of
recovery.clinical (`analysis_rows`, which also makes the stored summaries) for a patient whose summary is missing
or no longer current. See recovery/queries/cohort.py for the definitions (follow-up, febrile neutropenia)."""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from recovery.clinical.eligibility import whole_years_between
from recovery.clinical.febrile_neutropenia import FNResult, FNStatus, TimedValue
from recovery.clinical.febrile_neutropenia import febrile_neutropenia as fn_rule
from recovery.clinical.outcomes import (
    ENDPOINT_NEDA3,
    ENDPOINT_PROGRESSION_FREE,
    ENDPOINT_RELAPSE_FREE,
    survival_endpoints,
)
from recovery.clinical.survival import months_between
from recovery.models import LabResult, LabTest, Patient, PatientOutcomeSummary, PatientStatus, SymptomReport
from recovery.queries.configuration import ActiveConfig, active_configs
from recovery.queries.outcomes import cohort_outcomes


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
    # the dates behind the endpoints (None: no such event; follow_up_end: no outcome record yet)
    follow_up_end: date | None = None
    neda3_lost_on: date | None = None
    progression_date: date | None = None
    first_relapse: date | None = None
    mri_activity_date: date | None = None

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


def _fn_window(patient: Patient, config: ActiveConfig) -> tuple[date, date]:
    """The first and last local dates of the patient's febrile-neutropenia window."""
    episode = patient.episode
    start = episode.conditioning_start_date or episode.reinfusion_date
    return start, episode.reinfusion_date + timedelta(days=config.outcomes.fn_window_end_day)


def febrile_neutropenia(
    patients: list[Patient], configs: dict[int, ActiveConfig], on: date | Mapping[int, date]
) -> dict[int, FNResult]:
    """Each patient's febrile-neutropenia status as of `on` (see the module docstring), in two queries; `on` may be
    each patient's own date, by patient id (the registry export uses each patient's local today)."""
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
            closed=(on[patient.pk] if isinstance(on, Mapping) else on) > last,
            config=config.outcomes,
        )
    return result


def _patient_fields(patient: Patient) -> dict:
    """A row's fields read from the patient and the episode themselves (no rule computes them)."""
    episode = patient.episode
    admitted, discharged = episode.admission_date, episode.discharge_date
    return {
        "patient": patient,
        "hospital_number": patient.hospital_number,
        "centre": patient.centre.name,
        "regimen": episode.protocol.code if episode.protocol_id else None,
        "regimen_name": episode.protocol.name if episode.protocol_id else None,
        "day0": episode.reinfusion_date,
        "age_at_day0": whole_years_between(patient.date_of_birth, episode.reinfusion_date),
        "deceased": patient.status == PatientStatus.DECEASED,
        "hospital_days": (discharged - admitted).days if admitted and discharged else None,
    }


def analysis_rows(patients: list[Patient], on: date, configs: dict[int, ActiveConfig] | None = None) -> list[CohortRow]:
    """The analysis data set of `patients` (loaded by `cohort_patients`) as of `on`, computed by the rules from
    every record (the stored summaries are made by this too: services/outcome_summaries.py)."""
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
        rows.append(
            CohortRow(
                **_patient_fields(patient),
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
                follow_up_end=outcome.follow_up_end,
                neda3_lost_on=outcome.neda3_lost_on,
                progression_date=outcome.progression_date,
                first_relapse=outcome.first_relapse,
                mri_activity_date=outcome.mri_activity_date,
            )
        )
    return rows


def _summary_of(patient: Patient) -> PatientOutcomeSummary | None:
    try:
        return patient.outcome_summary
    except PatientOutcomeSummary.DoesNotExist:
        return None


def _current(summary: PatientOutcomeSummary | None, patient: Patient, config: ActiveConfig, on: date) -> bool:
    """The stored summary still says what the rules would compute on `on`: none of the patient's records changed
    since (no mark), the same Day 0 and configuration, not computed for a later date, and no febrile-neutropenia
    window that was open then and has closed since."""
    if summary is None or patient.outcomes_stale_since is not None:
        return False
    if summary.day0 != patient.episode.reinfusion_date or summary.config_version != config.version:
        return False
    if summary.as_of > on:
        return False
    return not (summary.fn_status == FNStatus.PENDING and on > _fn_window(patient, config)[1])


def stored_row(patient: Patient, summary: PatientOutcomeSummary) -> CohortRow:
    """A patient's row from their stored summary (services/outcome_summaries.py)."""
    return CohortRow(
        **_patient_fields(patient),
        follow_up_months=summary.follow_up_months,
        neda3_months=summary.neda3_months,
        neda3_event=summary.neda3_lost_on is not None,
        progression_months=summary.progression_months,
        progression_event=summary.progression_date is not None,
        relapse_months=summary.relapse_months,
        relapse_event=summary.first_relapse is not None,
        baseline_edss=summary.baseline_edss,
        last_edss=summary.last_edss,
        edss_category=summary.edss_category or None,
        fn_status=summary.fn_status,
        follow_up_end=summary.follow_up_end,
        neda3_lost_on=summary.neda3_lost_on,
        progression_date=summary.progression_date,
        first_relapse=summary.first_relapse,
        mri_activity_date=summary.mri_activity_date,
    )


def cohort_rows(patients: list[Patient], on: date, configs: dict[int, ActiveConfig]) -> list[CohortRow]:
    """The rows of `patients` (loaded by `cohort_patients`, with their summaries) in their order: from the stored
    summaries, computed by the rules only for a patient whose summary is missing or no longer current (a
    change not refreshed yet, a worker down), in a fixed number of queries either way."""
    stored, missing = {}, []
    for patient in patients:
        summary = _summary_of(patient)
        if _current(summary, patient, configs[patient.centre_id], on):
            stored[patient.pk] = stored_row(patient, summary)
        else:
            missing.append(patient)
    computed = {row.patient.pk: row for row in analysis_rows(missing, on, configs)} if missing else {}
    return [row for p in patients if (row := stored.get(p.pk) or computed.get(p.pk)) is not None]
