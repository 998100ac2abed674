"""Timeline event titles in the reader's language.

An event's title is stored text: the English title of the protocol's built-in event (recovery/clinical/timeline.py,
marked with `gettext_noop`) or whatever staff typed. `event_title` translates a stored built-in title, including
the repeated ones made from a pattern ("Brain MRI (year 3)"), into the active language; any other title (a custom
one typed by staff) is not in the catalogue and comes back unchanged.
"""

import re

from django.utils.translation import gettext

from recovery.clinical.timeline import TITLE_DAY, TITLE_MONTH, TITLE_PCR_WEEK, TITLE_YEAR

# A stored title made from one of the patterns, read back: (regex, pattern, the group that is a translatable title).
_PATTERNS: tuple[tuple[re.Pattern[str], str, str | None], ...] = (
    (re.compile(r"(?P<what>.+) \(Day (?P<day>0|[+-]\d+)\)"), TITLE_DAY, "what"),
    (re.compile(r"(?P<what>.+) \(month (?P<month>\d+)\)"), TITLE_MONTH, "what"),
    (re.compile(r"(?P<what>.+) \(year (?P<year>\d+)\)"), TITLE_YEAR, "what"),
    (re.compile(r"EBV and CMV blood test \(PCR\), week (?P<week>\d+)"), TITLE_PCR_WEEK, None),
)


def event_title(title) -> str:
    """`title` in the active language when it is a built-in title; otherwise unchanged."""
    text = str(title or "")
    if not text:
        return text
    translated = gettext(text)
    if translated != text:
        return translated
    for regex, pattern, part in _PATTERNS:
        match = regex.fullmatch(text)
        if match is None:
            continue
        values = match.groupdict()
        if part is not None:
            values[part] = gettext(values[part])
            if values[part] == match.group(part):
                continue  # not a built-in title: shown as typed
        return gettext(pattern) % values
    return text
