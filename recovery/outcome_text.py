"""A patient's MS outcome in plain words, in the active language, for their home page.

The rules are in `recovery.clinical.outcomes` (pure, no Django); this module only words their result, so that
the words can be translated.
"""

from datetime import date

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from recovery.clinical.outcomes import Outcome, whole_months


def _improved() -> str:
    return _("Your disability score (EDSS) has improved since your transplant, and it has stayed better.")


def _local_date(value: date) -> str:
    """'3 March 2025', '3 mars 2025' in Swedish: `long_date` in the active language."""
    return date_format(value, "j F Y")


def plain_language(outcome: Outcome, on: date | None = None) -> str:
    """A short, kind summary for the patient, without clinical jargon, in the active language.

    `on` (default: the date the outcome was computed for) is the day the months are counted to while there has
    been no disease activity.
    """
    on = outcome.as_of if on is None else on
    day0 = outcome.day0
    if day0 is None or outcome.neda3 is None or on < day0:
        return _("Your results after your transplant will be shown here once your transplant has taken place.")

    if outcome.neda3:
        if outcome.follow_up_end is None or outcome.follow_up_end <= day0:
            return _(
                "Your team has not recorded any check-up results since your transplant yet, "
                "so there is nothing to show here for now."
            )
        months = whole_months(day0, on)
        if months >= 1:
            sentences = [
                ngettext(
                    "No evidence of disease activity for %(count)s month since your transplant.",
                    "No evidence of disease activity for %(count)s months since your transplant.",
                    months,
                )
                % {"count": months}
            ]
        else:
            sentences = [_("No evidence of disease activity since your transplant.")]
        sentences.append(
            _("This is based on your check-ups up to %(date)s.") % {"date": _local_date(outcome.follow_up_end)}
        )
        if outcome.improvement_date is not None:
            sentences.append(_improved())
        return " ".join(sentences)

    sentences = []
    if outcome.neda3_months:
        sentences.append(
            ngettext(
                "There was no evidence of disease activity for %(count)s month after your transplant.",
                "There was no evidence of disease activity for %(count)s months after your transplant.",
                outcome.neda3_months,
            )
            % {"count": outcome.neda3_months}
        )
    events: list[tuple[date, str]] = []
    if outcome.first_relapse is not None:
        first = _local_date(outcome.first_relapse)
        if outcome.relapse_count > 1:
            text = _("Your team has noted %(count)s relapses since your transplant, the first on %(date)s.") % {
                "count": outcome.relapse_count,
                "date": first,
            }
        else:
            text = _("Your team noted a relapse on %(date)s.") % {"date": first}
        events.append((outcome.first_relapse, text))
    if outcome.progression_date is not None:
        seen = _local_date(outcome.progression_date)
        if outcome.progression.improved_since is not None:
            text = _(
                "Your check-ups show a lasting rise in your disability score (EDSS), first seen on %(date)s. "
                "It has come down again since then."
            ) % {"date": seen}
        else:
            text = _("Your check-ups show a lasting rise in your disability score (EDSS), first seen on %(date)s.") % {
                "date": seen
            }
        events.append((outcome.progression_date, text))
    if outcome.mri_activity_date is not None:
        events.append(
            (
                outcome.mri_activity_date,
                _("Your scan on %(date)s showed new or active areas of inflammation.")
                % {"date": _local_date(outcome.mri_activity_date)},
            )
        )
    sentences.extend(text for _on, text in sorted(events, key=lambda event: event[0]))
    if outcome.improvement_date is not None:
        sentences.append(_improved())
    sentences.append(_("Your team will talk with you about what this means for you and what happens next."))
    return " ".join(sentences)
