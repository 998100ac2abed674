"""Labs, engraftment, prophylaxis and revaccination defaults (domain.md sections 2.1-2.3, 3.1, 3.2, 3.4; section 8
items 6-9, 13, 14, 16, 17), as configuration.

The blocks follow `config.py`: frozen dataclasses of plain values, overridable per centre with
`with_overrides`, read by the pure rules in `engraftment.py`, `prophylaxis.py` and `vaccination.py`. Tables
(units, ranges, prophylaxis templates, the vaccination schedule) are tuples, so a block stays hashable and
comparable; read back from JSON they arrive as lists (and templates and doses as dicts), which the lookups
here accept too. Figures marked [U] in domain.md are research defaults the centre's clinical leads must
review.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any, Self, TypeVar

from recovery.clinical.config import Config

# The lab tests the app stores, by code (used as keys in `LabConfig`'s tables).
ANC = "anc"  # absolute neutrophil count
PLATELETS = "platelets"
HAEMOGLOBIN = "haemoglobin"
WBC = "wbc"
LYMPHOCYTES = "lymphocytes"
CD4 = "cd4"
CD8 = "cd8"
CD19 = "cd19"
NK = "nk"
IGG = "igg"
TSH = "tsh"
FT4 = "ft4"
EBV_PCR = "ebv_pcr"
CMV_PCR = "cmv_pcr"

# How a message names a result of each test ("An ANC of 60 x10^9/L is not possible").
TEST_NAMES: dict[str, str] = {
    ANC: "an ANC",
    PLATELETS: "a platelet count",
    HAEMOGLOBIN: "a haemoglobin",
    WBC: "a white cell count",
    LYMPHOCYTES: "a lymphocyte count",
    CD4: "a CD4 count",
    CD8: "a CD8 count",
    CD19: "a CD19 count",
    NK: "an NK cell count",
    IGG: "an IgG",
    TSH: "a TSH",
    FT4: "a free T4",
    EBV_PCR: "an EBV load",
    CMV_PCR: "a CMV load",
}

_T = TypeVar("_T")

_CELLS = "x10^9/L"
_COPIES = "copies/mL"


@dataclass(frozen=True)
class LabConfig(Config):
    """Lab units, ranges and the engraftment, neutropenia, CD4 and EBV rules; see `engraftment.py`.

    Counts are in the canonical unit of their test (`units`); the caller converts before calling (a CD4 of
    250 cells/uL is 0.25 x10^9/L). A value outside `plausible_ranges` is refused as a typing or unit
    error; `reference_ranges` (typical adult values, for display only) drive no rule.
    """

    units: tuple[tuple[str, str], ...] = (
        (ANC, _CELLS),
        (PLATELETS, _CELLS),
        (HAEMOGLOBIN, "g/L"),
        (WBC, _CELLS),
        (LYMPHOCYTES, _CELLS),
        (CD4, _CELLS),
        (CD8, _CELLS),
        (CD19, _CELLS),
        (NK, _CELLS),
        (IGG, "g/L"),
        (TSH, "mIU/L"),
        (FT4, "pmol/L"),
        (EBV_PCR, _COPIES),
        (CMV_PCR, _COPIES),
    )
    # (test, lowest, highest), both inclusive: outside is refused as a typing or unit error. Each is the widest
    # value an adult with MS going through aHSCT can have (G-CSF mobilisation included), so that the common
    # wrong unit of the test (`unit_mixups`) lands outside: an ANC of 60 can only be 60 cells/uL, a CD4 of 250
    # only 250 cells/uL, a haemoglobin of 9.5 only 9.5 g/dL, an IgG of 800 only 800 mg/dL. Research defaults
    # [U] for the centre's clinical leads to review.
    plausible_ranges: tuple[tuple[str, float, float], ...] = (
        (ANC, 0.0, 50.0),
        (PLATELETS, 0.0, 2000.0),
        (HAEMOGLOBIN, 20.0, 250.0),
        (WBC, 0.0, 100.0),
        (LYMPHOCYTES, 0.0, 50.0),
        (CD4, 0.0, 3.0),
        (CD8, 0.0, 5.0),
        (CD19, 0.0, 3.0),
        (NK, 0.0, 3.0),
        (IGG, 0.0, 50.0),
        (TSH, 0.0, 150.0),
        (FT4, 1.0, 100.0),
        (EBV_PCR, 0.0, 1e9),
        (CMV_PCR, 0.0, 1e9),
    )
    # (test, the unit a result is commonly given in by mistake, factor to the canonical unit): a value outside
    # the plausible range that becomes plausible in that unit is refused with "did you mean ...?"
    unit_mixups: tuple[tuple[str, str, float], ...] = (
        (ANC, "cells/µL", 0.001),
        (PLATELETS, "/µL", 0.001),
        (HAEMOGLOBIN, "g/dL", 10.0),
        (WBC, "cells/µL", 0.001),
        (LYMPHOCYTES, "cells/µL", 0.001),
        (CD4, "cells/µL", 0.001),
        (CD8, "cells/µL", 0.001),
        (CD19, "cells/µL", 0.001),
        (NK, "cells/µL", 0.001),
        (IGG, "mg/dL", 0.01),
        (FT4, "ng/dL", 12.87),
    )
    # (test, lower limit of normal, upper limit of normal): typical adult values, for display and CTCAE grade 1
    reference_ranges: tuple[tuple[str, float, float], ...] = (
        (ANC, 2.0, 7.5),
        (PLATELETS, 150.0, 400.0),
        (HAEMOGLOBIN, 120.0, 170.0),
        (WBC, 4.0, 11.0),
        (LYMPHOCYTES, 1.0, 4.0),
        (CD4, 0.5, 1.5),
        (CD8, 0.2, 0.9),
        (CD19, 0.1, 0.5),
        (NK, 0.1, 0.5),
        (IGG, 6.0, 16.0),
        (TSH, 0.4, 4.0),
        (FT4, 12.0, 22.0),
        (EBV_PCR, 0.0, 0.0),  # not detected
        (CMV_PCR, 0.0, 0.0),
    )
    # engraftment (CIBMTR forms manual, ASTCT; domain.md 2.1): the first of `engraftment_consecutive_days`
    # consecutive values, on different days, at or above the threshold
    neutrophil_threshold: float = 0.5  # x10^9/L
    platelet_threshold: float = 20.0  # x10^9/L
    engraftment_consecutive_days: int = 3
    # a platelet count counts only when the last platelet transfusion is at least this many days before it
    platelet_transfusion_free_days: int = 7
    # the 90-patient autograft study (domain.md 2.1 note): the first qualifying day may be accepted on its own
    accept_first_qualifying_day: bool = False
    # "after the post-transplant nadir": a run counts only after a value below the threshold from Day 0 on
    engraftment_after_nadir: bool = True
    # "never fell below the threshold" (no aplasia) needs counts on `engraftment_consecutive_days` days after
    # Day 0, all at or above it, the last on or after this Day (past the usual nadir, D+5 to D+10) [U]
    never_below_from_day: int = 14
    # neutropenia (IDSA and the classic bands, domain.md 2.2, 2.3; section 8 item 9): each band is "below"
    mild_neutropenia_below: float = 1.5
    moderate_neutropenia_below: float = 1.0
    severe_neutropenia_below: float = 0.5
    profound_neutropenia_below: float = 0.1
    protracted_neutropenia_days: int = 7
    # immune reconstitution and viral monitoring (section 8 items 11, 13, 14)
    cd4_recovery_threshold: float = 0.2  # x10^9/L, at or above
    ebv_alert_copies: float = 500_000.0  # copies/mL, strictly above ("> 500,000")

    def unit(self, test: str) -> str:
        """The canonical unit of `test`; ValueError for a test without one."""
        for code, unit in self.units:
            if code == test:
                return unit
        raise ValueError(f"Unknown lab test {test!r}; known tests: {', '.join(code for code, _ in self.units)}.")

    def display_unit(self, test: str) -> str:
        """The canonical unit as a nurse reads it: with the multiplication sign rather than the letter x."""
        unit = self.unit(test)
        return f"\u00d7{unit[1:]}" if unit.startswith("x10") else unit

    def plausible_range(self, test: str) -> tuple[float, float]:
        return _range(self.plausible_ranges, test, "plausible")

    def unit_mixups_of(self, test: str) -> list[tuple[str, float]]:
        """(wrong unit, factor to the canonical unit) for `test`, in the configured order; may be empty."""
        return [(str(unit), float(factor)) for code, unit, factor in self.unit_mixups if code == test]

    def reference_range(self, test: str) -> tuple[float, float]:
        return _range(self.reference_ranges, test, "reference")


def _range(table: Iterable[Any], test: str, what: str) -> tuple[float, float]:
    for code, low, high in table:
        if code == test:
            return float(low), float(high)
    raise ValueError(f"No {what} range is configured for the lab test {test!r}.")


class Anchor(StrEnum):
    """The episode dates a prophylaxis course starts or stops from."""

    CONDITIONING_START = "conditioning_start"
    DAY0 = "day0"
    NEUTROPHIL_ENGRAFTMENT = "neutrophil_engraftment"


@dataclass(frozen=True)
class ProphylaxisTemplate:
    """One medication's start/stop rule (domain.md 3.1; section 8 item 13); see `prophylaxis.py`.

    Starts on the date of `start`. May stop from `add_months(date of stop, stop_months)`, and, when
    `until_cd4`, only once CD4 is at or above `ProphylaxisConfig.cd4_threshold`.
    """

    medication: str
    start: str  # an `Anchor` value
    stop: str  # an `Anchor` value
    stop_months: int = 0
    until_cd4: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class ProphylaxisConfig(Config):
    """Antimicrobial prophylaxis templates (domain.md 3.1 [U]; section 8 item 13); see `prophylaxis.py`.

    Co-trimoxazole's minimum is month 3 by default; centres use 3 to 6
    (`config.with_template("cotrimoxazole", stop_months=6)`).
    """

    templates: tuple[ProphylaxisTemplate, ...] = (
        ProphylaxisTemplate("aciclovir", Anchor.CONDITIONING_START, Anchor.DAY0, stop_months=12, until_cd4=True),
        ProphylaxisTemplate("cotrimoxazole", Anchor.NEUTROPHIL_ENGRAFTMENT, Anchor.DAY0, stop_months=3, until_cd4=True),
        ProphylaxisTemplate("fluconazole", Anchor.CONDITIONING_START, Anchor.NEUTROPHIL_ENGRAFTMENT),
        ProphylaxisTemplate("levofloxacin", Anchor.DAY0, Anchor.NEUTROPHIL_ENGRAFTMENT),
    )
    cd4_threshold: float = 0.2  # x10^9/L, at or above

    def template_list(self) -> list[ProphylaxisTemplate]:
        """The templates as dataclasses (entries read back from JSON as dicts are converted)."""
        return [_coerce(ProphylaxisTemplate, item) for item in self.templates]

    def with_template(self, medication: str, **changes: Any) -> Self:
        """A copy with the fields in `changes` replaced in the template of `medication`."""
        templates = self.template_list()
        if medication not in {t.medication for t in templates}:
            raise ValueError(f"No prophylaxis template for {medication!r}.")
        changed = tuple(replace(t, **changes) if t.medication == medication else t for t in templates)
        return replace(self, templates=changed)


@dataclass(frozen=True)
class ScheduledDose:
    """One dose of the revaccination schedule (domain.md 3.4; section 8 item 16); see `vaccination.py`.

    Due on the later of Day 0 + `months` + `days` (the earliest date) and, when there is a previous dose,
    the previous dose's date + `interval_months` + `interval_days`. It is "due" from then through the due
    date + `window_months` + `window_days`, "overdue" after. The previous dose is dose - 1 of the same
    vaccine; for a first dose, the last scheduled dose of `follows` when set (PPSV23 after PCV13).
    """

    vaccine: str
    dose: int
    months: int = 0
    days: int = 0
    interval_months: int = 0
    interval_days: int = 0
    window_months: int = 1
    window_days: int = 0
    follows: str = ""


def _dose(vaccine: str, dose: int, months: int, **rest: Any) -> ScheduledDose:
    return ScheduledDose(vaccine, dose, months, **rest)


@dataclass(frozen=True)
class VaccinationConfig(Config):
    """The revaccination calendar from Day 0 (domain.md 3.4 [V for start months and dose counts]; section 8
    items 16 and 17). Intervals between doses and the "due" windows are [U] defaults.

    `yearly_vaccines` repeat after their last scheduled dose every `yearly_interval_months`, each repeat
    "due" for `yearly_window_months`. Live vaccines are never given before `live_not_before_months`, nor
    while the patient is immunosuppressed, nor within `live_after_immunoglobulin_months` after a dose of
    immunoglobulin (a hard block).
    """

    schedule: tuple[ScheduledDose, ...] = (
        _dose("influenza", 1, 3, window_months=3),  # M3-6, then yearly
        _dose("pcv13", 1, 3, window_months=3),  # x3 from M3-6
        _dose("pcv13", 2, 3, interval_months=1),
        _dose("pcv13", 3, 3, interval_months=1),
        _dose("ppsv23", 1, 12, interval_days=56, window_months=3, follows="pcv13"),  # >= M12, 8 weeks after PCV13
        _dose("zoster_recombinant", 1, 0, days=50, window_months=0, window_days=20),  # D+50-70
        _dose("zoster_recombinant", 2, 0, days=50, interval_months=1),
        _dose("tdap", 1, 6, window_months=6),  # M6-12
        _dose("tdap", 2, 6, interval_months=1),
        _dose("tdap", 3, 6, interval_months=1),
        _dose("ipv", 1, 6, window_months=6),
        _dose("ipv", 2, 6, interval_months=1),
        _dose("ipv", 3, 6, interval_months=1),
        _dose("hib", 1, 6, window_months=6),
        _dose("hib", 2, 6, interval_months=1),
        _dose("hib", 3, 6, interval_months=1),
        _dose("hepb", 1, 6, window_months=6),  # 0, 1, 6 months
        _dose("hepb", 2, 6, interval_months=1),
        _dose("hepb", 3, 6, interval_months=5),
        _dose("meningococcal", 1, 6, window_months=6),
        _dose("meningococcal", 2, 6, interval_months=2),
        _dose("hepa", 1, 6, window_months=6),  # 0, 6 months
        _dose("hepa", 2, 6, interval_months=6),
        _dose("hpv", 1, 6, window_months=6),  # 0, 2, 6 months
        _dose("hpv", 2, 6, interval_months=2),
        _dose("hpv", 3, 6, interval_months=4),
        _dose("mmr", 1, 24, window_months=6),  # live: not before M24
        _dose("mmr", 2, 24, interval_months=1),
        _dose("varicella", 1, 24, window_months=6),
        _dose("varicella", 2, 24, interval_months=1),
    )
    live_vaccines: tuple[str, ...] = ("mmr", "varicella")
    live_not_before_months: int = 24
    # Antibodies in immunoglobulin (IVIG) neutralise the live measles and varicella vaccine viruses. ACIP General
    # Best Practice Guidelines, table of intervals between antibody-containing products and measles- or
    # varicella-containing vaccines: IVIG 300-400 mg/kg 8 months, 1 g/kg 10 months, 2 g/kg 11 months. The
    # app does not record the IVIG dose, so the default is the longest IVIG interval. Not in domain.md: to be
    # signed off by the centre.
    live_after_immunoglobulin_months: int = 11
    yearly_vaccines: tuple[str, ...] = ("influenza",)
    yearly_interval_months: int = 12
    yearly_window_months: int = 3

    def dose_list(self) -> list[ScheduledDose]:
        """The schedule as dataclasses (entries read back from JSON as dicts are converted)."""
        return [_coerce(ScheduledDose, item) for item in self.schedule]


def _coerce(cls: type[_T], item: Any) -> _T:
    """`item` as a `cls` instance: it already is one, or a mapping of its fields (as read back from JSON)."""
    if isinstance(item, cls):
        return item
    if isinstance(item, Mapping):
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in item.items() if k in known})
    raise ValueError(f"Expected a {cls.__name__} or a mapping of its fields, not {item!r}.")


DEFAULT_LAB_CONFIG = LabConfig()
DEFAULT_PROPHYLAXIS_CONFIG = ProphylaxisConfig()
DEFAULT_VACCINATION_CONFIG = VaccinationConfig()
