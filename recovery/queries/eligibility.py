"""The eligibility checklist of a patient. Reads only."""

from datetime import date
from decimal import Decimal

from recovery.clinical.eligibility import Criterion, assess_eligibility
from recovery.models import Patient
from recovery.queries.configuration import active_config


def checklist(
    patient: Patient, *, on: date, relapsing_with_breakthrough: bool | None = None, edss: Decimal | None = None
) -> list[Criterion]:
    return assess_eligibility(
        date_of_birth=patient.date_of_birth,
        ms_onset_date=patient.ms_onset_date,
        relapsing_with_breakthrough=relapsing_with_breakthrough,
        edss=edss if edss is not None else patient.baseline_edss,
        on=on,
        config=active_config(patient.centre_id).transplant,
    )
