"""The house plan's layers, read from the source: no import cycle between the project's modules, and no import
from a lower layer to a higher one (imports inside functions included).

Layers, lowest first (README "What is where"): clinical < models < access < queries < services <
forms / api / templatetags < views. A module outside these (settings, urls, tasks, management commands,
admin, the app's own helpers at the package root) is checked for cycles only.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("recovery", "accounts")

# The layer of a module, by the start of its dotted name: the longest prefix that matches wins.
LAYERS: dict[str, int] = {
    "recovery.clinical": 0,
    "recovery.models": 1,
    "accounts.models": 1,
    "recovery.access": 2,
    "recovery.queries": 3,
    "recovery.services": 4,
    "recovery.forms": 5,
    "recovery.api": 5,
    "recovery.templatetags": 5,
    "recovery.views": 6,
    "accounts.views": 6,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The project module that `name` (a module or a name inside one) refers to, if any."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, wherever the import statement stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            resolved = _resolve(target, known)
            if resolved and resolved != name:
                found.add(resolved)
    # `from recovery.services import x` names the package, and the module x when there is one: keep the module.
    return {module for module in found if not any(other.startswith(module + ".") for other in found)} | {
        module for module in found if module in known and known[module].name != "__init__.py"
    }


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def layer(name: str) -> int | None:
    matches = [prefix for prefix in LAYERS if name == prefix or name.startswith(prefix + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_the_projects_modules():
    assert cycles(graph()) == []


def test_no_import_runs_from_a_lower_layer_to_a_higher_one():
    upward = [
        f"{source} ({layer(source)}) imports {target} ({layer(target)})"
        for source, targets in graph().items()
        for target in sorted(targets)
        if layer(source) is not None and layer(target) is not None and layer(target) > layer(source)
    ]
    assert upward == []


def test_the_checker_sees_a_cycle_and_an_upward_import():
    """The checks above would fail on a cycle and on an upward import (so they are not passing on a stub)."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert layer("recovery.services.symptoms") > layer("recovery.queries.dashboard") > layer("recovery.access")
    assert layer("recovery.clinical.triage") < layer("recovery.models")


def test_no_module_in_services_or_queries_is_over_500_lines():
    """A module that grows past 500 lines holds more than one concern: split it (issue 13)."""
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for folder in ("recovery/services", "recovery/queries")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 500
    ]
    assert long == []


def test_the_clinical_rules_import_nothing_from_django():
    """recovery/clinical holds pure rules: no ORM, no settings, no translation machinery (their words are marked
    with `recovery.clinical.words.gettext_noop` and translated where they are shown)."""
    clinical = ROOT / "recovery" / "clinical"
    found = []
    for path in sorted(clinical.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.name}: {name}" for name in names if name.split(".")[0] == "django"]
    assert found == []
