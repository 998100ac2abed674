"""The timeline events whose dates belong to a clinical rule: one source of truth for those dates.

A protocol template places most events a fixed number of days from an anchor date. The events below are
different: the vaccination and prophylaxis rules already decide their dates, so the template's day offset is
ignored for them and `rule_dates` computes the date with the rule's own function and the centre's
configuration (`plan_timeline(..., rule_dates=...)`). The live-vaccine event therefore falls on the first day
`check_vaccination` accepts a live vaccine (calendar months, `add_months`, not a count of days), and the
co-trimoxazole review on the day `prophylaxis_plan` first allows stopping.

==========================  ===========================================================================
template key                date
==========================  ===========================================================================
aciclovir-start             start of the aciclovir course (`prophylaxis.course_dates`)
aciclovir-review            its planned stop: the first day stopping is allowed (if CD4 has recovered)
cotrimoxazole-start         start of the co-trimoxazole course
cotrimoxazole-review        its planned stop
vaccine-zoster              first dose due of the recombinant zoster vaccine (`vaccination.first_dose_dates`)
vaccine-flu-pneumo          the earliest first dose due of influenza and PCV13
vaccine-inactivated-m6      the earliest first dose due of Td/aP, IPV, Hib, hepatitis B, meningococcal,
                            hepatitis A and HPV
vaccine-ppsv23              first dose due of PPSV23
vaccine-live                `vaccination.live_vaccine_earliest` (the hard block's date)
==========================  ===========================================================================

A key whose rule gives no date (no Day 0; a medication or vaccines the centre's configuration does not have;
an anchor not recorded yet) maps to None: the event is not created, and an untouched planned one is removed,
rather than falling back to a day offset that the rule does not follow.
"""

from datetime import date

from recovery.clinical.labs_config import ProphylaxisConfig, VaccinationConfig
from recovery.clinical.prophylaxis import course_dates
from recovery.clinical.vaccination import first_dose_dates, live_vaccine_earliest

PROPHYLAXIS_EVENTS: dict[str, tuple[str, str]] = {
    "aciclovir-start": ("aciclovir", "start"),
    "aciclovir-review": ("aciclovir", "stop"),
    "cotrimoxazole-start": ("cotrimoxazole", "start"),
    "cotrimoxazole-review": ("cotrimoxazole", "stop"),
}
FIRST_DOSE_EVENTS: dict[str, tuple[str, ...]] = {
    "vaccine-zoster": ("zoster_recombinant",),
    "vaccine-flu-pneumo": ("influenza", "pcv13"),
    "vaccine-inactivated-m6": ("tdap", "ipv", "hib", "hepb", "meningococcal", "hepa", "hpv"),
    "vaccine-ppsv23": ("ppsv23",),
}
LIVE_VACCINE_EVENT = "vaccine-live"
RULE_KEYS: frozenset[str] = frozenset({*PROPHYLAXIS_EVENTS, *FIRST_DOSE_EVENTS, LIVE_VACCINE_EVENT})


def rule_dates(
    *,
    day0: date | None,
    conditioning_start: date | None,
    neutrophil_engraftment: date | None,
    vaccination: VaccinationConfig,
    prophylaxis: ProphylaxisConfig,
) -> dict[str, date | None]:
    """The date of every key in `RULE_KEYS` (None where the rule gives none), from the episode dates."""
    dates: dict[str, date | None] = dict.fromkeys(RULE_KEYS)
    if day0 is None:
        return dates
    for key, (medication, which) in PROPHYLAXIS_EVENTS.items():
        start, stop = course_dates(
            medication,
            day0=day0,
            conditioning_start=conditioning_start,
            neutrophil_engraftment=neutrophil_engraftment,
            config=prophylaxis,
        )
        dates[key] = start if which == "start" else stop
    first = first_dose_dates(day0, vaccination)
    for key, vaccines in FIRST_DOSE_EVENTS.items():
        due = [first[vaccine] for vaccine in vaccines if vaccine in first]
        dates[key] = min(due) if due else None
    live = [vaccine for vaccine in vaccination.live_vaccines if vaccine in first]
    dates[LIVE_VACCINE_EVENT] = live_vaccine_earliest(day0, vaccination) if live else None
    return dates
