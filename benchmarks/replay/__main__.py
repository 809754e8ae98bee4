"""``python -m benchmarks.replay [--quick] [--json PATH]``: see :mod:`benchmarks.replay`."""

from ._cli import main

raise SystemExit(main())
