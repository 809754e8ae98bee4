"""Example apps guarded by respguard, each with switchable bugs that replay the incidents.

- :mod:`examples.customers`: the framework-neutral shop (fake customers, sessions,
  the bug switches, the guard configuration);
- :mod:`examples.flask_app` and :mod:`examples.starlette_app`: the same routes on
  Flask (WSGI) and Starlette (ASGI).

Serve them with real servers::

    RESPGUARD_EXAMPLE_BUG=shared-state uvicorn --factory examples.starlette_app:app_from_env
    RESPGUARD_EXAMPLE_BUG=shared-state gunicorn 'examples.flask_app:app_from_env()'
"""
