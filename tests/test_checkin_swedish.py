"""Every string of the check-in's steps has its Swedish in locale/fragments/checkin.po (issue 16).

The strings are read from the source as makemessages reads them: gettext_noop / gettext / gettext_lazy calls in
the Python files, {% translate %} and {% blocktranslate %} in the templates (through Django's templatize).
"""

import ast
import re
from pathlib import Path

from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parent.parent
FRAGMENT = ROOT / "locale" / "sv" / "LC_MESSAGES" / "django.po"  # the committed catalogue, built from every fragment
PYTHON = ["recovery/clinical/symptom_questions.py", "recovery/forms/checkin.py", "recovery/views/checkin.py"]
TEMPLATES = sorted(
    str(path.relative_to(ROOT))
    for pattern in (
        "my_checkin.html",
        "my_checkin_question.html",
        "my_checkin_details.html",
        "my_checkin_answers.html",
        "_my_checkin_*.html",
    )
    for path in (ROOT / "templates" / "recovery").glob(pattern)
)
MARKERS = {"_", "gettext", "gettext_lazy", "gettext_noop"}


def po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a PO file (no plurals or contexts here)."""
    entries, key, field = {}, None, None
    parts: dict[str, list[str]] = {}
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        match = re.match(r'^(msgid|msgstr) (".*")$', line)
        if match:
            field = match.group(1)
            parts[field] = [ast.literal_eval(match.group(2))]
        elif line.startswith('"') and field:
            parts[field].append(ast.literal_eval(line))
        elif not line.strip() and parts:
            key = "".join(parts.get("msgid", []))
            entries[key] = "".join(parts.get("msgstr", []))
            parts, field = {}, None
    entries.pop("", None)
    return entries


def python_strings(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) in MARKERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def template_strings(path: Path) -> set[str]:
    code = templatize(path.read_text(encoding="utf-8"))
    return {ast.literal_eval(literal) for literal in re.findall(r"gettext\((u?'(?:[^'\\]|\\.)*')\)", code)}


def test_every_check_in_string_has_its_swedish():
    assert len(TEMPLATES) == 5
    entries = po_entries(FRAGMENT)
    wanted = set().union(
        *(python_strings(ROOT / path) for path in PYTHON), *(template_strings(ROOT / t) for t in TEMPLATES)
    )
    assert len(wanted) > 200  # the symptoms' words and the pages' own
    missing = sorted(wanted - {msgid for msgid, msgstr in entries.items() if msgstr.strip()})
    assert not missing, f"No Swedish in {FRAGMENT.name} for: {missing}"
