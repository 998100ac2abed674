"""Lab results as read for the pages and rules: the engraftment proposal and its state, and series for charts.
Reads only."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils.dateformat import format as format_date
from django.utils.translation import gettext as _

from recovery.clinical.engraftment import (
    ImplausibleValueError,
    check_lab_value,
    engraftment_flags,
    first_day_below,
    neutrophil_engraftment,
    neutrophil_never_below,
    platelet_engraftment,
    platelet_never_below,
)
from recovery.clinical.labs_config import ANC, PLATELETS, LabConfig
from recovery.clinical.phases import Flag, local_date
from recovery.models import (
    EngraftmentConfirmation,
    EngraftmentKind,
    LabResult,
    Patient,
    Transfusion,
    TransfusionProduct,
    TransplantEpisode,
)
from recovery.queries.configuration import active_config
from recovery.queries.timeline import patient_today

# What the counts say of one kind of engraftment (`EngraftmentLine.state`, the API's `*_engraftment_state`).
STATE_RECORDED = "recorded"


STATE_PROPOSED = "proposed"


STATE_NEVER_BELOW = "never_below"


STATE_NOT_YET = "not_yet"


ENGRAFTMENT_STATES = (STATE_RECORDED, STATE_PROPOSED, STATE_NEVER_BELOW, STATE_NOT_YET)


@dataclass(frozen=True)
class EngraftmentLine:
    kind: str  # neutrophil, platelet
    recorded: date | None  # the date on the episode (confirmed, or entered on the transplant page)
    proposed: date | None  # computed from the counts
    confirmation: EngraftmentConfirmation | None
    never_below: bool = False  # the count never fell below the threshold after Day 0 (no aplasia)

    @property
    def awaiting_confirmation(self) -> bool:
        return self.recorded is None and self.proposed is not None

    @property
    def state(self) -> str:
        """recorded, proposed, never_below (no date to give: the count never fell) or not_yet."""
        if self.recorded is not None:
            return STATE_RECORDED
        if self.proposed is not None:
            return STATE_PROPOSED
        return STATE_NEVER_BELOW if self.never_below else STATE_NOT_YET


@dataclass(frozen=True)
class EngraftmentStatus:
    """What the labs say about engraftment on `today` (the patient's date)."""

    day0: date | None
    today: date
    day: int | None
    neutrophil: EngraftmentLine
    platelet: EngraftmentLine
    flags: tuple[Flag, ...] = ()
    nadir_started: date | None = None  # the first day with ANC below the threshold from Day 0 on
    latest_anc: tuple[date, float] | None = None
    latest_platelets: tuple[date, float] | None = None
    problems: tuple[str, ...] = ()

    @property
    def engrafted(self) -> bool:
        return self.neutrophil.recorded is not None


def _daily(values: Iterable[tuple[datetime, Decimal]], zone: str) -> list[tuple[date, float]]:
    return [(local_date(at, zone), float(value)) for at, value in values]


def _implausible(values: Sequence[tuple[date, float]], test: str, config: LabConfig) -> list[str]:
    """What is wrong with each stored value that fails the plausibility check, with its date."""
    problems = []
    for day, value in sorted(values):
        try:
            check_lab_value(test, value, config)
        except ImplausibleValueError as exc:
            problems.append(
                _("%(date)s: %(problem)s Correct this result: until then no date is proposed.")
                % {"date": format_date(day, _("j M Y")), "problem": exc}
            )
        except ValueError as exc:
            problems.append(_("%(date)s: %(problem)s") % {"date": format_date(day, _("j M Y")), "problem": exc})
    return problems


def _anc_counts(patient: Patient, day0: date) -> list[tuple[date, float]]:
    rows = LabResult.objects.filter(
        patient=patient, test=ANC, collected_at__date__gte=day0 - timedelta(days=2)
    ).values_list("collected_at", "value")
    return _daily(rows, patient.timezone)


def engraftment_proposal(patient: Patient, today: date | None = None) -> EngraftmentStatus:
    """The engraftment dates proposed by the counts, next to those recorded, and the flags of `today`."""
    active = active_config(patient.centre_id)
    config = active.labs
    episode = TransplantEpisode.objects.filter(patient=patient).first()
    today = today or patient_today(patient)
    day0 = episode.reinfusion_date if episode else None
    confirmations: dict[str, EngraftmentConfirmation] = {}
    for row in EngraftmentConfirmation.objects.filter(patient=patient).select_related("confirmed_by"):
        confirmations.setdefault(row.kind, row)  # newest first
    neutrophil_date = episode.neutrophil_engraftment_date if episode else None
    platelet_date = episode.platelet_engraftment_date if episode else None
    if day0 is None:
        return EngraftmentStatus(
            day0=None,
            today=today,
            day=None,
            neutrophil=EngraftmentLine(EngraftmentKind.NEUTROPHIL, neutrophil_date, None, None),
            platelet=EngraftmentLine(EngraftmentKind.PLATELET, platelet_date, None, None),
        )
    rows = LabResult.objects.filter(
        patient=patient, test__in=[ANC, PLATELETS], collected_at__date__gte=day0 - timedelta(days=2)
    ).values_list("test", "collected_at", "value")
    by_test: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for test, at, value in rows:
        by_test[test].append((at, value))
    anc = _daily(by_test[ANC], patient.timezone)
    platelets = _daily(by_test[PLATELETS], patient.timezone)
    transfusions = [
        local_date(at, patient.timezone)
        for at in Transfusion.objects.filter(patient=patient, product=TransfusionProduct.PLATELETS).values_list(
            "given_at", flat=True
        )
    ]
    # A count that fails the plausibility check (most often one in the wrong unit) proposes nothing, and is
    # not "never below" either: the page names it, and the engraftment alerts keep running.
    problems = []
    proposed_n = proposed_p = nadir = None
    never_below_n = never_below_p = False
    anc_problems = _implausible(anc, ANC, config)
    platelet_problems = _implausible(platelets, PLATELETS, config)
    problems.extend(anc_problems + platelet_problems)
    if not anc_problems:
        proposed_n = neutrophil_engraftment(anc, day0, config)
        nadir = first_day_below(anc, day0, config.neutrophil_threshold, ANC, config)
        never_below_n = neutrophil_never_below(anc, day0, today, config)
    if not platelet_problems:
        proposed_p = platelet_engraftment(platelets, transfusions, day0, config)
        never_below_p = platelet_never_below(platelets, transfusions, day0, today, config)
    return EngraftmentStatus(
        day0=day0,
        today=today,
        day=(today - day0).days,
        neutrophil=EngraftmentLine(
            EngraftmentKind.NEUTROPHIL,
            neutrophil_date,
            proposed_n,
            confirmations.get(EngraftmentKind.NEUTROPHIL),
            never_below_n,
        ),
        platelet=EngraftmentLine(
            EngraftmentKind.PLATELET,
            platelet_date,
            proposed_p,
            confirmations.get(EngraftmentKind.PLATELET),
            never_below_p,
        ),
        flags=engraftment_flags(day0, today, neutrophil_date, active.phase, never_below_n) if today >= day0 else (),
        nadir_started=nadir,
        latest_anc=max(((d, v) for d, v in anc if d <= today), default=None),
        latest_platelets=max(((d, v) for d, v in platelets if d <= today), default=None),
        problems=tuple(problems),
    )


def anc_never_below(patient: Patient, day0: date, on: date, config: LabConfig) -> bool:
    """Whether the patient's ANC never fell below the threshold after Day 0 (False when a count is implausible)."""
    anc = [(day, value) for day, value in _anc_counts(patient, day0) if day <= on]
    try:
        return neutrophil_never_below(anc, day0, on, config)
    except ValueError:
        return False


def series(
    patient: Patient, tests: Sequence[str], bounds: tuple[datetime, datetime] | None = None
) -> dict[str, list[tuple[datetime, Decimal]]]:
    """Each test's results as (collected_at, value), oldest first (one query); within [start, end) if `bounds`."""
    out: dict[str, list[tuple[datetime, Decimal]]] = {test: [] for test in tests}
    rows = LabResult.objects.filter(patient=patient, test__in=list(tests)).order_by("collected_at")
    if bounds is not None:
        rows = rows.filter(collected_at__gte=bounds[0], collected_at__lt=bounds[1])
    for test, at, value in rows.values_list("test", "collected_at", "value"):
        out[test].append((at, value))
    return out


def patients_on_import_lines(lab_import, lines: Iterable[dict]) -> list[Patient]:
    """The patients of the import's centre whose hospital numbers the given report lines show (for the audit)."""
    numbers = {str(line.get("hospital_number", "")).strip().lower() for line in lines} - {""}
    if not numbers:
        return []
    return [
        patient
        for patient in Patient.objects.filter(centre_id=lab_import.centre_id)
        if patient.hospital_number.strip().lower() in numbers
    ]
