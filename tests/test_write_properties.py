"""Issue 10: a property test of the write check against the frameworks' own parsers.

Hypothesis generates multipart, urlencoded and JSON write bodies, in many spellings. The
framework then parses each one as the app would: Werkzeug's ``Request`` (``form``, ``files``,
``get_json(silent=True, force=True)``) for the WSGI stack, Starlette's ``Request`` (``form()``,
``json()``) plus Pydantic's lax coercion to ``int`` (FastAPI's model fields) for the ASGI stack.
Whenever that parse names an owner other than the requester, the write must be refused by the
middleware and the handler must never run.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ids import BOB, NUMERIC
from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from test_write_middleware import WriteApp, login_cookie, send_write
from werkzeug.test import create_environ
from werkzeug.wrappers import Request as WerkzeugRequest

OWN = NUMERIC
KEY = "customer_id"
_INT = TypeAdapter(int)

VALUES: list[Any] = [OWN, int(OWN), BOB, "1", 1, True, False, 1.0, float(OWN), "", None, "0" + OWN, " " + OWN]
TEXT_VALUES = [OWN, BOB, "1", "", "0" + OWN, " " + OWN, "true", OWN + "\u00e9"]


def foreign(value: Any) -> bool:
    """Does a value the app reads name someone else (as a str, or as Pydantic's lax int)?"""
    if value is None or value == "":
        return False
    if isinstance(value, list):
        return any(foreign(v) for v in value)
    if isinstance(value, str) and value != OWN:
        return True
    try:
        return bool(_INT.validate_python(value) != int(OWN))
    except ValidationError:
        return not (isinstance(value, str) and value == OWN)


def values_at_any_depth(document: Any) -> list[Any]:
    found: list[Any] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == KEY:
                    found.append(value)
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


# ------------------------------------------------------------------ what the frameworks read


def werkzeug_reads(content_type: str | None, body: bytes) -> list[Any]:
    environ = create_environ("/api/card", method="POST", data=body, content_type=content_type)
    request = WerkzeugRequest(environ)
    try:
        request.get_data(cache=True)  # first, as a view that reads both the form and get_json(force=True)
        read: list[Any] = list(request.form.getlist(KEY))
        read += [f.read().decode("utf-8", "replace") or "file" for f in request.files.getlist(KEY)]
        document = request.get_json(silent=True, force=True)
        if document is not None:
            read += values_at_any_depth(document)
        return read
    finally:
        request.close()


def starlette_reads(content_type: str | None, body: bytes) -> list[Any]:
    headers = [] if content_type is None else [(b"content-type", content_type.encode("latin-1"))]
    scope = {"type": "http", "method": "POST", "path": "/api/card", "headers": headers, "query_string": b""}

    async def read() -> list[Any]:
        sent = [False]

        async def receive() -> dict[str, Any]:
            if not sent[0]:
                sent[0] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        request = Request(scope, receive)
        found: list[Any] = []
        await request.body()
        try:
            form = await request.form()
            for value in form.getlist(KEY):
                found.append(value if isinstance(value, str) else (await value.read()).decode("utf-8", "replace"))
        except Exception:  # Starlette answers 400: nothing written
            pass
        finally:
            await request.close()
        try:
            found += values_at_any_depth(json.loads(body))  # request.json(), whatever the type
        except (ValueError, RecursionError):
            pass
        return found

    return asyncio.run(read())


# ------------------------------------------------------------------ bodies

DISPOSITIONS = [
    'form-data; name="{name}"',
    "form-data; name={name}",
    "form-data; name*=utf-8''{name}",
    'form-data; NAME="{name}"',
    'form-data;name="{name}"',
    'form-data; name="{name}"; filename="f.txt"',
    'form-data; filename="f.txt"; name="{name}"',
    'form-data; name="note"; name="{name}"',
    'form-data; name="{name}"; name="note"',
    'form-data; name="{name}"\r\nContent-Type: text/plain; charset=iso-8859-1',
]
NAMES = [KEY, "note", "customer_id ", "Customer_id", "customer%5Fid"]


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    parts = draw(
        st.lists(
            st.tuples(st.sampled_from(DISPOSITIONS), st.sampled_from(NAMES), st.sampled_from(TEXT_VALUES)),
            min_size=1,
            max_size=4,
        )
    )
    boundary = draw(st.sampled_from(["XyZ", "----b0und", "a b"]))
    quoted = draw(st.booleans()) or " " in boundary
    line = draw(st.sampled_from(["\r\n", "\r\n", "\n"]))
    body = ""
    for disposition, name, value in parts:
        header = disposition.format(name=name).replace("\r\n", line)
        body += f"--{boundary}{line}Content-Disposition: {header}{line}{line}{value}{line}"
    body += f"--{boundary}--{line}"
    content_type = (
        f'multipart/form-data; boundary="{boundary}"' if quoted else f"multipart/form-data; boundary={boundary}"
    )
    return content_type, body.encode("utf-8")


@st.composite
def urlencoded_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    keys = ["customer_id", "customer%5Fid", "customer_id%20", "customer+id", "note", "customer_id[]"]
    pairs = draw(st.lists(st.tuples(st.sampled_from(keys), st.sampled_from(TEXT_VALUES)), min_size=1, max_size=4))
    separator = draw(st.sampled_from(["&", "&", ";"]))
    body = separator.join(f"{k}={v.replace(' ', '+')}" for k, v in pairs)
    return "application/x-www-form-urlencoded", body.encode("utf-8")


json_values = st.sampled_from(VALUES) | st.lists(st.sampled_from(VALUES), max_size=3)
json_documents = st.recursive(
    st.dictionaries(st.sampled_from([KEY, "note", "order"]), json_values, max_size=3),
    lambda inner: st.dictionaries(
        st.sampled_from([KEY, "order", "items"]), inner | st.lists(inner, max_size=2), max_size=3
    ),
    max_leaves=6,
)


@st.composite
def json_bodies(draw: st.DrawFn) -> tuple[str | None, bytes]:
    document = draw(json_documents)
    text = json.dumps(document)
    if draw(st.booleans()) and f'"{KEY}"' in text:  # a repeated key in one object
        text = text.replace("{", '{"' + KEY + '": "' + draw(st.sampled_from(TEXT_VALUES)) + '", ', 1)
    content_type = draw(
        st.sampled_from(["application/json", "text/plain", None, "application/octet-stream", "application/x+json"])
    )
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "utf-32"]))
    return content_type, draw(st.sampled_from(["", " ", "\r\n"])).encode() + text.encode(encoding)


bodies = multipart_bodies() | urlencoded_bodies() | json_bodies()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_a_body_the_framework_reads_as_foreign_is_refused(kind: str, body: tuple[str | None, bytes]) -> None:
    content_type, raw = body
    read = werkzeug_reads(content_type, raw) if kind == "wsgi" else starlette_reads(content_type, raw)
    if not any(foreign(value) for value in read):
        return
    app = WriteApp()
    status, _, out, events = send_write(kind, app, body=raw, content_type=content_type, cookie=COOKIE)
    assert app.writes == []  # the handler never ran
    assert status == 403 and out.startswith(b"Forbidden")
    assert [e.action.value for e in events] == ["blocked"]
    assert events[0].kind.value in ("cross_owner_write", "scan_error")


COOKIE = login_cookie(OWN)
