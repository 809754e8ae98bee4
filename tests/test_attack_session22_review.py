"""Review findings, session 22 (review of attackQ's fixes in ``respguard._write``).

1. **A charset label whose lookup raises ValueError.** ``codecs.lookup`` raises ``ValueError`` for a
   label with an embedded NUL (``charset*=utf-8''%00x``: RFC 2231 decodes ``%00``); the write check
   caught only ``LookupError`` (and ``UnicodeError``/``TypeError`` at some sites), so the error escaped
   the refusal of an ambiguous form and ``read_owners``' catch-all logged a ``scan_error`` whose path
   held the raw id (``/api/notes/bob-9c2e``). Fixed (``_write._codec``): one lookup of a charset label
   for every site, ``None`` for any label it can't read.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import BLOCK_BODY, assert_block, assert_no_raw_ids, kinds
from ids import BOB
from test_write_middleware import MP, WriteApp, login_cookie, multipart, part, send_write
from werkzeug.test import create_environ

from respguard import _write

B = BOB.encode()


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _django_post(content_type: str, body: bytes, query: str = "") -> dict[str, list[str]]:
    """What a Django view reads as ``request.POST``."""
    import test_django  # noqa: F401  (configures Django once per process)
    from django.core.handlers.wsgi import WSGIRequest

    request = WSGIRequest(
        create_environ("/api/card", method="POST", data=body, content_type=content_type, query_string=query)
    )
    return {key: request.POST.getlist(key) for key in request.POST}


def _drf_data(content_type: str, body: bytes, query: str = "") -> object:
    """What a DRF view reads as ``request.data`` (DRF's default parsers)."""
    import test_django  # noqa: F401
    from django.core.handlers.wsgi import WSGIRequest
    from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
    from rest_framework.request import Request

    request = WSGIRequest(
        create_environ("/api/card", method="POST", data=body, content_type=content_type, query_string=query)
    )
    return Request(request, parsers=[JSONParser(), FormParser(), MultiPartParser()]).data


def _refused(kind: str, body: bytes, content_type: str, reason: str, event: str = "cross_owner_write", **kw: Any):
    app = WriteApp()
    status, headers, out, events = send_write(
        kind, app, body=body, content_type=content_type, cookie=login_cookie(), **kw
    )
    assert app.writes == []
    assert_block(status, headers, out)
    assert (status, out) == (403, BLOCK_BODY)
    assert kinds(events) == [(event, "blocked")]
    assert events[0].reason == reason
    assert_no_raw_ids(events)
    return events


def _runs(kind: str, body: bytes, content_type: str, **kw: Any) -> None:
    app = WriteApp()
    status, _, out, events = send_write(kind, app, body=body, content_type=content_type, cookie=login_cookie(), **kw)
    assert (status, out, events) == (200, b"written", [])
    assert len(app.writes) == 1


# ------------------------------------------------------------------ 1. a label whose lookup raises ValueError


@pytest.mark.parametrize("suffix", ["; charset*=utf-8''%00x", '; charset="a\x00b"'], ids=repr)
def test_a_charset_label_with_a_nul_leaves_the_refusal_redacted(kind: str, suffix: str) -> None:
    body = multipart(part('form-data; name=" customer_id"', B))
    events = _refused(kind, body, MP + suffix, _write.AMBIGUOUS_NAME, path=f"/api/notes/{BOB}")
    assert events[0].path == "/api/notes/{id}"


def test_a_charset_label_with_a_nul_beside_a_query_is_no_scan_error(kind: str) -> None:
    _runs(kind, b'{"customer_id": "alice-7f3a"}', "application/json; charset*=utf-8''%00x", query="q=1")
