"""The eligibility checklist of a patient. Reads only."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext

from recovery.clinical.eligibility import CRITERION_NAMES, Criterion, assess_eligibility
from recovery.clinical.words import render
from recovery.models import Patient
from recovery.queries.alert_reasons import local_number
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


@dataclass(frozen=True)
class ShownCriterion:
    """A criterion in the reader's language."""

    code: str
    name: str  # short, for the review history
    label: str
    met: bool | None
    detail: str


def shown_criteria(criteria: Iterable[Criterion | Mapping]) -> list[ShownCriterion]:
    """Criteria (computed now, or as stored with a review) in the reader's language. A review stored before the
    criteria were stored as msgids plus values shows its English words as they were stored."""
    shown = []
    for criterion in criteria:
        stored = criterion.as_json() if isinstance(criterion, Criterion) else criterion
        code = stored.get("code", "")

        def words(key: str, stored=stored) -> str:
            message = stored.get(f"{key}_message")
            return render(message, gettext, local_number) if message else stored.get(key, "")

        name = CRITERION_NAMES.get(code)
        shown.append(
            ShownCriterion(
                code=code,
                name=gettext(name) if name else code,
                label=words("label"),
                met=stored.get("met"),
                detail=words("detail"),
            )
        )
    return shown
