"""setuptools' build backend, asking for mypy only when ``RESPGUARD_COMPILE=1`` compiles the core.

A pure install (the default) needs setuptools alone; the compiled one needs mypyc, which ships
inside mypy. Everything else is setuptools' own backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F403  (the rest of the PEP 517/660 hooks, unchanged)

#: What compiling needs beyond setuptools (mypyc is part of mypy).
COMPILE_REQUIRES = ["mypy>=1.11"]


def _compile_requires() -> list[str]:
    return COMPILE_REQUIRES if os.environ.get("RESPGUARD_COMPILE", "") == "1" else []


@contextmanager
def _asking_requirements() -> Iterator[None]:
    """setuptools runs setup.py to list requirements, before mypy is installed: setup.py then
    leaves the extensions out (it reads ``RESPGUARD_BUILD_REQUIRES``)."""
    os.environ["RESPGUARD_BUILD_REQUIRES"] = "1"
    try:
        yield
    finally:
        del os.environ["RESPGUARD_BUILD_REQUIRES"]


def get_requires_for_build_wheel(config_settings: dict[str, object] | None = None) -> list[str]:
    with _asking_requirements():
        return [*build_meta.get_requires_for_build_wheel(config_settings), *_compile_requires()]


def get_requires_for_build_editable(config_settings: dict[str, object] | None = None) -> list[str]:
    with _asking_requirements():
        return [*build_meta.get_requires_for_build_editable(config_settings), *_compile_requires()]
