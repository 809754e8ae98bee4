"""The package's shape: no import cycles (not even type-level ones), the core imports no web
framework, and docs/design.md's state diagram is the one the code runs on."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import respguard

PACKAGE = Path(respguard.__file__).parent
ROOT = PACKAGE.parent
FRAMEWORKS = {"flask", "starlette", "fastapi", "werkzeug", "django", "flask_login"}
ADAPTER_MODULES = {"flask", "starlette", "django", "demo"}  # the framework extras, and the demo (its own extra)


def _imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports (any import, at run time or under TYPE_CHECKING)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    deps.add(node.module.split(".")[0])
                else:
                    deps.update(alias.name for alias in node.names)
        graph[path.stem] = deps
    return graph


def test_no_import_cycles() -> None:
    graph = _imports()
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for dep in sorted(graph.get(module, ())):
            if dep in path:
                cycles.append(" -> ".join([*path[path.index(dep) :], dep]))
            elif dep in graph and len(path) < len(graph):
                visit(dep, [*path, dep])

    for module in graph:
        if module != "__init__":
            visit(module, [module])
    assert cycles == []


#: The one place the core may reach into a framework's package: the WSGI write check reads a form
#: with Werkzeug's own parser (as Flask does), imported inside the function, only when it runs.
LAZY_PARSERS = {("_write", "werkzeug")}


def test_the_core_imports_no_web_framework() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.stem in ADAPTER_MODULES:
            continue
        tree = ast.parse(path.read_text())
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                root = name.split(".")[0]
                if root in FRAMEWORKS:
                    lazy = id(node) not in top_level and (path.stem, root) in LAZY_PARSERS
                    assert lazy, f"{path.name} imports {name}"


def test_the_design_diagram_is_drawn_from_the_transition_table() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from state_diagram import mermaid
    finally:
        sys.path.pop(0)
    design = (ROOT / "docs" / "design.md").read_text()
    drawn = re.search(r"```mermaid\n(.*?)\n```", design, re.S)
    assert drawn is not None and drawn.group(1) == mermaid(), "run: python docs/state_diagram.py"
