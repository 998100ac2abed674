"""MS outcome records (EDSS, relapses, MRI) and the outcomes computed from them, per patient and per cohort."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from recovery.clinical.outcomes import Assessment, Outcome, RelapseRecord, Scan, patient_outcome
from recovery.models import EDSSAssessment, MRIScan, Patient, Relapse, RelapseClassification, SymptomReport
from recovery.services.audit import AuditContext, record_event
from recovery.services.configuration import active_config
from recovery.services.timeline import episode_of, patient_today


def _not_future(patient: Patient, on: date, field: str) -> None:
    if on > patient_today(patient):
        raise ValidationError({field: "This date is in the future: record it once it has happened."})


@transaction.atomic
def record_edss(*, context: AuditContext, patient: Patient, assessed_on: date, score: Decimal) -> EDSSAssessment:
    _not_future(patient, assessed_on, "assessed_on")
    assessment = EDSSAssessment(patient=patient, assessed_on=assessed_on, score=score, assessed_by=context.actor)
    assessment.full_clean(exclude=["patient", "assessed_by"])
    assessment.save()
    record_event(context=context, action="edss.create", patient=patient, detail={"score": str(score)})
    return assessment


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


@transaction.atomic
def record_relapse(
    *,
    context: AuditContext,
    patient: Patient,
    onset_date: date,
    description: str = "",
    treated_with_steroids: bool = False,
    domains: list[str] | None = None,
) -> Relapse:
    _not_future(patient, onset_date, "onset_date")
    config = active_config(patient.centre_id)
    relapse = Relapse(
        patient=patient,
        onset_date=onset_date,
        description=(description or "").strip(),
        treated_with_steroids=treated_with_steroids,
        domains=list(domains or []),
        recorded_by=context.actor,
        possible_pseudo_relapse=fever_near(
            patient, onset_date, config.outcomes.pseudo_relapse_window_days, config.triage.fever_c
        ),
    )
    relapse.full_clean(exclude=["patient", "recorded_by"])
    relapse.save()
    record_event(context=context, action="relapse.create", patient=patient, detail={"onset": onset_date.isoformat()})
    return relapse


CLASSIFICATION_MESSAGE = "Choose whether this was a relapse or a pseudo-relapse."


@transaction.atomic
def classify_relapse(*, context: AuditContext, relapse: Relapse, classification: str) -> Relapse:
    """The clinician's call on a recorded relapse: `relapse` or `pseudo_relapse` (RelapseClassification).

    A pseudo-relapse ends neither NEDA-3 nor relapse-free survival (recovery.clinical.outcomes). Every change is
    audited with the value before and after; classifying again with the same value changes nothing and writes
    no audit event. Any relapse may be classified, flagged as a possible pseudo-relapse or not: the flag only
    knows about fevers reported in the app, the clinician may know of an infection it does not.
    """
    if classification not in RelapseClassification.values:
        raise ValidationError({"classification": CLASSIFICATION_MESSAGE})
    relapse = Relapse.objects.select_for_update().select_related("patient").get(pk=relapse.pk)
    if relapse.classification == classification:
        return relapse
    before = relapse.classification
    relapse.classification = classification
    relapse.classified_by = context.actor
    relapse.classified_at = timezone.now()
    relapse.save(update_fields=["classification", "classified_by", "classified_at"])
    record_event(
        context=context,
        action="relapse.classify",
        patient=relapse.patient,
        detail={
            "relapse": str(relapse.uuid),
            "onset": relapse.onset_date.isoformat(),
            "from": before,
            "to": classification,
            "possible_pseudo_relapse": relapse.possible_pseudo_relapse,
        },
    )
    return relapse


@transaction.atomic
def record_mri(
    *,
    context: AuditContext,
    patient: Patient,
    scan_date: date,
    new_t2_lesions: int = 0,
    gd_enhancing_lesions: int = 0,
    is_rebaseline: bool = False,
    notes: str = "",
) -> MRIScan:
    _not_future(patient, scan_date, "scan_date")
    scan = MRIScan(
        patient=patient,
        scan_date=scan_date,
        new_t2_lesions=new_t2_lesions,
        gd_enhancing_lesions=gd_enhancing_lesions,
        is_rebaseline=is_rebaseline,
        notes=(notes or "").strip(),
        recorded_by=context.actor,
    )
    scan.full_clean(exclude=["patient", "recorded_by"])
    scan.save()
    record_event(context=context, action="mri.create", patient=patient, detail={"scan_date": scan_date.isoformat()})
    return scan


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
