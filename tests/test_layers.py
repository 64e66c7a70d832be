"""Imports run one way, top to bottom (DESIGN.md "Layout"): cli → server → app/dispatch → routes | edge → http →
events, redirects, privacy → pipeline → sinks → config. A tracked event can be followed from the socket to the
sink without an import that runs back up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tracker"
TOP = {"tracker.cli", "tracker.server", "tracker.app", "tracker.dispatch", "tracker.runtime"}
RULES = {
    "tracker.http": TOP | {"tracker.routes", "tracker.edge"},
    "tracker.routes": TOP | {"tracker.edge"},
    "tracker.edge": TOP | {"tracker.routes"},
    **{
        lower: TOP | {"tracker.http", "tracker.routes", "tracker.edge"}
        for lower in ("tracker.events", "tracker.redirects", "tracker.privacy", "tracker.pipeline", "tracker.sinks")
    },
    "tracker.config": TOP | {"tracker.http", "tracker.routes", "tracker.edge", "tracker.pipeline", "tracker.events"},
}


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_no_import_runs_back_up(module: str, path: Path) -> None:
    for layer, forbidden in RULES.items():
        if within(module, layer):
            wrong = sorted(n for n in imports(path) if any(within(n, f) for f in forbidden) and not within(n, layer))
            assert not wrong, f"{module} imports {wrong}"


def test_only_the_server_builds_the_app() -> None:
    users = [m for m, path in modules() if "tracker.app" in imports(path) and not within(m, "tracker.server")]
    assert users == []
