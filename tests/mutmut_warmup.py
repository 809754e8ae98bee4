"""A pytest plugin for mutation runs only: ``[tool.mutmut]`` in pyproject.toml loads it with ``-p``.

mutmut forks one process per mutant from a server that has collected the tests once. The
session's event audit (``tests/_audit.py``) reads every string literal of respguard's source
with ``ast``: for the mutated copies that takes seconds, in every forked process. Reading
them once in the server, when pytest is configured, keeps each mutant's run short.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    here = str(Path(__file__).parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    from _audit import fixed_phrases

    fixed_phrases()
