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


def test_no_two_function_imports_of_a_module_bind_one_name_to_two_things() -> None:
    """mypyc compiles an import inside a function as a module global: two functions importing
    ``parse_options_header`` from python-multipart and from Werkzeug made one replace the other
    mid-parse in the compiled core (every ASGI multipart write refused). Import such a name by its
    module (``werkzeug.http.parse_options_header``), or under another name."""
    clashes = []
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        top_level = {id(node) for node in tree.body}
        bound: dict[str, set[str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and id(node) not in top_level and node.module:
                for alias in node.names:
                    bound.setdefault(alias.asname or alias.name, set()).add(f"{node.module}.{alias.name}")
        clashes += [(path.name, name, sorted(sources)) for name, sources in bound.items() if len(sources) > 1]
    assert clashes == []


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


def _compiled_sources() -> list[Path]:
    """The modules ``RESPGUARD_COMPILE=1`` compiles (setup.py's list)."""
    import setup  # the repository root is on the path (pyproject's pythonpath)

    return [ROOT / name for name in setup.compiled_modules(ROOT)]


def test_no_except_name_is_reused_for_another_type_in_compiled_code() -> None:
    """mypyc gives a name one type per function: ``except A as exc`` then ``except B as exc`` makes
    a B raised there a TypeError in the compiled build (the pure one runs fine)."""
    reused = []
    for path in _compiled_sources():
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            types: dict[str, set[str]] = {}
            for node in ast.walk(function):
                if isinstance(node, ast.ExceptHandler) and node.name and node.type is not None:
                    types.setdefault(node.name, set()).add(ast.unparse(node.type))
            reused += [f"{path.name}:{function.name}:{name}" for name, seen in types.items() if len(seen) > 1]
    assert reused == []


def test_every_core_module_is_in_the_same_build() -> None:
    """A half-compiled tree (one stale ``.so``) would test neither build: all or none run compiled,
    and ``RESPGUARD_EXPECT_COMPILED=1`` (CI's compiled pass) insists on compiled."""
    import importlib
    import os
    from importlib.machinery import EXTENSION_SUFFIXES

    states = {}
    for path in _compiled_sources():
        module = importlib.import_module(f"respguard.{path.stem}")
        states[path.stem] = (module.__file__ or "").endswith(tuple(EXTENSION_SUFFIXES))
    assert set(states.values()) == {respguard.compiled}, states
    if os.environ.get("RESPGUARD_EXPECT_COMPILED") == "1":
        assert respguard.compiled
    if respguard.compiled:  # built in place: a source edited since would not be what runs
        stale = []
        for path in _compiled_sources():
            built = importlib.import_module(f"respguard.{path.stem}").__file__
            if built is not None and Path(built).stat().st_mtime < path.stat().st_mtime:
                stale.append(path.name)
        assert stale == [], "rebuild: RESPGUARD_COMPILE=1 pip install --no-deps -e ."
