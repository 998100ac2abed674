"""The hazard log (docs/clinical-safety.md) names tests that exist, and every hazard names at least one."""

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "docs" / "clinical-safety.md"
TEST_NAME = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
CODE_NAME = re.compile(r"`([\w/]+\.py)::(\w+)`")


@cache
def _defined(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(
        node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    )


def _hazard_rows() -> list[str]:
    return [line for line in LOG.read_text(encoding="utf-8").splitlines() if re.match(r"\| H-\d+ \|", line)]


def test_every_test_the_hazard_log_names_exists():
    names = TEST_NAME.findall(LOG.read_text(encoding="utf-8"))
    assert len(names) > 20
    missing = [f"{path}::{name}" for path, name in names if not (ROOT / path).exists() or name not in _defined(path)]
    assert missing == []


def test_every_function_the_hazard_log_names_as_a_control_exists():
    controls = [(path, name) for path, name in CODE_NAME.findall(LOG.read_text(encoding="utf-8"))]
    controls = [(path, name) for path, name in controls if not path.startswith("tests/")]
    assert len(controls) > 10
    missing = [f"{path}::{name}" for path, name in controls if not (ROOT / path).exists() or name not in _defined(path)]
    assert missing == []


def test_every_hazard_has_an_id_of_its_own_causes_controls_and_tests():
    rows = _hazard_rows()
    ids = [row.split("|")[1].strip() for row in rows]
    assert len(ids) == len(set(ids)) >= 13
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 6, row[:80]  # id, hazard, causes, controls, tests, severity / likelihood
        assert all(cells), row[:80]
        assert TEST_NAME.search(cells[4]), f"{cells[0]} names no test"
