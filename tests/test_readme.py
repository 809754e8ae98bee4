"""Every code block of the README runs, so the contract can't drift from the code.

- ```python blocks: each runs on its own, in a fresh namespace, unless its first line is
  ``# README: continues the previous block`` (then it runs in the previous block's namespace).
  What the blocks *do* is checked by tests/test_write_readme.py and tests/test_recipes.py.
- ```json blocks: an audit event, with exactly AuditEvent's fields.
- ```sh blocks: every command exists as written (extras, console scripts, modules and their
  flags, ``module:attribute`` app factories), without running anything heavy.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from respguard import AuditEvent

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CONTINUES = "# README: continues the previous block"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[tuple[int, str]]:
    """(line number, code) of every block in that language."""
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(2)) for m in _BLOCK.finditer(text) if m.group(1) == language]


def python_groups() -> list[tuple[int, list[str]]]:
    """Blocks joined with the continuations that follow them: one namespace each."""
    groups: list[tuple[int, list[str]]] = []
    for line, code in blocks("python"):
        if code.startswith(CONTINUES):
            assert groups, f"README line {line}: a continuation with no block before it"
            groups[-1][1].append(code)
        else:
            groups.append((line, [code]))
    return groups


def test_the_readme_has_its_blocks() -> None:
    assert len(python_groups()) >= 12
    assert blocks("json") and blocks("sh")
    # ini (the pytest plugin's settings) and text (its output) are run by tests/test_pytest_plugin.py
    assert {m.group(1) for m in _BLOCK.finditer(README.read_text(encoding="utf-8"))} <= {
        "python",
        "json",
        "sh",
        "ini",
        "text",
    }


@pytest.mark.parametrize(("line", "codes"), python_groups(), ids=lambda v: f"line-{v}" if isinstance(v, int) else "")
def test_python_block_runs(line: int, codes: list[str]) -> None:
    run_blocks(f"readme_line_{line}", codes)


def run_blocks(name: str, codes: list[str]) -> dict[str, Any]:
    """Run README code as the module ``name`` (dataclasses and pickling look their module up)."""
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        for code in codes:
            exec(compile(code, f"README.md:{name}", "exec"), module.__dict__)  # noqa: S102 - the README's own code
    finally:
        del sys.modules[name]
    return module.__dict__


def test_json_blocks_are_audit_events() -> None:
    fields = {f.name for f in dataclasses.fields(AuditEvent)}
    for _, code in blocks("json"):
        event = json.loads(code)
        assert set(event) == fields
        assert event["kind"] and event["action"] and isinstance(event["counts"], dict)


# ------------------------------------------------------------------ shell commands


def _table_keys(table: str) -> set[str]:
    """The keys of one pyproject.toml table (tomllib is Python 3.11+; respguard supports 3.10)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    body = text.split(f"\n[{table}]\n", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([A-Za-z0-9_-]+) = ", body, re.M))


def commands() -> list[list[str]]:
    """Every command of every sh block (comments dropped, ``&&`` chains split, env assignments dropped)."""
    found: list[list[str]] = []
    for _, code in blocks("sh"):
        for line in code.splitlines():
            words = shlex.split(line, comments=True)
            command: list[str] = []
            for word in [*words, "&&"]:
                if word == "&&":
                    while command and re.fullmatch(r"[A-Z_]+=.*", command[0]):
                        command.pop(0)
                    if command:
                        found.append(command)
                    command = []
                else:
                    command.append(word)
    return found


def _help(module: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, (module, done.stderr[-2000:])
    return done.stdout


def _check_extras(words: list[str]) -> None:
    extras = _table_keys("project.optional-dependencies")
    for word in words:
        match = re.fullmatch(r"(?:\.|respguard)\[([\w,]+)\]", word)
        if match:
            assert set(match.group(1).split(",")) <= extras, word


def _check_factory(target: str) -> None:
    module, _, attribute = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute.removesuffix("()")))


def check(command: list[str]) -> None:
    program = Path(command[0]).name
    args = command[1:]
    if command[0].startswith(".venv/bin/"):
        assert (Path(sys.executable).parent / program).exists() or program in _table_keys("project.scripts")
    if program in ("pip", "pip3"):
        _check_extras(args)
    elif program in ("python", "python3") and args[:1] == ["-c"]:
        compile(args[1], "<README>", "exec")  # a one-liner: it parses (running it is the reader's)
    elif program in ("python", "python3") and args[:1] == ["-m"]:
        module, flags = args[1], [a.split("=", 1)[0] for a in args[2:] if a.startswith("--")]
        if module in ("venv", "pytest"):
            return
        text = _help(module)
        for flag in flags:
            assert flag in text, (module, flag)
    elif program == "respguard":
        assert program in _table_keys("project.scripts")
        text = _help("respguard")
        assert args[0] in text, args
    elif program == "uvicorn":
        _check_factory(next(a for a in args if ":" in a))
    elif program == "gunicorn":
        _check_factory(next(a for a in args if ":" in a))
    elif program == "pytest":
        plugins = _table_keys("project.entry-points.pytest11")
        assert "respguard" in plugins and all(a.startswith("-") for a in args), command
    elif program in ("ruff", "mypy"):
        for path in (a for a in args if not a.startswith("-") and a != "check"):
            assert (ROOT / path).exists(), path
    else:
        raise AssertionError(f"README command not checked: {command}")


@pytest.mark.parametrize("command", commands(), ids=lambda c: " ".join(c)[:60])
def test_shell_command_exists(command: list[str]) -> None:
    check(command)
