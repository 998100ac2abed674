"""The Swedish catalogue is complete and current (issue 16 item 1).

Every string marked for translation in the source (what `make messages` extracts, found here by running
makemessages on a copy of the source) must have a Swedish translation in locale/sv/LC_MESSAGES/django.po that is
not empty, not fuzzy and has the same placeholders; and the committed django.mo must be that .po compiled, so that
`make run` needs no gettext. A failure names each string: run `make messages` and write the missing Swedish in
your locale/fragments/*.po (or in the catalogue).
"""

import ast
import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "sv" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOGUE.with_suffix(".mo")
# What `make messages` does not read (the Makefile's MESSAGES_IGNORE), and what holds no source of the django domain.
NOT_SOURCE = {".git", ".venv", "var", "tests", "bench", "docs", "static", "locale", "__pycache__", ".ruff_cache"}

NAMED = re.compile(r"%\(([^)]+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
POSITIONAL = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACES = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_po(text: str) -> list[dict]:
    """The entries of a PO file: flags, msgctxt, msgid, msgid_plural, msgstr (form -> text), obsolete."""
    entries: list[dict] = []
    entry: dict | None = None
    field: str | tuple | None = None
    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        if not line:
            if entry is not None and entry["msgid"] is not None:
                entries.append(entry)
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgctxt": None, "msgid": None, "msgid_plural": None, "msgstr": {}}
            entry["obsolete"] = False
        if line.startswith("#~"):
            entry["obsolete"] = True
            line = line[2:].strip()
            if not line:
                continue
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(field, tuple):
                entry["msgstr"][field[1]] += value
            else:
                entry[field] += value
            continue
        keyword, _, rest = line.partition(" ")
        value = ast.literal_eval(rest)
        if keyword.startswith("msgstr"):
            form = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            field = ("msgstr", form)
            entry["msgstr"][form] = value
        else:
            field = keyword
            entry[keyword] = value
    return entries


def key(entry: dict) -> tuple[str | None, str]:
    return entry["msgctxt"], entry["msgid"]


def describe(entry: dict) -> str:
    context = f" (context {entry['msgctxt']!r})" if entry["msgctxt"] else ""
    return f"{entry['msgid']!r}{context}"


def placeholders(text: str) -> tuple:
    text = text.replace("%%", "")
    return (
        tuple(sorted(NAMED.findall(text))),
        len(POSITIONAL.findall(NAMED.sub("", text))),
        tuple(sorted(BRACES.findall(text))),
    )


def catalogue_entries() -> list[dict]:
    return [entry for entry in parse_po(CATALOGUE.read_text(encoding="utf-8")) if entry["msgid"]]


def require_gettext() -> None:
    if shutil.which("msgfmt") is None or shutil.which("xgettext") is None:
        pytest.fail("GNU gettext is needed (msgfmt, xgettext): apt-get install gettext (.ci/run installs it).")


@pytest.fixture(scope="module")
def source_entries(tmp_path_factory) -> list[dict]:
    """The strings marked in the source, as `make messages` extracts them (on a copy: the catalogue is untouched)."""
    require_gettext()
    copy = tmp_path_factory.mktemp("source")
    for item in ROOT.iterdir():
        if item.name in NOT_SOURCE or item.name.startswith("."):
            continue
        if item.is_dir():
            shutil.copytree(item, copy / item.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif item.suffix in (".py", ".html", ".txt"):
            shutil.copy2(item, copy / item.name)
    (copy / "locale").mkdir()
    from django.conf import settings
    from django.test.utils import override_settings

    with pytest.MonkeyPatch.context() as patch, override_settings(LOCALE_PATHS=[copy / "locale"]):
        patch.chdir(copy)
        call_command("makemessages", locale=["sv"], no_location=True, no_wrap=True, verbosity=0)
    assert settings.LOCALE_PATHS[0] == ROOT / "locale"
    extracted = copy / "locale" / "sv" / "LC_MESSAGES" / "django.po"
    return [entry for entry in parse_po(extracted.read_text(encoding="utf-8")) if entry["msgid"]]


def test_the_source_marks_strings_for_translation(source_entries):
    """Guards the check below: an extraction that found nothing would pass it."""
    msgids = {entry["msgid"] for entry in source_entries}
    assert {"Sign in", "My recovery", "Enter the temperature as a number, for example 37.8."} <= msgids


def test_every_string_in_the_source_has_a_swedish_translation(source_entries):
    translated = {key(entry): entry for entry in catalogue_entries() if not entry["obsolete"]}
    missing = [describe(entry) for entry in source_entries if key(entry) not in translated]
    assert not missing, f"{len(missing)} strings are not in {CATALOGUE.relative_to(ROOT)}:\n" + "\n".join(missing)


def test_no_translation_is_empty():
    empty = [
        describe(entry)
        for entry in catalogue_entries()
        if not entry["obsolete"] and (not entry["msgstr"] or not all(entry["msgstr"].values()))
    ]
    assert not empty, f"{len(empty)} strings have no Swedish yet:\n" + "\n".join(empty)


def test_no_translation_is_fuzzy():
    fuzzy = [describe(entry) for entry in catalogue_entries() if "fuzzy" in entry["flags"] and not entry["obsolete"]]
    assert not fuzzy, f"{len(fuzzy)} translations are marked fuzzy (check them, then remove the flag):\n" + "\n".join(
        fuzzy
    )


def test_every_translation_has_the_same_placeholders():
    """As gettext reads the flags: a string with a python-format or python-brace-format placeholder."""
    wrong = []
    for entry in catalogue_entries():
        if entry["obsolete"] or not entry["flags"] & {"python-format", "python-brace-format"}:
            continue
        sources = [entry["msgid"]] + ([entry["msgid_plural"]] if entry["msgid_plural"] else [])
        expected = {placeholders(text) for text in sources}
        for form, text in entry["msgstr"].items():
            if text and placeholders(text) not in expected:
                wrong.append(f"{describe(entry)} form {form}: {text!r}")
    assert not wrong, "Placeholders differ between the English and the Swedish:\n" + "\n".join(wrong)


def test_gettext_accepts_the_catalogue(tmp_path):
    require_gettext()
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "check.mo"), str(CATALOGUE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def compiled_catalogue(path: Path) -> dict:
    with path.open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    return {k: v for k, v in translations._catalog.items() if k != ""}  # the header is the .mo's metadata


def test_the_committed_mo_is_the_po_compiled(tmp_path):
    require_gettext()
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(CATALOGUE)], check=True)
    assert COMPILED.exists(), f"{COMPILED.relative_to(ROOT)} is missing: run `make messages` and commit it."
    assert compiled_catalogue(COMPILED) == compiled_catalogue(fresh), (
        f"{COMPILED.relative_to(ROOT)} is older than its .po: run `make messages` (or compilemessages) and commit it."
    )


def test_placeholder_check_sees_a_mismatch():
    """The placeholder comparison above tells a renamed or lost placeholder apart."""
    assert placeholders("Due %(date)s") != placeholders("Senast %(datum)s")
    assert placeholders("%(count)d days") == placeholders("%(count)d dagar")
    assert placeholders("%s of %s") != placeholders("%s")
    assert placeholders("100%% of {n}") == placeholders("100%% av {n}")
