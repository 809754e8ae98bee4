"""One build's in-process table, in its own interpreter: ``python -m benchmarks._inprocess_worker``.

:func:`benchmarks.builds.run_builds` starts it in the build's directory (see
:mod:`benchmarks.builds`); it checks that the respguard it imported is the build it was asked to
measure, runs :func:`benchmarks.inprocess.run_inprocess`, prints the cells as JSON on stdout and
its progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._inprocess_worker")
    parser.add_argument("--build", required=True, choices=("pure", "compiled"))
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--bodies", help="comma-separated body names (default: all)")
    args = parser.parse_args(argv)

    import respguard

    from .bodies import all_bodies
    from .builds import current_build
    from .inprocess import run_inprocess

    if current_build() != args.build:
        print(f"benchmarks: asked for the {args.build} build, imported {current_build()} from {respguard.__file__}",
              file=sys.stderr)
        return 2
    bodies = all_bodies()
    if args.bodies:
        wanted = args.bodies.split(",")
        bodies = [b for b in bodies if b.name in wanted]

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    cells = run_inprocess(args.rounds, args.quick, bodies=bodies, log=log)
    json.dump({"build": args.build, "respguard": respguard.__file__, "cells": [c.row() for c in cells]}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
