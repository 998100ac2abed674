"""Durations in words, for messages that state a configured time ("30 minutes", "1 hour", "3 days")."""


def duration_words(seconds: int) -> str:
    """The largest whole unit that states `seconds` exactly; seconds or minutes otherwise."""
    seconds = int(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    if seconds >= 60:
        minutes = -(-seconds // 60)  # rounded up: never promise less time than there is
        return f"{minutes} minutes"
    return f"{seconds} second{'' if seconds == 1 else 's'}"
