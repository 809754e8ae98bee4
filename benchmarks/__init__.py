"""respguard's benchmark suite: ``python -m benchmarks [--quick] [--builds pure,compiled] [--json PATH]``.

Run it from the repo root.

Every comparison is measured side by side in one run: variants are interleaved
round by round, each round gives a ratio to ``bare``, and the suite reports the
median of the per-round figures. Absolute times on a shared machine mean little;
the ratios are what the README quotes.

Modules: :mod:`.bodies` (the response bodies), :mod:`.apps` (the Starlette and
Flask apps in every variant, respguard's and its peers'), :mod:`.inprocess` (raw ASGI / WSGI drivers),
:mod:`.builds` (the pure and the compiled build, each measured by :mod:`._inprocess_worker`),
:mod:`.scan` (scan throughput and peak memory), :mod:`.servers` (uvicorn and
gunicorn under a bounded loopback load), :mod:`.report` (table, JSON, plot).
"""
