"""respguard's build: pure Python by default; ``RESPGUARD_COMPILE=1`` compiles the core with mypyc.

The compiled modules are built from the same sources (the pure ones stay the reference). The
framework adapters (Flask, Starlette, Django, the pytest plugin) and the demo stay pure: they
import the frameworks, and their cost is the framework's, not respguard's.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

#: Modules left pure: ``__init__`` (it reports which build runs), the adapters that import a
#: framework, and the command line.
PURE = {
    "__init__",
    "__main__",
    "demo",
    "django",
    "_django_owners",
    "flask",
    "pytest_plugin",
    "starlette",
    # Start-up configuration: each option is checked and a bad one named in a ValueError, which
    # a compiled signature would pre-empt with its own bare TypeError (per request, only small
    # lookups run here; the inbound rules run on writes alone).
    "_guard",
    "_routes",
    "_inbound",
}


def compiled_modules(root: Path = Path()) -> list[str]:
    """The core's source files, relative to ``root``, in a stable order (the build is reproducible)."""
    package = root / "respguard"
    return sorted(str(path.relative_to(root)) for path in package.glob("*.py") if path.stem not in PURE)


def ext_modules() -> list[object]:
    if os.environ.get("RESPGUARD_COMPILE", "") != "1" or os.environ.get("RESPGUARD_BUILD_REQUIRES") == "1":
        return []  # pure; or the backend is only listing requirements (mypy comes after)
    try:
        from mypyc.build import mypycify  # the build backend asked for mypy when RESPGUARD_COMPILE=1
    except ImportError:
        raise SystemExit("RESPGUARD_COMPILE=1 needs mypyc: install mypy>=1.11 (or build with isolation)") from None

    # multi_file: one C file per module, so ``build_ext -j`` compiles them side by side.
    return list(mypycify(compiled_modules(), opt_level="3", multi_file=True))


if __name__ == "__main__":  # as setuptools runs it (tests import the module list)
    # build_ext compiles the C files side by side, one per core.
    setup(ext_modules=ext_modules(), options={"build_ext": {"parallel": os.cpu_count() or 1}})
