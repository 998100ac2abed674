"""Advisory eligibility checklist, after the US National MS Society 2020 recommendations (domain.md 1.2, 8.3).

The checklist informs the decision; it never makes it. Each criterion's words are a `Message` (words.py): stored
with the review as a msgid plus values beside the English, and shown in the reader's language.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from recovery.clinical.config import TransplantConfig
from recovery.clinical.phases import add_months
from recovery.clinical.words import Message, Number, gettext_noop

# A short name for each criterion (the review history's badges).
CRITERION_NAMES: dict[str, str] = {
    "age": gettext_noop("Age"),
    "duration": gettext_noop("Disease duration"),
    "breakthrough": gettext_noop("Breakthrough activity"),
    "edss": gettext_noop("EDSS"),
}


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str  # in English
    met: bool | None  # None: not enough information
    detail: str  # in English
    label_message: Message | None = field(default=None, compare=False)
    detail_message: Message | None = field(default=None, compare=False)

    def as_json(self) -> dict:
        """The stored form: the English words, and the words as msgids plus values."""
        stored = {"code": self.code, "label": self.label, "met": self.met, "detail": self.detail}
        if self.label_message is not None:
            stored["label_message"] = self.label_message.as_json()
        if self.detail_message is not None:
            stored["detail_message"] = self.detail_message.as_json()
        return stored


def _criterion(code: str, label: Message, met: bool | None, detail: Message) -> Criterion:
    return Criterion(code, label.english(), met, detail.english(), label, detail)


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
        _criterion(
            "age",
            Message(gettext_noop("Age under %(age)s"), {"age": config.eligibility_max_age}),
            age < config.eligibility_max_age,
            Message(gettext_noop("%(age)s years old"), {"age": age}),
        )
    ]
    if ms_onset_date is None:
        criteria.append(
            _criterion(
                "duration",
                Message(gettext_noop("Disease duration")),
                None,
                Message(gettext_noop("MS onset date not recorded")),
            )
        )
    else:
        duration = whole_years_between(ms_onset_date, on)
        criteria.append(
            _criterion(
                "duration",
                Message(
                    gettext_noop("Disease duration under %(years)s years"),
                    {"years": config.eligibility_max_disease_years},
                ),
                duration < config.eligibility_max_disease_years,
                Message(gettext_noop("%(years)s years since onset"), {"years": duration}),
            )
        )
    criteria.append(
        _criterion(
            "breakthrough",
            Message(gettext_noop("Relapsing MS with breakthrough activity despite high-efficacy treatment")),
            relapsing_with_breakthrough,
            Message(
                gettext_noop("as judged by the reviewer")
                if relapsing_with_breakthrough is not None
                else gettext_noop("not answered")
            ),
        )
    )
    criteria.append(
        _criterion(
            "edss",
            Message(gettext_noop("EDSS at most %(edss)s"), {"edss": Number(str(config.eligibility_max_edss))}),
            None if edss is None else Decimal(edss) <= Decimal(str(config.eligibility_max_edss)),
            Message(gettext_noop("EDSS not recorded"))
            if edss is None
            else Message(gettext_noop("EDSS %(edss)s"), {"edss": Number(str(edss))}),
        )
    )
    return criteria
