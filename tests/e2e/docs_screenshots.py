"""Refresh the README's screenshots from the browser tests' output: `python -m tests.e2e.docs_screenshots`.

`make screenshots` runs the browser tests (which write only under var/screenshots/) and then this: every
`docs/screenshots/<name>.png` that README.md's Screenshots section shows is copied from `var/screenshots/<name>.png`.
Nothing else in docs/screenshots/ is touched. If the tests did not produce one of them, nothing is copied and the
missing ones are named.
"""

import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs" / "screenshots"
REFERENCE = re.compile(r"docs/screenshots/([\w.-]+\.png)")


def var_screenshots() -> Path:
    """Where the browser tests save screenshots: settings.VAR_DIR / "screenshots" (VAR_DIR, default var/)."""
    return Path(os.environ.get("VAR_DIR", ROOT / "var")) / "screenshots"


def readme_screenshots(readme: Path = README) -> list[str]:
    """The file names of the docs/screenshots/ images in the README's "## Screenshots" section, in order."""
    text = readme.read_text(encoding="utf-8")
    section = re.search(r"^## Screenshots\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    if section is None:
        raise ValueError(f"{readme} has no '## Screenshots' section")
    return list(dict.fromkeys(REFERENCE.findall(section.group(1))))


def copy_screenshots(names: list[str], source: Path, target: Path) -> list[str]:
    """Copy each named PNG from `source` to `target`; copies nothing and returns the missing names if any are."""
    missing = [name for name in names if not (source / name).is_file()]
    if missing:
        return missing
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(source / name, target / name)
    return []


def main() -> int:
    names = readme_screenshots()
    source = var_screenshots()
    missing = copy_screenshots(names, source, DOCS)
    if missing:
        sys.stderr.write(
            f"README.md shows {len(missing)} screenshot(s) that the browser tests did not save in {source}: "
            f"{', '.join(missing)}. Run the browser tests first (`make screenshots` does), or rename the image in "
            "README.md to one that a screenshot(...) call in tests/e2e saves.\n"
        )
        return 1
    sys.stdout.write(f"Copied {len(names)} screenshots from {source} to {DOCS}.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
