"""Marking the clinical rules' words for translation without importing Django (the rules stay pure).

`gettext_noop` returns its text unchanged; Django's `makemessages` finds the name and puts the text in the
catalogue. The words are translated where they are shown (forms, views, the text modules such as
`recovery.phase_text`), in the reader's language.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal


def gettext_noop(message: str) -> str:
    """Mark `message` for the translation catalogue; it is translated where it is shown."""
    return message


# --- messages stored as a code plus values (alert reasons, the eligibility checklist) -------------------------
#
# A rule that writes a sentence for staff returns a `Message`: the English msgid (marked with gettext_noop, with
# %(name)s placeholders) and its values. The caller stores `Message.as_json()` beside the English rendering
# (`Message.english()`, kept for the audit and the API) and shows it in the reader's language with `render`,
# passing its layer's gettext and number formatting. A value is one of:
#
# * a str or an int: put in as it is (names, dates written as ISO, whole numbers, a signed Day such as "+5");
# * `Number("38.4")`: a decimal number as the rule wrote it, shown with the reader's decimal mark;
# * a `Message`: translated in turn (symptom names, phase words, a clause);
# * `Joined(items, separator)`: values rendered in turn and joined (a list of symptoms).


@dataclass(frozen=True)
class Number:
    """A decimal number as the rule wrote it (e.g. "38.4", "0.3"); `render` gives it the reader's decimal mark,
    and with `grouped` the reader's thousands separator ("12,000" in English, "12 000" in Swedish)."""

    text: str
    grouped: bool = False


@dataclass(frozen=True)
class Joined:
    """Values shown one after another with `separator` between them."""

    items: tuple
    separator: str = "; "


@dataclass(frozen=True)
class Message:
    """A sentence as a msgid plus values (see above)."""

    msgid: str
    values: Mapping[str, object] = field(default_factory=dict)

    def as_json(self) -> dict:
        """The stored form: {"id": msgid, "values": {...}} (only JSON types)."""
        return {"id": self.msgid, "values": {name: to_json(value) for name, value in self.values.items()}}

    def english(self) -> str:
        """The sentence in English with "." as the decimal mark (the stored `reason`, the API's words)."""
        return render(self.as_json())


def to_json(value: object) -> object:
    """A message value in its stored form (a `Message`, `Joined` or `Number`, or a str or int as it is)."""
    if isinstance(value, Message):
        return value.as_json()
    if isinstance(value, Number):
        return {"n": value.text, "g": True} if value.grouped else {"n": value.text}
    if isinstance(value, Joined):
        return {"join": [to_json(item) for item in value.items], "sep": value.separator}
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"a message value must be str, int, Number, Message or Joined, not {type(value).__name__}")
    return value


def _same(text: str) -> str:
    return text


def _english_number(text: str, grouped: bool) -> str:
    return format(Decimal(text), ",f") if grouped else text


def render(
    data: Mapping, translate: Callable[[str], str] = _same, number: Callable[[str, bool], str] = _english_number
) -> str:
    """A stored message (`Message.as_json()`) as words: `translate` is the caller's gettext, `number` writes a
    decimal number given as text ("38.4") and whether to group its thousands, in the reader's way. The defaults
    give the English."""
    values = {name: render_value(value, translate, number) for name, value in (data.get("values") or {}).items()}
    text = translate(data["id"])
    return text % values if values else text


def render_value(
    value: object, translate: Callable[[str], str] = _same, number: Callable[[str, bool], str] = _english_number
) -> str:
    """A stored value (`to_json`) as words, as `render` writes it."""
    if isinstance(value, Mapping):
        if "n" in value:
            return number(value["n"], bool(value.get("g")))
        if "join" in value:
            return value.get("sep", "; ").join(render_value(item, translate, number) for item in value["join"])
        return render(value, translate, number)
    return str(value)
