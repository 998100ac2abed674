"""The README's screenshots can be refreshed: each is in docs/screenshots/, and a browser test saves it.

A plain test (no browser): the browser tests' screenshot(...) and screenshot_in_place(...) calls are read from their
source, and the file names they save under var/screenshots/ are compared with the images README.md shows.
"""

import ast
from pathlib import Path

import pytest

from tests.e2e.conftest import VIEWPORTS
from tests.e2e.docs_screenshots import DOCS, copy_screenshots, readme_screenshots

E2E = Path(__file__).resolve().parent


def _literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def saved_by_the_browser_tests() -> set[str]:
    """The var/screenshots/ file names that the tests' screenshot calls save (those whose arguments are literals)."""
    saved = set()
    for path in sorted(E2E.glob("test_*.py")):
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
                continue
            arguments = {keyword.arg: keyword.value for keyword in call.keywords}
            if call.func.id == "screenshot" and len(call.args) >= 2:
                name = _literal(call.args[1])
                sizes = _literal(arguments["sizes"]) if "sizes" in arguments else tuple(VIEWPORTS)
            elif call.func.id == "screenshot_in_place" and len(call.args) >= 3:
                name, sizes = _literal(call.args[1]), (_literal(call.args[2]),)
            else:
                continue
            if isinstance(name, str) and sizes:
                saved.update(f"{name}-{size}.png" for size in sizes)
    return saved


def test_every_readme_screenshot_is_in_docs_and_saved_by_a_browser_test():
    shown = readme_screenshots()
    assert len(shown) >= 10
    absent = [name for name in shown if not (DOCS / name).is_file()]
    assert absent == [], f"README.md shows images that are not in docs/screenshots/: {absent}"
    saved = saved_by_the_browser_tests()
    assert "patient-home-phone.png" in saved  # the reading of the calls works
    unsaved = [name for name in shown if name not in saved]
    assert unsaved == [], f"No browser test saves these, so `make screenshots` cannot refresh them: {unsaved}"


def test_copying_names_the_missing_screenshots_and_copies_nothing_then(tmp_path):
    source, target = tmp_path / "var", tmp_path / "docs"
    source.mkdir()
    (source / "a-phone.png").write_bytes(b"a")

    assert copy_screenshots(["a-phone.png", "b-desktop.png"], source, target) == ["b-desktop.png"]
    assert not target.exists()

    assert copy_screenshots(["a-phone.png"], source, target) == []
    assert (target / "a-phone.png").read_bytes() == b"a"


def test_only_the_screenshots_section_counts(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "# App\n![](docs/screenshots/logo.png)\n## Screenshots\n| ![](docs/screenshots/x-phone.png) |"
        " ![](docs/screenshots/x-desktop.png) ![](docs/screenshots/x-phone.png)\n## What is where\n"
        "![](docs/screenshots/other.png)\n"
    )
    assert readme_screenshots(readme) == ["x-phone.png", "x-desktop.png"]
    readme.write_text("# App\n")
    with pytest.raises(ValueError, match="no '## Screenshots' section"):
        readme_screenshots(readme)
