"""MS outcomes read from the records: one patient's outcome, the cohort's, and the fever-near-onset check.
Reads only."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from recovery.clinical.outcomes import Assessment, Outcome, RelapseRecord, Scan, patient_outcome
from recovery.models import EDSSAssessment, MRIScan, Patient, Relapse, RelapseClassification, SymptomReport
from recovery.queries.configuration import active_config
from recovery.queries.timeline import episode_of, patient_today


def fever_near(patient: Patient, onset: date, days: int, fever_c: float) -> bool:
    """A temperature at or above the fever threshold was reported within `days` of the onset (either side).

    Days are the patient's own: `recorded_at__date` would take whichever time zone is active (the signed-in
    user's on a page, UTC through the API), so the same reports could flag one relapse and not another.
    """
    start = datetime.combine(onset - timedelta(days=days), time.min, tzinfo=patient.tz)
    end = datetime.combine(onset + timedelta(days=days + 1), time.min, tzinfo=patient.tz)
    return SymptomReport.objects.filter(
        patient=patient, temperature_c__gte=fever_c, recorded_at__gte=start, recorded_at__lt=end
    ).exists()


@dataclass(frozen=True)
class PatientRecords:
    assessments: list[Assessment]
    relapses: list[RelapseRecord]
    scans: list[Scan]


def _records_for(patient_ids: list[int]) -> dict[int, PatientRecords]:
    """Every patient's outcome records in three queries."""
    assessments, relapses, scans = defaultdict(list), defaultdict(list), defaultdict(list)
    for pid, on, score in EDSSAssessment.objects.filter(patient_id__in=patient_ids).values_list(
        "patient_id", "assessed_on", "score"
    ):
        assessments[pid].append(Assessment(on=on, score=score))
    for pid, onset, classification in Relapse.objects.filter(patient_id__in=patient_ids).values_list(
        "patient_id", "onset_date", "classification"
    ):
        relapses[pid].append(RelapseRecord(onset=onset, pseudo=classification == RelapseClassification.PSEUDO_RELAPSE))
    for pid, on, t2, gd, rebaseline in MRIScan.objects.filter(patient_id__in=patient_ids).values_list(
        "patient_id", "scan_date", "new_t2_lesions", "gd_enhancing_lesions", "is_rebaseline"
    ):
        scans[pid].append(Scan(on=on, new_t2=t2, gd_enhancing=gd, is_rebaseline=rebaseline))
    return {
        pid: PatientRecords(sorted(assessments[pid], key=lambda a: a.on), relapses[pid], scans[pid])
        for pid in patient_ids
    }


def outcome_for(patient: Patient, on: date | None = None) -> Outcome | None:
    """The patient's MS outcome since Day 0, or None before a Day 0 is recorded."""
    episode = episode_of(patient)
    if episode is None or episode.reinfusion_date is None:
        return None
    records = _records_for([patient.pk])[patient.pk]
    return patient_outcome(
        day0=episode.reinfusion_date,
        assessments=records.assessments,
        relapses=records.relapses,
        scans=records.scans,
        recorded_baseline=patient.baseline_edss,
        on=on or patient_today(patient),
        config=active_config(patient.centre_id).outcomes,
    )


def cohort_outcomes(patients: list[Patient], on: date) -> list[tuple[Patient, Outcome]]:
    """Outcomes of every patient with a Day 0 (patients loaded with select_related("episode")), in few queries."""
    with_day0 = [p for p in patients if getattr(getattr(p, "episode", None), "reinfusion_date", None)]
    records = _records_for([p.pk for p in with_day0])
    configs = {}
    result = []
    for patient in with_day0:
        if patient.centre_id not in configs:
            configs[patient.centre_id] = active_config(patient.centre_id).outcomes
        r = records[patient.pk]
        result.append(
            (
                patient,
                patient_outcome(
                    day0=patient.episode.reinfusion_date,
                    assessments=r.assessments,
                    relapses=r.relapses,
                    scans=r.scans,
                    recorded_baseline=patient.baseline_edss,
                    on=on,
                    config=configs[patient.centre_id],
                ),
            )
        )
    return result
