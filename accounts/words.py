"""Durations in words, for messages that state a configured time ("30 minutes", "1 hour", "3 days"), in the
active language."""

from django.utils.translation import ngettext


def _days(count: int) -> str:
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


def _hours(count: int) -> str:
    return ngettext("%(count)d hour", "%(count)d hours", count) % {"count": count}


def _minutes(count: int) -> str:
    return ngettext("%(count)d minute", "%(count)d minutes", count) % {"count": count}


def _seconds(count: int) -> str:
    return ngettext("%(count)d second", "%(count)d seconds", count) % {"count": count}


def duration_words(seconds: int) -> str:
    """The largest whole unit that states `seconds` exactly; seconds or minutes otherwise."""
    seconds = int(seconds)
    for words, size in ((_days, 86400), (_hours, 3600), (_minutes, 60)):
        if seconds >= size and seconds % size == 0:
            return words(seconds // size)
    if seconds >= 60:
        return _minutes(-(-seconds // 60))  # rounded up: never promise less time than there is
    return _seconds(seconds)
