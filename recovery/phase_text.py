"""What each pathway phase and infection-risk level means, in plain words for the patient.

Shown on the patient's own page ("Day +9 · Aplasia: your highest infection-risk days"). The words follow
domain.md sections 1.1, 2.4, 3.5 and 6.3, but say nothing clinical as a number: a number the patient should
act on (the fever threshold) comes from the centre's configuration and is passed in by the caller. Without it
the text says "a fever" and the patient relies on the threshold their team gave them.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from recovery.clinical.phases import InfectionRisk, Phase


@dataclass(frozen=True)
class PhaseText:
    name: str  # short, e.g. "Aplasia"
    tagline: str  # what the phase is about for the patient, e.g. "your highest infection-risk days"
    body: str  # 1-3 sentences: what is happening and what to watch for
    starts_when: str  # how the phase begins, for "What comes next" when its date is not known yet

    @property
    def title(self) -> str:
        return _("%(name)s: %(tagline)s") % {"name": self.name, "tagline": self.tagline}


# `%(fever)s` is replaced by `fever_phrase(threshold)`.
_PHASES: dict[Phase, PhaseText] = {
    Phase.EVALUATION: PhaseText(
        name=gettext_lazy("Getting ready"),
        tagline=gettext_lazy("tests and planning"),
        body=gettext_lazy(
            "Your team is checking that the transplant is right and safe for you, with blood tests, heart and "
            "lung checks and an MRI scan. Your dates will appear here once they are planned."
        ),
        starts_when=gettext_lazy("once your team has checked that the transplant is right for you"),
    ),
    Phase.MOBILISATION: PhaseText(
        name=gettext_lazy("Mobilisation"),
        tagline=gettext_lazy("preparing your stem cells"),
        body=gettext_lazy(
            "A chemotherapy infusion and daily injections (G-CSF) move stem cells from your bone marrow into "
            "your blood, ready to be collected. Your blood counts dip for a while: call the unit straight away "
            "if you have %(fever)s or feel unwell."
        ),
        starts_when=gettext_lazy("when your team sets the date of your mobilisation infusion"),
    ),
    Phase.COLLECTION: PhaseText(
        name=gettext_lazy("Collection"),
        tagline=gettext_lazy("gathering your stem cells"),
        body=gettext_lazy(
            "Your stem cells are collected from your blood (apheresis) and frozen until your transplant. "
            "Some people need more than one session."
        ),
        starts_when=gettext_lazy("once there are enough stem cells in your blood"),
    ),
    Phase.CONDITIONING: PhaseText(
        name=gettext_lazy("Conditioning"),
        tagline=gettext_lazy("the treatment that resets your immune system"),
        body=gettext_lazy(
            "You are having the high-dose treatment that clears out the immune cells behind your MS. "
            "You may feel sick, tired or feverish: tell the nurses about any new symptom straight away."
        ),
        starts_when=gettext_lazy("on the day your team plans for your admission and treatment"),
    ),
    Phase.APLASIA: PhaseText(
        name=gettext_lazy("Aplasia"),
        tagline=gettext_lazy("your highest infection-risk days"),
        body=gettext_lazy(
            "Your new stem cells are settling in and your blood counts are at their lowest. "
            "This is when infections are most dangerous: take your temperature as advised and call the unit "
            "straight away if you have %(fever)s, or if you feel unwell."
        ),
        starts_when=gettext_lazy("on Day 0, the day your stem cells are given back"),
    ),
    Phase.EARLY_RECOVERY: PhaseText(
        name=gettext_lazy("Early recovery"),
        tagline=gettext_lazy("your blood counts are coming back"),
        body=gettext_lazy(
            "Your new stem cells have started making blood cells (engraftment), but your immune system is "
            "still weak. Keep up your precautions and preventive medicines, and call the unit straight away "
            "if you have %(fever)s or feel unwell."
        ),
        starts_when=gettext_lazy("once your blood counts have recovered (engraftment); your team will tell you"),
    ),
    Phase.RECOVERY: PhaseText(
        name=gettext_lazy("Recovery"),
        tagline=gettext_lazy("getting your strength back"),
        body=gettext_lazy(
            "Tiredness is common while your body recovers. Build up activity gently, keep your check-ups, "
            "and ask your team before travel, vaccinations or going back to work."
        ),
        starts_when=gettext_lazy("when your early recovery is over"),
    ),
    Phase.RECONSTITUTION: PhaseText(
        name=gettext_lazy("Rebuilding"),
        tagline=gettext_lazy("your immune system keeps growing back"),
        body=gettext_lazy(
            "Your immune system keeps rebuilding for many months. Your team will give you your childhood "
            "vaccinations again, step by step, and check your blood regularly."
        ),
        starts_when=gettext_lazy("when your recovery months are over"),
    ),
    Phase.FOLLOW_UP: PhaseText(
        name=gettext_lazy("Long-term follow-up"),
        tagline=gettext_lazy("regular check-ups"),
        body=gettext_lazy(
            "You will see your team regularly for MS check-ups, including MRI scans, and to look out for late "
            "effects of the treatment. Tell them about any new or worsening MS symptoms."
        ),
        starts_when=gettext_lazy("when your immune system has had time to rebuild"),
    ),
}

_RISKS: dict[InfectionRisk, str] = {
    InfectionRisk.HIGH: gettext_lazy("Infection risk: highest. Even a mild infection can quickly become serious."),
    InfectionRisk.MODERATE: gettext_lazy(
        "Infection risk: raised. Wash your hands often, follow the food-safety advice, and keep away from "
        "crowds and people who are ill."
    ),
    InfectionRisk.LOW: gettext_lazy(
        "Infection risk: lower, but your immune system is not fully back yet. Ask your team before any "
        "vaccination or travel abroad."
    ),
    InfectionRisk.BASELINE: gettext_lazy(
        "Infection risk: no extra precautions from the transplant right now, unless your team tells you otherwise."
    ),
}

# How many years, in words, as in "the first two years".
_NUMBER_WORDS = (
    pgettext_lazy("years", "zero"),
    pgettext_lazy("years", "one"),
    pgettext_lazy("years", "two"),
    pgettext_lazy("years", "three"),
    pgettext_lazy("years", "four"),
    pgettext_lazy("years", "five"),
    pgettext_lazy("years", "six"),
    pgettext_lazy("years", "seven"),
    pgettext_lazy("years", "eight"),
    pgettext_lazy("years", "nine"),
    pgettext_lazy("years", "ten"),
)


def fever_phrase(threshold: Decimal | float | None) -> str:
    """ "a temperature of 38.0 °C or more" from the configured threshold (38,0 in Swedish); "a fever" when none
    is configured."""
    if threshold is None:
        return _("a fever")
    degrees = number_format(Decimal(str(threshold)).quantize(Decimal("0.1")), decimal_pos=1)
    return _("a temperature of %(degrees)s °C or more") % {"degrees": degrees}


def phase_text(phase: Phase, fever_threshold: Decimal | float | None = None) -> PhaseText:
    """The plain-language text for `phase` in the active language, with the fever threshold (from configuration)
    filled in."""
    text = _PHASES[Phase(phase)]
    return PhaseText(
        name=str(text.name),
        tagline=str(text.tagline),
        body=str(text.body) % {"fever": fever_phrase(fever_threshold)},
        starts_when=str(text.starts_when),
    )


def risk_text(risk: InfectionRisk) -> str:
    """One line on what the infection-risk level means for the patient today (when to call is in the phase text)."""
    return str(_RISKS[InfectionRisk(risk)])


def day_label(day: int | None) -> str:
    """ "Day 0", "Day +9", "Day -3" ("Dag +9" in Swedish); empty without a Day 0."""
    if day is None:
        return ""
    return _("Day 0") if day == 0 else _("Day %(day)s") % {"day": f"{day:+d}"}


def _years_in_words(years: int) -> str:
    return str(_NUMBER_WORDS[years]) if years < len(_NUMBER_WORDS) else str(years)


def period_words(months: int) -> str:
    """ "two years" for 24 months, "18 months" for 18: the span the progress bar covers, from configuration."""
    if months > 0 and months % 12 == 0:
        years = months // 12
        return ngettext("%(count)s year", "%(count)s years", years) % {"count": _years_in_words(years)}
    return ngettext("%(count)s month", "%(count)s months", months) % {"count": months}


def progress_label(fraction: float, months: int) -> str:
    """ "9% of the way through the first two years" (a whole sentence per unit: Swedish says "de första två
    åren", "det första året")."""
    percent = round(max(0.0, min(1.0, fraction)) * 100)
    if months > 0 and months % 12 == 0:
        years = months // 12
        return ngettext(
            "%(percent)s%% of the way through the first %(count)s year",
            "%(percent)s%% of the way through the first %(count)s years",
            years,
        ) % {"percent": percent, "count": _years_in_words(years)}
    return ngettext(
        "%(percent)s%% of the way through the first %(count)s month",
        "%(percent)s%% of the way through the first %(count)s months",
        months,
    ) % {"percent": percent, "count": months}


def relative_days(days: int) -> str:
    """ "today", "tomorrow", "in 12 days"; "yesterday", "3 days ago" for the past."""
    if days == 0:
        return _("today")
    if days == 1:
        return _("tomorrow")
    if days == -1:
        return _("yesterday")
    if days > 0:
        return ngettext("in %(count)s day", "in %(count)s days", days) % {"count": days}
    return ngettext("%(count)s day ago", "%(count)s days ago", -days) % {"count": -days}
