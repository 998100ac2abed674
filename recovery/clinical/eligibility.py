"""Advisory eligibility checklist, after the US National MS Society 2020 recommendations (domain.md 1.2, 8.3).

The checklist informs the decision; it never makes it.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from recovery.clinical.config import TransplantConfig
from recovery.clinical.phases import add_months


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str
    met: bool | None  # None: not enough information
    detail: str


def whole_years_between(start: date, end: date) -> int:
    years = end.year - start.year
    return years - 1 if add_months(start, 12 * years) > end else years


def assess_eligibility(
    *,
    date_of_birth: date,
    ms_onset_date: date | None,
    relapsing_with_breakthrough: bool | None,
    edss: Decimal | None,
    on: date,
    config: TransplantConfig,
) -> list[Criterion]:
    age = whole_years_between(date_of_birth, on)
    criteria = [
        Criterion(
            "age",
            f"Age under {config.eligibility_max_age}",
            age < config.eligibility_max_age,
            f"{age} years old",
        )
    ]
    if ms_onset_date is None:
        criteria.append(Criterion("duration", "Disease duration", None, "MS onset date not recorded"))
    else:
        duration = whole_years_between(ms_onset_date, on)
        criteria.append(
            Criterion(
                "duration",
                f"Disease duration under {config.eligibility_max_disease_years} years",
                duration < config.eligibility_max_disease_years,
                f"{duration} years since onset",
            )
        )
    criteria.append(
        Criterion(
            "breakthrough",
            "Relapsing MS with breakthrough activity despite high-efficacy treatment",
            relapsing_with_breakthrough,
            "as judged by the reviewer" if relapsing_with_breakthrough is not None else "not answered",
        )
    )
    criteria.append(
        Criterion(
            "edss",
            f"EDSS at most {config.eligibility_max_edss}",
            None if edss is None else Decimal(edss) <= Decimal(str(config.eligibility_max_edss)),
            "EDSS not recorded" if edss is None else f"EDSS {edss}",
        )
    )
    return criteria
