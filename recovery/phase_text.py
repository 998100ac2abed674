"""What each pathway phase and infection-risk level means, in plain words for the patient.

Shown on the patient's own page ("Day +9 · Aplasia: your highest infection-risk days"). The words follow
domain.md sections 1.1, 2.4, 3.5 and 6.3, but say nothing clinical as a number: a number the patient should
act on (the fever threshold) comes from the centre's configuration and is passed in by the caller. Without it
the text says "a fever" and the patient relies on the threshold their team gave them.
"""

from dataclasses import dataclass
from decimal import Decimal

from recovery.clinical.phases import InfectionRisk, Phase


@dataclass(frozen=True)
class PhaseText:
    name: str  # short, e.g. "Aplasia"
    tagline: str  # what the phase is about for the patient, e.g. "your highest infection-risk days"
    body: str  # 1-3 sentences: what is happening and what to watch for
    starts_when: str  # how the phase begins, for "What comes next" when its date is not known yet

    @property
    def title(self) -> str:
        return f"{self.name}: {self.tagline}"


# `{fever}` is replaced by `fever_phrase(threshold)`.
_PHASES: dict[Phase, PhaseText] = {
    Phase.EVALUATION: PhaseText(
        name="Getting ready",
        tagline="tests and planning",
        body=(
            "Your team is checking that the transplant is right and safe for you, with blood tests, heart and "
            "lung checks and an MRI scan. Your dates will appear here once they are planned."
        ),
        starts_when="once your team has checked that the transplant is right for you",
    ),
    Phase.MOBILISATION: PhaseText(
        name="Mobilisation",
        tagline="preparing your stem cells",
        body=(
            "A chemotherapy infusion and daily injections (G-CSF) move stem cells from your bone marrow into "
            "your blood, ready to be collected. Your blood counts dip for a while: call the unit straight away "
            "if you have {fever} or feel unwell."
        ),
        starts_when="when your team sets the date of your mobilisation infusion",
    ),
    Phase.COLLECTION: PhaseText(
        name="Collection",
        tagline="gathering your stem cells",
        body=(
            "Your stem cells are collected from your blood (apheresis) and frozen until your transplant. "
            "Some people need more than one session."
        ),
        starts_when="once there are enough stem cells in your blood",
    ),
    Phase.CONDITIONING: PhaseText(
        name="Conditioning",
        tagline="the treatment that resets your immune system",
        body=(
            "You are having the high-dose treatment that clears out the immune cells behind your MS. "
            "You may feel sick, tired or feverish: tell the nurses about any new symptom straight away."
        ),
        starts_when="on the day your team plans for your admission and treatment",
    ),
    Phase.APLASIA: PhaseText(
        name="Aplasia",
        tagline="your highest infection-risk days",
        body=(
            "Your new stem cells are settling in and your blood counts are at their lowest. "
            "This is when infections are most dangerous: take your temperature as advised and call the unit "
            "straight away if you have {fever}, or if you feel unwell."
        ),
        starts_when="on Day 0, the day your stem cells are given back",
    ),
    Phase.EARLY_RECOVERY: PhaseText(
        name="Early recovery",
        tagline="your blood counts are coming back",
        body=(
            "Your new stem cells have started making blood cells (engraftment), but your immune system is "
            "still weak. Keep up your precautions and preventive medicines, and call the unit straight away "
            "if you have {fever} or feel unwell."
        ),
        starts_when="once your blood counts have recovered (engraftment); your team will tell you",
    ),
    Phase.RECOVERY: PhaseText(
        name="Recovery",
        tagline="getting your strength back",
        body=(
            "Tiredness is common while your body recovers. Build up activity gently, keep your check-ups, "
            "and ask your team before travel, vaccinations or going back to work."
        ),
        starts_when="when your early recovery is over",
    ),
    Phase.RECONSTITUTION: PhaseText(
        name="Rebuilding",
        tagline="your immune system keeps growing back",
        body=(
            "Your immune system keeps rebuilding for many months. Your team will give you your childhood "
            "vaccinations again, step by step, and check your blood regularly."
        ),
        starts_when="when your recovery months are over",
    ),
    Phase.FOLLOW_UP: PhaseText(
        name="Long-term follow-up",
        tagline="regular check-ups",
        body=(
            "You will see your team regularly for MS check-ups, including MRI scans, and to look out for late "
            "effects of the treatment. Tell them about any new or worsening MS symptoms."
        ),
        starts_when="when your immune system has had time to rebuild",
    ),
}

_RISKS: dict[InfectionRisk, str] = {
    InfectionRisk.HIGH: "Infection risk: highest. Even a mild infection can quickly become serious.",
    InfectionRisk.MODERATE: (
        "Infection risk: raised. Wash your hands often, follow the food-safety advice, and keep away from "
        "crowds and people who are ill."
    ),
    InfectionRisk.LOW: (
        "Infection risk: lower, but your immune system is not fully back yet. Ask your team before any "
        "vaccination or travel abroad."
    ),
    InfectionRisk.BASELINE: "Infection risk: no extra precautions from the transplant right now, unless your team "
    "tells you otherwise.",
}

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def fever_phrase(threshold: Decimal | float | None) -> str:
    """ "a temperature of 38.0 °C or more" from the configured threshold; "a fever" when none is configured."""
    if threshold is None:
        return "a fever"
    return f"a temperature of {Decimal(str(threshold)):.1f} °C or more"


def phase_text(phase: Phase, fever_threshold: Decimal | float | None = None) -> PhaseText:
    """The plain-language text for `phase`, with the fever threshold (from configuration) filled in."""
    text = _PHASES[Phase(phase)]
    fever = fever_phrase(fever_threshold)
    return PhaseText(
        name=text.name,
        tagline=text.tagline,
        body=text.body.format(fever=fever),
        starts_when=text.starts_when,
    )


def risk_text(risk: InfectionRisk) -> str:
    """One line on what the infection-risk level means for the patient today (when to call is in the phase text)."""
    return _RISKS[InfectionRisk(risk)]


def day_label(day: int | None) -> str:
    """ "Day 0", "Day +9", "Day -3"; empty without a Day 0."""
    if day is None:
        return ""
    return "Day 0" if day == 0 else f"Day {day:+d}"


def period_words(months: int) -> str:
    """ "two years" for 24 months, "18 months" for 18: the span the progress bar covers, from configuration."""
    if months > 0 and months % 12 == 0:
        years = months // 12
        count = _NUMBER_WORDS[years] if years < len(_NUMBER_WORDS) else str(years)
        return f"{count} year{'s' if years != 1 else ''}"
    return f"{months} month{'s' if months != 1 else ''}"


def progress_label(fraction: float, months: int) -> str:
    """ "9% of the way through the first two years"."""
    percent = round(max(0.0, min(1.0, fraction)) * 100)
    return f"{percent}% of the way through the first {period_words(months)}"


def relative_days(days: int) -> str:
    """ "today", "tomorrow", "in 12 days"; "yesterday", "3 days ago" for the past."""
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    return f"in {days} days" if days > 0 else f"{-days} days ago"
