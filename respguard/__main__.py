"""The ``respguard`` command (also ``python -m respguard``).

Commands:

- ``respguard demo [--json]``: replay incident 1 on both example apps, without and
  with the guard, and print what reached the clients (see :mod:`respguard.demo`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = """usage: respguard <command> [options]

commands:
  demo    replay incident 1 on the example apps, without and with respguard
          (respguard demo --help for its options)
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from . import __version__

        print(f"respguard {__version__}")
        return 0
    if args[0] == "demo":
        from .demo import main as demo_main

        return demo_main(args[1:])
    print(f"respguard: unknown command {args[0]!r}\n\n{USAGE}", end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
