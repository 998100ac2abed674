"""MS outcome records (EDSS, relapses, MRI) and the outcomes computed from them, per patient and per cohort."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from recovery.models import EDSSAssessment, MRIScan, Patient, Relapse, RelapseClassification
from recovery.queries.configuration import active_config
from recovery.queries.outcomes import fever_near
from recovery.queries.timeline import patient_today
from recovery.services.audit import AuditContext, changes, record_event
from recovery.services.outcome_summaries import request_outcome_refresh


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
    request_outcome_refresh(patient)
    return assessment


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
    request_outcome_refresh(patient)
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
            "changes": changes({"classification": before}, relapse, ["classification"]),
            "possible_pseudo_relapse": relapse.possible_pseudo_relapse,
        },
    )
    request_outcome_refresh(relapse.patient)  # a pseudo-relapse ends neither NEDA-3 nor relapse-free survival
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
    request_outcome_refresh(patient)
    return scan
