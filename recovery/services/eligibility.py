"""The eligibility review: an advisory checklist plus the team's decision."""

from datetime import date
from decimal import Decimal

from django.db import transaction

from accounts.models import User
from recovery.models import EligibilityReview, Patient
from recovery.queries.configuration import active_config
from recovery.queries.eligibility import checklist
from recovery.services.audit import AuditContext, record_event


@transaction.atomic
def record_eligibility_review(
    *,
    context: AuditContext,
    patient: Patient,
    decided_by: User,
    decided_on: date,
    decision: str,
    relapsing_with_breakthrough: bool | None,
    edss: Decimal | None,
    notes: str = "",
) -> EligibilityReview:
    config = active_config(patient.centre_id)
    criteria = checklist(patient, on=decided_on, relapsing_with_breakthrough=relapsing_with_breakthrough, edss=edss)
    review = EligibilityReview(
        patient=patient,
        decided_on=decided_on,
        decided_by=decided_by,
        relapsing_with_breakthrough=relapsing_with_breakthrough,
        edss=edss,
        criteria=[c.as_json() for c in criteria],
        config_version=config.version,
        decision=decision,
        notes=notes,
    )
    review.full_clean(exclude=["patient", "decided_by"])
    review.save()
    record_event(context=context, action="eligibility.decide", patient=patient, detail={"decision": decision})
    return review
