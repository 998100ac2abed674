"""Protocol timelines: default event templates and the plan that brings a patient's timeline up to date.

A template is data: each event is a day offset from one of the pathway's anchor dates (mobilisation,
conditioning start, Day 0, neutrophil engraftment, discharge). The defaults below come from domain.md
sections 1.1, 1.3, 3.1 to 3.4 and section 8 items 1, 2, 5 and 12 to 17; a centre edits them per protocol.

`plan_timeline` compares a template and the known anchor dates with the events already stored and says
what to create, move and remove. Anything a person has touched (done, cancelled, or changed by hand) and
any event added by hand is left alone, so running the plan again after applying it gives an empty plan.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from recovery.clinical.config import TransplantConfig
from recovery.clinical.words import gettext_noop


class Anchor(StrEnum):
    MOBILISATION = "mobilisation"
    CONDITIONING_START = "conditioning_start"
    DAY0 = "day0"
    NEUTROPHIL_ENGRAFTMENT = "neutrophil_engraftment"
    DISCHARGE = "discharge"


class EventKind(StrEnum):
    VISIT = "visit"
    LAB = "lab"
    MEDICATION_START = "medication_start"
    MEDICATION_STOP = "medication_stop"
    CHECKIN_PERIOD = "checkin_period"
    VACCINATION = "vaccination"
    MRI = "mri"
    EDSS_REVIEW = "edss_review"
    CHEMOTHERAPY = "chemotherapy"
    PROCEDURE = "procedure"


class EventStatus(StrEnum):
    """Statuses stored on a timeline event."""

    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


class DisplayStatus(StrEnum):
    """Statuses shown to people (api.md, patient timeline): a planned event is also due or overdue."""

    PLANNED = "planned"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"
    CANCELLED = "cancelled"
    NOT_RECORDED = "not_recorded"  # planned, its date passed, and no longer something to chase (`display_status`)


@dataclass(frozen=True)
class TemplateEvent:
    key: str  # stable and unique within a template, e.g. "visit-d30", "cy-d-5"
    anchor: Anchor
    offset_days: int  # relative to the anchor date; negative is before it
    kind: EventKind
    title: str  # plain words for staff and patients


@dataclass(frozen=True)
class ProtocolDefaults:
    code: str
    name: str
    description: str
    events: tuple[TemplateEvent, ...]


@dataclass(frozen=True)
class ExistingEvent:
    """A stored timeline event, as plain values."""

    id: int
    template_key: str | None  # None for an event a coordinator added by hand
    planned_date: date
    status: EventStatus
    manually_changed: bool  # a coordinator moved, completed or cancelled it by hand


@dataclass(frozen=True)
class PlannedCreate:
    template_key: str
    planned_date: date
    kind: EventKind
    title: str


@dataclass(frozen=True)
class PlannedMove:
    event_id: int
    planned_date: date


@dataclass(frozen=True)
class TimelinePlan:
    create: tuple[PlannedCreate, ...]
    move: tuple[PlannedMove, ...]
    remove: tuple[int, ...]  # ids of untouched planned template events that no longer have a date

    @property
    def is_empty(self) -> bool:
        return not (self.create or self.move or self.remove)


def _is_untouched(event: ExistingEvent) -> bool:
    return event.status == EventStatus.PLANNED and not event.manually_changed


def _existing_by_key(existing: Sequence[ExistingEvent]) -> tuple[dict[str, ExistingEvent], list[int]]:
    """The stored event that stands for each template key, and the ids of untouched duplicates to remove.

    Normally there is at most one event per key. If there are several, a touched one wins (a person's
    work is never discarded), then the lowest id; the other untouched planned copies are removed.
    """
    groups: dict[str, list[ExistingEvent]] = {}
    for event in existing:
        if event.template_key is not None:
            groups.setdefault(event.template_key, []).append(event)
    keepers: dict[str, ExistingEvent] = {}
    duplicates: list[int] = []
    for key, events in groups.items():
        ordered = sorted(events, key=lambda e: (_is_untouched(e), e.id))
        keepers[key] = ordered[0]
        duplicates.extend(e.id for e in ordered[1:] if _is_untouched(e))
    return keepers, duplicates


def plan_timeline(
    template: Sequence[TemplateEvent],
    anchors: Mapping[Anchor, date | None],
    existing: Sequence[ExistingEvent],
    rule_dates: Mapping[str, date | None] | None = None,
) -> TimelinePlan:
    """What to create, move and remove so that `existing` follows `template` from the known `anchors`.

    * A template event is matched to the stored event with the same `template_key`.
    * A template event whose key is in `rule_dates` is dated by it (`timeline_rules.rule_dates`: the date
      the vaccination or prophylaxis rule gives), not by its anchor and offset; None counts as an unknown
      anchor date.
    * A template event whose anchor date is unknown (None or missing) is not created.
    * A stored event that is done, cancelled or manually changed is never moved or removed.
    * An untouched planned event is moved when its computed date differs, and removed when its anchor
      date has gone or its key is no longer in the template.
    * An event added by hand (`template_key` None) is never touched.

    Raises ValueError if two template events share a key.
    """
    key_counts = Counter(item.key for item in template)
    repeated = sorted(key for key, count in key_counts.items() if count > 1)
    if repeated:
        raise ValueError(f"Template keys must be unique; repeated: {', '.join(repeated)}")

    by_key, remove = _existing_by_key(existing)
    create: list[PlannedCreate] = []
    move: list[PlannedMove] = []
    ruled = rule_dates or {}
    for item in template:
        if item.key in ruled:
            planned_date = ruled[item.key]
        else:
            anchor_date = anchors.get(item.anchor)
            planned_date = None if anchor_date is None else anchor_date + timedelta(days=item.offset_days)
        stored = by_key.get(item.key)
        if planned_date is None:
            if stored is not None and _is_untouched(stored):
                remove.append(stored.id)
            continue
        if stored is None:
            create.append(PlannedCreate(item.key, planned_date, item.kind, item.title))
        elif _is_untouched(stored) and stored.planned_date != planned_date:
            move.append(PlannedMove(stored.id, planned_date))

    remove.extend(stored.id for key, stored in by_key.items() if key not in key_counts and _is_untouched(stored))
    return TimelinePlan(create=tuple(create), move=tuple(move), remove=tuple(sorted(remove)))


@dataclass(frozen=True)
class OverduePolicy:
    """Which past planned events are still to be done (`display_status`): of `kinds` and at most `window_days`
    before today. From the centre's configuration (`TransplantConfig.overdue_kinds`, `overdue_window_days`)."""

    window_days: int
    kinds: frozenset[str]

    def __post_init__(self) -> None:
        if self.window_days < 0:
            raise ValueError("overdue_window_days must not be negative")

    def oldest(self, today: date) -> date:
        """The earliest planned date that is still overdue on `today` (rather than not recorded)."""
        return today - timedelta(days=self.window_days)

    def is_actionable(self, kind: str | None, planned_date: date, today: date) -> bool:
        """A planned event dated before `today` is overdue (someone has to act) rather than not recorded."""
        return kind in self.kinds and planned_date >= self.oldest(today)


def overdue_policy(transplant: TransplantConfig) -> OverduePolicy:
    """The centre's `OverduePolicy` from its transplant configuration."""
    return OverduePolicy(window_days=transplant.overdue_window_days, kinds=frozenset(transplant.overdue_kinds))


def display_status(
    status: EventStatus,
    planned_date: date,
    today: date,
    due_window_days: int,
    *,
    kind: str | None = None,
    overdue: OverduePolicy | None = None,
) -> DisplayStatus:
    """The status people see: a planned event is due from `today` to `today + due_window_days` (inclusive),
    planned after that; before `today` it is overdue, or, under an `overdue` policy, overdue only while it is
    still actionable (its `kind` one of the policy's, at most the policy's window late) and otherwise not
    recorded. Done and cancelled show as they are."""
    if due_window_days < 0:
        raise ValueError("due_window_days must not be negative")
    if status == EventStatus.DONE:
        return DisplayStatus.DONE
    if status == EventStatus.CANCELLED:
        return DisplayStatus.CANCELLED
    if planned_date < today:
        if overdue is None or overdue.is_actionable(kind, planned_date, today):
            return DisplayStatus.OVERDUE
        return DisplayStatus.NOT_RECORDED
    if planned_date <= today + timedelta(days=due_window_days):
        return DisplayStatus.DUE
    return DisplayStatus.PLANNED


# Default protocol templates --------------------------------------------------------------------------

# Days after Day 0. Months 3 and 6 follow domain.md's "D+100 (about M3)" calendar at 91 and 182 days;
# year n is 365 * n + n // 4 days so that yearly events stay on the anniversary of Day 0. The prophylaxis and
# vaccination events keep an offset for the admin's listing only: their dates come from the rules
# (`timeline_rules.RULE_KEYS`).
MONTH_3 = 91
MONTH_6 = 182


def year_day(years: int) -> int:
    """Days from Day 0 to the `years` anniversary (leap days averaged in)."""
    return 365 * years + years // 4


MONTH_12 = year_day(1)
MONTH_18 = MONTH_12 + MONTH_6
MONTH_24 = year_day(2)
FOLLOW_UP_YEARS = range(2, 11)  # yearly events from year 2 to year 10


# The built-in titles below are stored on each patient's events in English; `recovery.event_titles` translates a
# stored title that is one of them when it is shown (a title typed by staff is shown as typed).


# How the built-in titles of repeated events are made; `recovery.event_titles` reads a stored title back with them.
TITLE_DAY = gettext_noop("%(what)s (Day %(day)s)")  # day "0", "+9", "-5"
TITLE_MONTH = gettext_noop("%(what)s (month %(month)s)")
TITLE_YEAR = gettext_noop("%(what)s (year %(year)s)")
TITLE_PCR_WEEK = gettext_noop("EBV and CMV blood test (PCR), week %(week)s")


def _day_number(offset: int) -> str:
    return "0" if offset == 0 else f"{offset:+d}"


def _day0(key: str, offset: int, kind: EventKind, title: str) -> TemplateEvent:
    return TemplateEvent(key=key, anchor=Anchor.DAY0, offset_days=offset, kind=kind, title=title)


def _daily(key: str, days: Iterable[int], kind: EventKind, what: str) -> tuple[TemplateEvent, ...]:
    """One Day-0-anchored event per day, keyed `{key}-d{day}` (e.g. "cy-d-5") and titled with the day."""
    return tuple(_day0(f"{key}-d{day}", day, kind, TITLE_DAY % {"what": what, "day": _day_number(day)}) for day in days)


def _yearly(key: str, kind: EventKind, what: str) -> tuple[TemplateEvent, ...]:
    """Events at month 12 and then every year to year 10, keyed `{key}-m12`, `{key}-y2` ... `{key}-y10`."""
    first = _day0(f"{key}-m12", MONTH_12, kind, TITLE_MONTH % {"what": what, "month": 12})
    return (
        first,
        *(_day0(f"{key}-y{n}", year_day(n), kind, TITLE_YEAR % {"what": what, "year": n}) for n in FOLLOW_UP_YEARS),
    )


def _mobilisation_events() -> tuple[TemplateEvent, ...]:
    """Mobilisation and collection, on the mobilisation clock (domain.md 1.1; section 8 items 1, 2 and 4)."""
    return (
        TemplateEvent(
            "mobilisation-cy",
            Anchor.MOBILISATION,
            0,
            EventKind.CHEMOTHERAPY,
            gettext_noop("Mobilisation: cyclophosphamide infusion"),
        ),
        TemplateEvent(
            "gcsf-start",
            Anchor.MOBILISATION,
            1,
            EventKind.MEDICATION_START,
            gettext_noop("G-CSF daily injections start"),
        ),
        # Start of the default apheresis window (M+9 to M+14).
        TemplateEvent(
            "apheresis-expected",
            Anchor.MOBILISATION,
            9,
            EventKind.PROCEDURE,
            gettext_noop("Stem cell collection (apheresis) expected"),
        ),
    )


def _follow_up_events() -> tuple[TemplateEvent, ...]:
    """Reinfusion, prophylaxis (aciclovir starts with conditioning) and follow-up, the same for every regimen.

    domain.md 3.1 to 3.4 and section 8 items 12 to 16.
    """
    k = EventKind
    reinfusion_and_checkins = (
        _day0("reinfusion-d0", 0, k.PROCEDURE, gettext_noop("Stem cell reinfusion (Day 0)")),
        _day0("checkin-daily", 0, k.CHECKIN_PERIOD, gettext_noop("Daily temperature and red-flag check-in starts")),
        _day0(
            "checkin-3-weekly",
            31,
            k.CHECKIN_PERIOD,
            gettext_noop("Temperature and red-flag check-in: three times a week"),
        ),
        _day0("checkin-weekly", 101, k.CHECKIN_PERIOD, gettext_noop("Temperature and red-flag check-in: once a week")),
        _day0("checkin-end", MONTH_6, k.CHECKIN_PERIOD, gettext_noop("Routine weekly check-in ends")),
    )
    prophylaxis = (
        TemplateEvent(
            "aciclovir-start",
            Anchor.CONDITIONING_START,
            0,
            k.MEDICATION_START,
            gettext_noop("Aciclovir (prevents shingles and cold sores) starts"),
        ),
        _day0(
            "aciclovir-review", MONTH_12, k.MEDICATION_STOP, gettext_noop("Aciclovir: review stopping (if CD4 ≥ 0.2)")
        ),
        TemplateEvent(
            "cotrimoxazole-start",
            Anchor.NEUTROPHIL_ENGRAFTMENT,
            0,
            k.MEDICATION_START,
            gettext_noop("Co-trimoxazole (prevents pneumocystis pneumonia) starts"),
        ),
        _day0(
            "cotrimoxazole-review",
            MONTH_3,
            k.MEDICATION_STOP,
            gettext_noop("Co-trimoxazole: review stopping (if CD4 ≥ 0.2)"),
        ),
    )
    first_blood_test = (
        TemplateEvent(
            "bloods-after-discharge",
            Anchor.DISCHARGE,
            7,
            k.LAB,
            gettext_noop("Blood count check (about a week after leaving hospital)"),
        ),
    )
    virus_pcr = tuple(_day0(f"pcr-d{day}", day, k.LAB, TITLE_PCR_WEEK % {"week": day // 7}) for day in range(7, 99, 7))
    visits = (
        _day0("visit-d30", 30, k.VISIT, gettext_noop("Clinic visit (Day +30)")),
        _day0("visit-d100", 100, k.VISIT, gettext_noop("Clinic visit (Day +100)")),
        _day0("visit-m6", MONTH_6, k.VISIT, gettext_noop("Clinic visit (month 6)")),
        *_yearly("visit", k.VISIT, gettext_noop("Clinic visit")),
    )
    ms_review = gettext_noop("MS neurology review: EDSS and relapses")
    edss = (
        _day0("edss-m3", MONTH_3, k.EDSS_REVIEW, TITLE_MONTH % {"what": ms_review, "month": 3}),
        _day0("edss-m6", MONTH_6, k.EDSS_REVIEW, TITLE_MONTH % {"what": ms_review, "month": 6}),
        *_yearly("edss", k.EDSS_REVIEW, ms_review),
    )
    mri = (
        _day0(
            "mri-m6", MONTH_6, k.MRI, gettext_noop("Brain MRI: new baseline after transplant (re-baseline, month 6)")
        ),
        *_yearly("mri", k.MRI, gettext_noop("Brain MRI")),
    )
    immune_labs = (
        _day0("cd4-igg-m3", MONTH_3, k.LAB, gettext_noop("CD4 count and IgG blood test (month 3)")),
        _day0("cd4-igg-m6", MONTH_6, k.LAB, gettext_noop("CD4 count and IgG blood test (month 6)")),
        _day0("cd4-igg-m12", MONTH_12, k.LAB, gettext_noop("CD4 count and IgG blood test (month 12)")),
        _day0("cd4-m18", MONTH_18, k.LAB, gettext_noop("CD4 count blood test (month 18)")),
        _day0("cd4-m24", MONTH_24, k.LAB, gettext_noop("CD4 count blood test (month 24)")),
    )
    autoimmunity_labs = _yearly(
        "thyroid-platelets", k.LAB, gettext_noop("Thyroid (TSH/FT4) and platelet count blood test")
    )
    vaccinations = (
        _day0(
            "vaccine-zoster",
            50,
            k.VACCINATION,
            gettext_noop("Shingles vaccine (recombinant, not live): first dose from now"),
        ),
        _day0(
            "vaccine-flu-pneumo",
            MONTH_3,
            k.VACCINATION,
            gettext_noop("Flu and pneumococcal vaccines can start from now"),
        ),
        _day0(
            "vaccine-inactivated-m6",
            MONTH_6,
            k.VACCINATION,
            gettext_noop(
                "Tetanus, diphtheria, whooping cough, polio, Hib, meningococcal, hepatitis A and B and HPV "
                "vaccines can start from now"
            ),
        ),
        _day0(
            "vaccine-ppsv23",
            MONTH_12,
            k.VACCINATION,
            gettext_noop("Pneumococcal polysaccharide vaccine (PPSV23) from now"),
        ),
        _day0(
            "vaccine-live",
            MONTH_24,
            k.VACCINATION,
            gettext_noop("Live vaccines (MMR, varicella) may be considered from now"),
        ),
    )
    return (
        *reinfusion_and_checkins,
        *prophylaxis,
        *first_blood_test,
        *virus_pcr,
        *visits,
        *edss,
        *mri,
        *immune_labs,
        *autoimmunity_labs,
        *vaccinations,
    )


def _protocol(code: str, name: str, description: str, conditioning: tuple[TemplateEvent, ...]) -> ProtocolDefaults:
    events = (*_mobilisation_events(), *conditioning, *_follow_up_events())
    return ProtocolDefaults(code=code, name=name, description=description, events=events)


_CHEMO = EventKind.CHEMOTHERAPY

CY_ATG = _protocol(
    "cy_atg",
    "Cy/ATG",
    "Non-myeloablative (lymphoablative) conditioning: cyclophosphamide 50 mg/kg a day on Day -5 to Day -2 "
    "(200 mg/kg in total) and rabbit ATG (about 6 mg/kg in total) split over Day -5 to Day -1. The ATG days "
    "and dose, and methylprednisolone given with ATG, are unverified in domain.md [U]; confirm locally.",
    (
        *_daily("cy", range(-5, -1), _CHEMO, gettext_noop("Conditioning: cyclophosphamide 50 mg/kg")),
        *_daily("atg", range(-5, 0), _CHEMO, gettext_noop("Conditioning: rabbit ATG")),
    ),
)

BEAM_ATG = _protocol(
    "beam_atg",
    "BEAM/ATG",
    "Myeloablative, intermediate-intensity conditioning: carmustine (BCNU) 300 mg/m² on Day -6, etoposide "
    "and cytarabine on Day -5 to Day -2, melphalan 140 mg/m² on Day -1, ATG on Day +1 and Day +2. This "
    "contemporary MS schedule and the ATG days are unverified in domain.md [U]; some centres give ATG on "
    "Day -2 and Day -1 instead. Confirm locally.",
    (
        *_daily("bcnu", [-6], _CHEMO, gettext_noop("Conditioning: carmustine (BCNU)")),
        *_daily("etoposide-cytarabine", range(-5, -1), _CHEMO, gettext_noop("Conditioning: etoposide and cytarabine")),
        *_daily("melphalan", [-1], _CHEMO, gettext_noop("Conditioning: melphalan")),
        *_daily("atg", [1, 2], _CHEMO, gettext_noop("ATG infusion")),
    ),
)

BU_CY_ATG = _protocol(
    "bu_cy_atg",
    "Bu/Cy/ATG",
    "High-intensity, fully ablative conditioning with a CD34-selected graft: busulfan (16 mg/kg in total) "
    "over Day -9 to Day -6, cyclophosphamide 60 mg/kg a day on Day -5 and Day -4, rabbit ATG on Day -3 to "
    "Day -1. Busulfan needs seizure prevention medicine. The day numbers follow an older consensus schedule; "
    "confirm locally.",
    (
        *_daily("busulfan", range(-9, -5), _CHEMO, gettext_noop("Conditioning: busulfan")),
        *_daily("cy", range(-5, -3), _CHEMO, gettext_noop("Conditioning: cyclophosphamide 60 mg/kg")),
        *_daily("atg", range(-3, 0), _CHEMO, gettext_noop("Conditioning: rabbit ATG")),
    ),
)

DEFAULT_PROTOCOLS: dict[str, ProtocolDefaults] = {p.code: p for p in (CY_ATG, BEAM_ATG, BU_CY_ATG)}
