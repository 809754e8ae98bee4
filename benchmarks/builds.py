"""The two builds the in-process table compares: pure Python and the mypyc-compiled core.

Each build is measured in its own interpreter (:mod:`benchmarks._inprocess_worker`), started in
a directory whose ``respguard/`` is that build (the directory comes first on ``sys.path``; the
repository root, for ``benchmarks``, after it):

- the tree itself, for the build it is (``respguard.compiled``);
- otherwise, for ``compiled``, a compiled copy of the tree, built once with
  ``RESPGUARD_COMPILE=1 python setup.py -q build_ext --inplace -j 2`` into
  ``benchmarks/.compiled/compiled-<hash>`` and reused while the hash of the sources (respguard,
  the build files, the Python and mypy versions) is the same;
- otherwise, for ``pure``, a copy of ``respguard/*.py`` without the extension modules.

When the compiled build can't be had (no mypyc, no C compiler, a failing build), :func:`prepare`
answers why, and the suite reports the pure build only.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".compiled"
BUILDS = ("pure", "compiled")
#: What a compiled copy needs of the tree (setuptools reads the README named in pyproject.toml).
_TREE_FILES = ("setup.py", "pyproject.toml", "README.md", "MANIFEST.in")
BUILD_TIMEOUT = 900.0


def current_build() -> str:
    """Which build this interpreter's respguard is."""
    import respguard

    return "compiled" if respguard.compiled else "pure"


def tree_build(root: Path = ROOT) -> str:
    """Which build ``root``'s respguard is: compiled when an extension module sits beside a source."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    package = root / "respguard"
    return "compiled" if any(p.name.endswith(suffixes) for p in package.glob("_exchange.*")) else "pure"


@dataclass(frozen=True)
class Build:
    """A build ready to measure: its name, the directory to run in, and where it came from."""

    name: str
    path: Path
    origin: str


def _sources(root: Path) -> list[Path]:
    files = sorted((root / "respguard").glob("*.py")) + sorted((root / "_build_backend").glob("*.py"))
    files += [root / "respguard" / "py.typed"] + [root / name for name in _TREE_FILES]
    return [f for f in files if f.is_file()]


def source_hash(root: Path = ROOT) -> str:
    """What a compiled copy depends on: the sources and build files, the interpreter, mypy's version."""
    digest = hashlib.sha256()
    for path in _sources(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    try:
        mypy = importlib.metadata.version("mypy")
    except importlib.metadata.PackageNotFoundError:
        mypy = "none"
    digest.update(f"{sys.version}|{sysconfig.get_platform()}|mypy {mypy}".encode())
    return digest.hexdigest()[:16]


def _copy_sources(root: Path, target: Path, tree: bool) -> None:
    """``respguard/`` (sources only), and with ``tree`` the build files, into ``target``."""
    package = target / "respguard"
    package.mkdir(parents=True)
    for path in _sources(root):
        relative = path.relative_to(root)
        if not tree and relative.parts[0] != "respguard":
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / relative)


def _compiler_missing() -> str | None:
    if importlib.util.find_spec("mypyc") is None:
        return "mypyc is not installed (it ships with mypy, in the dev extra)"
    try:
        setuptools = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        setuptools = "0"
    major = re.match(r"\d+", setuptools)
    if major is None or int(major.group()) < 68:  # pyproject.toml's build-system floor
        return f"setuptools {setuptools} is older than 68 (pip install -U 'setuptools>=68')"
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")[:1]
    if not compiler or shutil.which(compiler[0]) is None:
        return f"no C compiler ({' '.join(compiler) or 'CC unset'} not found)"
    return None


def _built_build(path: Path) -> str:
    """The build the interpreter imports in ``path`` (as the worker will run there)."""
    code = "import respguard; print('compiled' if respguard.compiled else 'pure')"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=path, capture_output=True, text=True, timeout=120, check=False
    )
    return done.stdout.strip() or f"failed to import: {done.stderr.strip()[-300:]}"


def _build_compiled(target: Path, log: Callable[[str], None]) -> str | None:
    """Compile a copy of the tree into ``target``; ``None`` when done, else why not."""
    missing = _compiler_missing()
    if missing:
        return missing
    work = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    _copy_sources(ROOT, work, tree=True)
    log(f"  compiling the core with mypyc into {target.relative_to(ROOT)} (once per source hash; about 80 s)")
    started = time.monotonic()
    env = dict(os.environ, RESPGUARD_COMPILE="1")
    env.pop("RESPGUARD_BUILD_REQUIRES", None)
    command = [sys.executable, "setup.py", "-q", "build_ext", "--inplace", "-j", "2"]
    try:
        done = subprocess.run(
            command, cwd=work, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(work, ignore_errors=True)
        return f"the mypyc build took over {BUILD_TIMEOUT:.0f} s"
    if done.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        return "the mypyc build failed: " + " / ".join(tail)[-400:]
    shutil.rmtree(work / "build", ignore_errors=True)  # the C sources and objects: 40 MB, not needed
    built = _built_build(work)
    if built != "compiled":
        shutil.rmtree(work, ignore_errors=True)
        return f"the compiled copy imports as {built}"
    _settle(work, target)
    log(f"  compiled in {time.monotonic() - started:.0f} s")
    return None


def _settle(work: Path, target: Path) -> None:
    """Move ``work`` to ``target`` (unless another run got there first) and drop that build's stale copies."""
    kind = target.name.split("-", 1)[0]
    for stale in CACHE.glob(f"{kind}-*"):  # one copy per build is kept: the current sources'
        if stale not in (work, target) and ".tmp-" not in stale.name:
            shutil.rmtree(stale, ignore_errors=True)
    try:
        os.replace(work, target)
    except OSError:  # a concurrent run settled the same sources
        shutil.rmtree(work, ignore_errors=True)


def prepare(name: str, log: Callable[[str], None] = lambda s: None) -> Build | str:
    """The build ``name`` ready to run, or why it can't be had (a sentence)."""
    if name not in BUILDS:
        raise ValueError(f"unknown build {name!r}: choose from {', '.join(BUILDS)}")
    if tree_build() == name:
        return Build(name, ROOT, "this tree")
    digest = source_hash()
    target = CACHE / f"{name}-{digest}"
    if name == "pure":
        if not target.is_dir():
            work = target.with_name(f"{target.name}.tmp-{os.getpid()}")
            shutil.rmtree(work, ignore_errors=True)
            _copy_sources(ROOT, work, tree=False)
            _settle(work, target)
        return Build(name, target, f"a copy of the sources, {target.relative_to(ROOT)}")
    if (target / "respguard").is_dir():
        return Build(name, target, f"cached compiled copy, {target.relative_to(ROOT)}")
    CACHE.mkdir(parents=True, exist_ok=True)
    why = _build_compiled(target, log)
    if why is not None:
        return why
    return Build(name, target, f"compiled now, {target.relative_to(ROOT)}")


def run_worker(build: Build, rounds: int, quick: bool, bodies: str | None = None) -> list[dict[str, object]]:
    """The in-process table of ``build``, measured by a worker interpreter run in the build's directory."""
    import json

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-m", "benchmarks._inprocess_worker", "--build", build.name, "--rounds", str(rounds)]
    command += ["--quick"] if quick else []
    command += ["--bodies", bodies] if bodies else []
    # stderr (the progress lines) goes straight to ours; stdout is the JSON.
    done = subprocess.run(command, cwd=build.path, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {build.name} worker exited with {done.returncode}")
    cells: list[dict[str, object]] = json.loads(done.stdout)["cells"]
    return cells
