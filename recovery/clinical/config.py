"""Clinical defaults from shared/domain.md, as configuration.

Each rule takes one of these frozen dataclasses as an argument; nothing in `recovery/clinical/` writes a
threshold as a literal. A centre may override any field (stored with a version number, so every alert
and computed flag can say which configuration produced it). The defaults are research defaults that the
centre's clinical leads must review (domain.md: "This is not clinical guidance").
"""

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Self


@dataclass(frozen=True)
class Config:
    """Base for configuration blocks: plain values, comparable, serialisable to JSON."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, overrides: dict[str, Any] | None) -> Self:
        """A copy with the known keys of `overrides` applied; unknown keys are ignored."""
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if k in known})


@dataclass(frozen=True)
class PhaseConfig(Config):
    """Phase boundaries and flags (domain.md sections 1.1, 2.1, 2.4; section 8 items 2, 8, 11)."""

    # aplasia ends when neutrophil engraftment is recorded; until then, these flags (days after Day 0)
    delayed_engraftment_day: int = 21
    possible_graft_failure_day: int = 30
    # early_recovery: neutrophil engraftment until this day
    early_recovery_end_day: int = 90
    # recovery (the three-to-six-month recovery): until this day
    recovery_end_day: int = 180
    # reconstitution: until this many months after Day 0; follow_up after
    reconstitution_end_months: int = 24
    # infection risk: high from conditioning start through aplasia, moderate until this day after Day 0,
    # low until `low_risk_end_months`, then baseline
    moderate_risk_end_day: int = 100
    low_risk_end_months: int = 24


@dataclass(frozen=True)
class TransplantConfig(Config):
    """Collection and eligibility defaults (domain.md section 8 items 3 and 4)."""

    min_cd34_dose: float = 2.0  # x 10^6 CD34+ cells/kg; warn below
    eligibility_max_age: int = 50  # years, exclusive ("under 50")
    eligibility_max_disease_years: int = 10  # exclusive ("under 10 years")
    eligibility_max_edss: float = 5.5  # inclusive; centres set 5.5 to 6.0
    apheresis_window_start_day: int = 9  # days after mobilisation (M+9 to M+14)
    apheresis_window_end_day: int = 14
    max_conditioning_days: int = 14  # conditioning starts at most this many days before Day 0 (Bu-based ~D-9)
    earliest_plausible_year: int = 1995  # the first aHSCT for MS were in the mid-1990s
    max_days_ahead: int = 730  # a planned date further ahead than this is a typing error
    due_window_days: int = 7  # a planned event is "due" from this many days before its date


DEFAULT_PHASE_CONFIG = PhaseConfig()
DEFAULT_TRANSPLANT_CONFIG = TransplantConfig()
