"""Marking the clinical rules' words for translation without importing Django (the rules stay pure).

`gettext_noop` returns its text unchanged; Django's `makemessages` finds the name and puts the text in the
catalogue. The words are translated where they are shown (forms, views, the text modules such as
`recovery.phase_text`), in the reader's language.
"""


def gettext_noop(message: str) -> str:
    """Mark `message` for the translation catalogue; it is translated where it is shown."""
    return message
