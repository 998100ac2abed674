"""Revaccination plan and the live-vaccine block (domain.md section 3.4; section 8 items 16 and 17).

Pure rules: Day 0, the doses given and today in, planned doses out. There is no clock and no database; the
schedule comes from a `VaccinationConfig` (see `labs_config.py`). Vaccine codes: influenza, pcv13, ppsv23,
tdap, ipv, hib, hepb, meningococcal, hepa, hpv, zoster_recombinant, mmr, varicella.

Default schedule (first dose from Day 0; the start months and dose counts are [V], intervals [U]):

==================  =====================  ======================================  ======================
vaccine             first dose due         later doses (after the previous one)    first dose overdue
==================  =====================  ======================================  ======================
influenza           month 3                yearly                                  after month 6
pcv13               month 3                +1 month, +1 month                      after month 6
ppsv23              month 12               (8 weeks after PCV13 dose 3 at least)   after month 15
zoster_recombinant  Day 0 + 50 days        +1 month                                after D+70
tdap, ipv, hib      month 6                +1 month, +1 month                      after month 12
hepb                month 6                +1 month, +5 months (0, 1, 6)           after month 12
meningococcal       month 6                +2 months                               after month 12
hepa                month 6                +6 months                               after month 12
hpv                 month 6                +2 months, +4 months (0, 2, 6)          after month 12
mmr, varicella      month 24 (live)        +1 month                                after month 30
==================  =====================  ======================================  ======================

How the plan is computed (`vaccination_plan`):

* A dose is due on the later of its earliest date (Day 0 + months + days) and the previous dose's date +
  the interval. The previous dose's date is the date it was actually given when it was given, else its
  planned due date. Months are calendar months (`phases.add_months`: 31 Aug + 6 months is 28 Feb).
* A live vaccine's dose is never due before the hard block lets it be given (`live_vaccine_earliest`), whatever
  the schedule says.
* Status on `today`: `given` when recorded; else `upcoming` before the due date, `due` from the due date
  through `due_until` (the due date + the dose's window; later doses: 1 month), `overdue` after it.
* A dose whose previous dose has not been given is `upcoming` whatever its date: it cannot be given
  before the dose it follows. Its due date is still the forecast from the previous dose's planned date.
* Yearly vaccines (influenza) go on after their last scheduled dose: one more dose is planned after each
  dose given, so the plan always ends with the next one due.
* Doses given before Day 0 do not count (the transplant wipes vaccine immunity) and are left out. The same
  dose recorded twice: the earlier date counts. An unknown vaccine code or a dose number outside the
  schedule raises ValueError (as `check_vaccination`).

The hard block (`check_vaccination`): a live vaccine (MMR, varicella) is refused before month 24 after
Day 0 (`live_vaccine_earliest`, calendar months), while the answer to "immunosuppressed?" is yes or not given
(there is no default answer), and within `live_after_immunoglobulin_months` (11) calendar months after the last
immunoglobulin (IVIG) dose on or before the date given; any vaccine is refused before Day 0. The timeline's
vaccination events take their dates from `live_vaccine_earliest` and `first_dose_dates` (see
`timeline_rules.py`), so the timeline and the block never disagree.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from recovery.clinical.labs_config import DEFAULT_VACCINATION_CONFIG, ScheduledDose, VaccinationConfig
from recovery.clinical.phases import add_months
from recovery.clinical.words import gettext_noop

# Display names, in English and marked for the catalogue: the callers translate them (gettext) where they are
# shown; a code not listed here is shown as it is.
VACCINE_NAMES: dict[str, str] = {
    "influenza": gettext_noop("Influenza (inactivated)"),
    "pcv13": gettext_noop("PCV13 (pneumococcal conjugate)"),
    "ppsv23": gettext_noop("PPSV23 (pneumococcal polysaccharide)"),
    "tdap": gettext_noop("Tetanus, diphtheria and pertussis"),
    "ipv": gettext_noop("Polio (inactivated)"),
    "hib": gettext_noop("Haemophilus influenzae type b"),
    "hepb": gettext_noop("Hepatitis B"),
    "meningococcal": gettext_noop("Meningococcal (conjugate)"),
    "hepa": gettext_noop("Hepatitis A"),
    "hpv": gettext_noop("HPV"),
    "zoster_recombinant": gettext_noop("Recombinant zoster (shingles)"),
    "mmr": gettext_noop("MMR"),
    "varicella": gettext_noop("Varicella (chickenpox)"),
}


class VaccinationRefusedError(ValueError):
    """A dose the rules refuse, in plain language; `field` is the input the refusal is about: "vaccine",
    "dose", "given_date" or "immunosuppressed".

    `template` is the English sentence with named placeholders, marked for the catalogue, and `params` fill it
    (`vaccine`, a code, also gives `name`, the vaccine in words); the caller translates the template and the name
    where it is shown. `str()` is the English sentence.
    """

    def __init__(self, template: str, field: str, **params) -> None:
        self.template = template
        self.field = field
        self.params = params
        super().__init__(template % self.words(str))

    def words(self, translate) -> dict:
        """The placeholders' values, with the vaccine's name translated by `translate`."""
        words = {key: str(value) for key, value in self.params.items()}
        if "vaccine" in self.params:
            words["name"] = translate(vaccine_name(self.params["vaccine"]))
        return words


class DoseStatus(StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    GIVEN = "given"


@dataclass(frozen=True)
class PlannedDose:
    """One dose of the plan on `today`."""

    vaccine: str
    dose: int
    due_date: date
    due_until: date  # the last day it is "due"; "overdue" after
    status: DoseStatus
    given_date: date | None


def vaccine_name(code: str) -> str:
    return str(VACCINE_NAMES.get(code, code))


def _shift(start: date, months: int, days: int) -> date:
    return add_months(start, months) + timedelta(days=days)


class _Schedule:
    """The configured doses by (vaccine, dose), with yearly repeats after a yearly vaccine's last dose."""

    def __init__(self, config: VaccinationConfig) -> None:
        self.config = config
        self.doses: dict[tuple[str, int], ScheduledDose] = {(d.vaccine, d.dose): d for d in config.dose_list()}
        self.last: dict[str, int] = {}
        for vaccine, number in self.doses:
            self.last[vaccine] = max(number, self.last.get(vaccine, 0))
        for vaccine, number in self.doses:
            if number > 1 and (vaccine, number - 1) not in self.doses:
                raise ValueError(f"The schedule has {vaccine} dose {number} but not dose {number - 1}.")

    def check_known(self, vaccine: str, dose: int) -> None:
        if vaccine not in self.last:
            known = ", ".join(sorted(self.last))
            raise VaccinationRefusedError(
                gettext_noop("Unknown vaccine %(code)s; the schedule has: %(known)s."),
                "vaccine",
                code=repr(vaccine),
                known=known,
            )
        if isinstance(dose, bool) or not isinstance(dose, int) or dose < 1:
            raise VaccinationRefusedError(
                gettext_noop("The dose number must be a whole number from 1, not %(dose)s."), "dose", dose=repr(dose)
            )
        if dose > self.last[vaccine] and vaccine not in self.config.yearly_vaccines:
            raise VaccinationRefusedError(
                gettext_noop("%(name)s has %(last)s dose(s) in the schedule; dose %(dose)s is not in it."),
                "dose",
                vaccine=vaccine,
                last=self.last[vaccine],
                dose=dose,
            )

    def entry(self, vaccine: str, dose: int) -> ScheduledDose:
        """The scheduled dose, or a yearly repeat modelled on the last scheduled one."""
        if (vaccine, dose) in self.doses:
            return self.doses[(vaccine, dose)]
        last = self.doses[(vaccine, self.last[vaccine])]
        return ScheduledDose(
            vaccine,
            dose,
            months=last.months,
            days=last.days,
            interval_months=self.config.yearly_interval_months,
            window_months=self.config.yearly_window_months,
        )

    def previous(self, vaccine: str, dose: int) -> tuple[str, int] | None:
        if dose > 1:
            return vaccine, dose - 1
        follows = self.entry(vaccine, dose).follows
        if follows:
            if follows not in self.last:
                raise ValueError(f"{vaccine} follows {follows!r}, which is not in the schedule.")
            return follows, self.last[follows]
        return None


def live_vaccine_earliest(day0: date, config: VaccinationConfig = DEFAULT_VACCINATION_CONFIG) -> date:
    """The first day a live vaccine may be given: `live_not_before_months` calendar months after Day 0."""
    return add_months(day0, config.live_not_before_months)


def immunoglobulin_clear_from(
    immunoglobulin_dates: Sequence[date], given_date: date, config: VaccinationConfig = DEFAULT_VACCINATION_CONFIG
) -> tuple[date, date] | None:
    """(the last immunoglobulin dose on or before `given_date`, the first day a live vaccine may follow it), or
    None without one. A dose recorded after `given_date` does not hold back a vaccine given before it."""
    earlier = [on for on in immunoglobulin_dates if on <= given_date]
    if not earlier:
        return None
    last = max(earlier)
    return last, add_months(last, config.live_after_immunoglobulin_months)


def first_dose_dates(day0: date, config: VaccinationConfig = DEFAULT_VACCINATION_CONFIG) -> dict[str, date]:
    """Each vaccine's first dose due date from Day 0 when nothing is given yet (what the timeline shows)."""
    return {d.vaccine: d.due_date for d in vaccination_plan(day0, (), day0, config) if d.dose == 1}


def check_vaccination(
    vaccine: str,
    dose: int,
    given_date: date,
    day0: date,
    config: VaccinationConfig = DEFAULT_VACCINATION_CONFIG,
    immunosuppressed: bool | None = None,
    immunoglobulin_dates: Sequence[date] = (),
) -> None:
    """Refuse a dose that must not be recorded as given, with a plain-language `VaccinationRefusedError`.

    Refused: an unknown vaccine code; a dose number outside the schedule (yearly vaccines take any dose
    from 1); a date before Day 0; a live vaccine before `live_vaccine_earliest`, or unless `immunosuppressed`
    is answered False (None is "not answered", and is refused like True), or within
    `live_after_immunoglobulin_months` after the last of `immunoglobulin_dates` on or before `given_date`
    (the hard block, domain.md section 8 item 17).
    """
    _Schedule(config).check_known(vaccine, dose)
    if given_date < day0:
        raise VaccinationRefusedError(
            gettext_noop(
                "%(name)s dose %(dose)s is dated %(given_date)s, before Day 0 (%(day0)s): vaccines given before the "
                "transplant do not count, and revaccination starts after Day 0."
            ),
            "given_date",
            vaccine=vaccine,
            dose=dose,
            given_date=given_date,
            day0=day0,
        )
    if vaccine not in config.live_vaccines:
        return
    months = config.live_not_before_months
    earliest = live_vaccine_earliest(day0, config)
    if given_date < earliest:
        raise VaccinationRefusedError(
            gettext_noop(
                "%(name)s is a live vaccine: it cannot be given before month %(months)s after Day 0 (%(earliest)s), "
                "because until then the immune system may not control the weakened live virus in the vaccine, "
                "which can then cause a serious infection."
            ),
            "given_date",
            vaccine=vaccine,
            months=months,
            earliest=earliest,
        )
    if immunosuppressed is None:
        raise VaccinationRefusedError(
            gettext_noop(
                "%(name)s is a live vaccine: answer whether the patient is on immunosuppressive treatment now (yes or "
                "no) before recording it. It cannot be given during such treatment."
            ),
            "immunosuppressed",
            vaccine=vaccine,
        )
    if immunosuppressed is not False:
        raise VaccinationRefusedError(
            gettext_noop(
                "%(name)s is a live vaccine: it cannot be given while the patient is on immunosuppressive "
                "treatment, because the weakened live virus in the vaccine can then cause a serious infection."
            ),
            "immunosuppressed",
            vaccine=vaccine,
        )
    after_immunoglobulin = immunoglobulin_clear_from(immunoglobulin_dates, given_date, config)
    if after_immunoglobulin is not None and given_date < after_immunoglobulin[1]:
        last, clear = after_immunoglobulin
        raise VaccinationRefusedError(
            gettext_noop(
                "%(name)s is a live vaccine: it cannot be given within %(months)s months after immunoglobulin "
                "(IVIG), last given on %(last)s, so not before %(clear)s, because the antibodies in the "
                "immunoglobulin stop the vaccine from working."
            ),
            "given_date",
            vaccine=vaccine,
            months=config.live_after_immunoglobulin_months,
            last=last,
            clear=clear,
        )


def vaccination_plan(
    day0: date,
    given: Sequence[tuple[str, int, date]],
    today: date,
    config: VaccinationConfig = DEFAULT_VACCINATION_CONFIG,
) -> list[PlannedDose]:
    """Every planned dose with its due date and status on `today`, by due date then schedule order.

    `given` lists (vaccine code, dose number, date given); the rules are in the module docstring.
    """
    schedule = _Schedule(config)
    given_on: dict[tuple[str, int], date] = {}
    for vaccine, dose, on in given:
        schedule.check_known(vaccine, dose)
        if on >= day0:
            key = (vaccine, dose)
            given_on[key] = min(on, given_on.get(key, on))

    due: dict[tuple[str, int], date] = {}

    def due_date(key: tuple[str, int]) -> date:
        if key not in due:
            entry = schedule.entry(*key)
            result = _shift(day0, entry.months, entry.days)
            if key[0] in config.live_vaccines:
                result = max(result, live_vaccine_earliest(day0, config))
            previous = schedule.previous(*key)
            if previous is not None:
                anchor = given_on.get(previous) or due_date(previous)
                result = max(result, _shift(anchor, entry.interval_months, entry.interval_days))
            due[key] = result
        return due[key]

    keys = list(schedule.doses)
    for vaccine in config.yearly_vaccines:
        if vaccine in schedule.last:
            number = schedule.last[vaccine]
            while (vaccine, number) in given_on:
                number += 1
                if (vaccine, number) not in schedule.doses:
                    keys.append((vaccine, number))
    keys += sorted(key for key in given_on if key not in keys)  # a yearly dose recorded after a gap

    plan = []
    for key in keys:
        entry = schedule.entry(*key)
        planned = due_date(key)
        until = _shift(planned, entry.window_months, entry.window_days)
        previous = schedule.previous(*key)
        given_date = given_on.get(key)
        if given_date is not None:
            status = DoseStatus.GIVEN
        elif today < planned or (previous is not None and previous not in given_on):
            status = DoseStatus.UPCOMING
        elif today <= until:
            status = DoseStatus.DUE
        else:
            status = DoseStatus.OVERDUE
        plan.append(PlannedDose(key[0], key[1], planned, until, status, given_date))
    order = {key: index for index, key in enumerate(keys)}
    return sorted(plan, key=lambda item: (item.due_date, order[(item.vaccine, item.dose)]))


@dataclass(frozen=True)
class OpenDose:
    """A dose not given whose previous dose is given (or that follows none): the only doses whose status moves
    with the date alone (`status_on`). Every other dose not given waits for one of these (`upcoming` whatever
    the date), so these are all that a list of doses due needs."""

    vaccine: str
    dose: int
    due_date: date
    due_until: date

    def status_on(self, today: date) -> DoseStatus:
        """The status `vaccination_plan` gives this dose on `today`."""
        if today < self.due_date:
            return DoseStatus.UPCOMING
        return DoseStatus.DUE if today <= self.due_until else DoseStatus.OVERDUE


def open_doses(
    day0: date, given: Sequence[tuple[str, int, date]], config: VaccinationConfig = DEFAULT_VACCINATION_CONFIG
) -> list[OpenDose]:
    """The plan's open doses (see `OpenDose`), in the plan's order; none when every scheduled dose is given.

    On any day the doses `vaccination_plan` calls `due` or `overdue` are exactly these, with `status_on`: the plan
    is computed for the last representable day, when a dose is `upcoming` only because its previous dose is not
    given, and every other dose not given is past its window."""
    return [
        OpenDose(d.vaccine, d.dose, d.due_date, d.due_until)
        for d in vaccination_plan(day0, given, date.max, config)
        if d.status == DoseStatus.OVERDUE
    ]
