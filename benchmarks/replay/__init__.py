"""The incident replay: the example apps with their bugs, on real servers, guard off and on.

Run from the repo root::

    python -m benchmarks.replay --quick            # under 3 minutes
    python -m benchmarks.replay --json replay.json # >= 2,000 requests per run

It starts the example apps (``examples/``) under uvicorn (ASGI; 1 and 2 workers)
and gunicorn (WSGI; sync and gthread workers, 2 workers), each bug with the guard
off and on; many simulated browsers, each with its own cookie jar and its own
known data, send their traffic on 127.0.0.1 only; every response is classified
by the client (:mod:`._classify`): correct, leak, blocked, false block, server
error. With 2 workers, one worker is restarted mid-run. Every server is started
and stopped by the harness (process groups, also on Ctrl-C).

Modules: :mod:`._http` (client, cookie jar), :mod:`._classify` (the truth),
:mod:`._run` (browsers and the traffic of each bug), :mod:`._proxy` (the shared
cache of ``shared-cache``), :mod:`._servers` (processes), :mod:`._apps` (what the
servers import: the example apps plus the harness plumbing), :mod:`._cli`.
"""
