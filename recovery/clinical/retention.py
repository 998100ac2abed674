"""When a patient's personal data may be erased, and when it must be kept (pure rules, no ORM).

Sweden's Patient Data Act (patientdatalagen, SFS 2008:355, 3 kap. 17 §) requires a patient record to be kept
for at least ten years after its last entry. Until then the clinical record cannot be erased on request
(GDPR Art. 17(3)(b) and (c): a legal obligation and health care). What can be erased on request:

- everything, for a patient who was enrolled but never started treatment (no transplant dates and no
  clinical entries): there is no record to keep;
- the data outside the record at any time: the login and the contact preferences (reminder channels and
  quiet hours, the calendar address).

Once the retention period has run out for a deactivated patient, the retention job erases the whole record.
Erasure is only for patients who have left the centre's care: they are deactivated first.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

LAW = "the Patient Data Act (patientdatalagen 3 kap. 17 §)"


class Scope(StrEnum):
    EVERYTHING = "everything"  # the record and the personal data; a pseudonymised key stays for the access log
    OUTSIDE_RECORD = "outside_record"  # the login and the contact preferences only
    NOTHING = "nothing"


@dataclass(frozen=True)
class RecordFacts:
    """What the rule needs to know about one patient."""

    deactivated: bool
    erased: bool
    has_transplant_dates: bool
    clinical_entries: int
    last_entry: date  # the date of the latest entry in the record (enrolment, when it has no other)
    has_login: bool


@dataclass(frozen=True)
class ErasureDecision:
    scope: Scope
    reason: str  # the rule's answer, in words, shown to staff and written into the audit row
    keep_until: date | None = None  # the first day the whole record may be erased


def retention_ends(last_entry: date, years: int) -> date:
    """The day after the `years`th anniversary of the last entry (of 29 February: 28 February's next day)."""
    try:
        anniversary = last_entry.replace(year=last_entry.year + years)
    except ValueError:  # 29 February in a year that has none
        anniversary = date(last_entry.year + years, 2, 28)
    return anniversary + timedelta(days=1)


def erasure_decision(facts: RecordFacts, *, today: date, retention_years: int) -> ErasureDecision:
    """What may be erased today, and why (or why not)."""
    if facts.erased:
        return ErasureDecision(Scope.NOTHING, "This patient's personal data has already been erased.")
    if not facts.deactivated:
        return ErasureDecision(
            Scope.NOTHING,
            "Deactivate the patient first: erasure is only for people who have left the centre's care.",
        )
    keep_until = retention_ends(facts.last_entry, retention_years)
    if today >= keep_until:
        return ErasureDecision(
            Scope.EVERYTHING,
            f"The last entry in the record was on {facts.last_entry.isoformat()}, more than {retention_years} "
            f"years ago: the retention period of {LAW} has ended, so the record can be erased.",
            keep_until,
        )
    if not facts.has_transplant_dates and facts.clinical_entries == 0:
        return ErasureDecision(
            Scope.EVERYTHING,
            "The patient never started treatment (no transplant dates and no clinical entries): there is no "
            "patient record to keep, so all of their personal data can be erased on their request.",
            keep_until,
        )
    return ErasureDecision(
        Scope.OUTSIDE_RECORD,
        f"The patient record has {facts.clinical_entries} entries, the last on {facts.last_entry.isoformat()}. "
        f"Under {LAW} a record is kept for at least {retention_years} years after its last entry, so it cannot be "
        f"erased before {keep_until.isoformat()}. What can be erased now is the data outside the record: the "
        "login and the contact preferences.",
        keep_until,
    )


def expired(decision: ErasureDecision, today: date) -> bool:
    """Whether the retention job erases the record: the retention period has ended (a record is never erased
    by the job just because it could be erased on request)."""
    return decision.scope == Scope.EVERYTHING and decision.keep_until is not None and today >= decision.keep_until
