"""A real browser as the oracle: Chromium reads a table of adversarial responses.

A small WSGI server on 127.0.0.1 serves each case raw (``/raw/<id>``) and through respguard
(``/guarded/<id>``), and a harness page whose script, for every case, records what
``fetch().text()``, ``fetch().json()``, an ``EventSource`` and an iframe's rendered document
(``data-owner`` attributes, ``innerText``) give it. Headless Chromium loads the harness once
(``--dump-dom``) and the results are read from the dumped DOM (``/guarded/<id>`` is read only
where the raw response showed Chromium any owner or address). Then, per case:

- ``test_model_agrees_with_chromium``: the reader model (``tests/reader_model.py``) predicts
  what Chromium read; this is what makes the model worth trusting in the property tests;
- ``test_respguard_blocks_what_chromium_sees``: on both stacks, whenever Chromium saw a foreign
  owner (or more than 20 addresses), the guarded response is the block page, or a stream cut
  before the foreign event; and Chromium itself reading ``/guarded/<id>`` sees no foreign owner;
- ``test_own_data_passes``: cases that carry only the requester's data go through unchanged;
- ``test_model_agrees_on_drawn_responses``: the model also agrees on DRAWN_COUNT responses the
  property tests' generator draws (fixed seed), so their oracle is checked on their own ground.

Skipped, saying why, only when no Chromium can be found or run (``.ci/run`` installs Debian's
``chromium``), or when ``RESPGUARD_NO_BROWSER`` is set. The model alone still judges the same
table in ``tests/test_reader_model.py``.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import html5lib
import pytest
import reader_model
from conftest import BLOCK_BODY, SECRET, GuardedStack, Reply
from ids import ALICE, NUMERIC

from respguard import HtmlAttribute, JsonKeys, WSGIMiddleware, set_requester

EXTRACTOR_KEYS = ("user_id", "owner_id")
BULK_THRESHOLD = 20


def guard_kwargs() -> dict[str, Any]:
    """The guard under test, as the README configures it (token API: no binding across cases)."""
    return {
        "secret_key": SECRET,
        "extractors": [JsonKeys(*EXTRACTOR_KEYS), HtmlAttribute()],
        "bind_sessions": False,
    }


@dataclass(frozen=True)
class Case:
    """One adversarial response: what the app sends, and for whom."""

    id: str
    headers: tuple[tuple[str, str], ...]
    chunks: tuple[bytes, ...]
    requester: str = ALICE
    #: a correct Content-Length (False: the body is close-delimited, like a stream)
    content_length: bool = True
    #: the response carries only the requester's data: it must pass unchanged
    must_pass: bool = False
    #: where Chromium reads less than the standards say (the model keeps the standard's,
    #: stricter reading; the agreement test then checks that the model sees at least as much)
    chromium_reads_less: str = ""

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def stream(self) -> bool:
        """Read record by record as it arrives (an event stream, JSON lines without a length)."""
        mime = reader_model.extract_mime_type(self.headers)
        if mime is None:
            return False
        if mime.essence == "text/event-stream":
            return True
        return not self.content_length and (
            mime.essence in reader_model.JSON_LINES_TYPES or mime.subtype.endswith("+json-seq")
        )


def _ct(value: str) -> tuple[str, str]:
    return ("Content-Type", value)


JSON_CT = _ct("application/json")
HTML_CT = _ct("text/html; charset=utf-8")
SSE_CT = _ct("text/event-stream")
FOREIGN_JSON = b'{"user_id": "bob-9c2e", "name": "Bob"}'
FOREIGN_P = b'<p data-owner="bob-9c2e">Bob\'s card</p>'
ESC_JIS, ESC_ASCII = b"\x1b$B", b"\x1b(B"


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _case(id: str, headers: Iterable[tuple[str, str]], *chunks: bytes, **kw: Any) -> Case:  # noqa: A002
    return Case(id, tuple(headers), tuple(chunks), **kw)


def _emails_html(template: str, n: int = 25) -> bytes:
    items = "".join(f"<li>{template.format(n=i)}</li>" for i in range(n))
    return f"<!doctype html><ul>{items}</ul>".encode()


_PAD = b"<!-- " + b"x" * 1100 + b" -->"

CASES: tuple[Case, ...] = (
    # --- Content-Type as Fetch extracts it
    _case("ct-bogus-comma-json", [_ct("bogus, application/json")], b'{"user_id": "bob-9c2e", "note": "\xff"}'),
    _case("ct-two-headers", [_ct("bogus"), JSON_CT], FOREIGN_JSON),
    _case("ct-json-then-html", [_ct("application/json, text/html")], FOREIGN_P),
    _case("ct-html-then-plain", [_ct("text/html, text/plain")], FOREIGN_P),
    _case("ct-star-star", [_ct("*/*")], FOREIGN_P),
    _case(
        "ct-quoted-invalid",
        [_ct('"text/html"')],
        FOREIGN_P,
        chromium_reads_less="Chromium doesn't sniff a Content-Type with a '/' that fails to parse (Fetch: sniff)",
    ),
    _case("ct-html-comma-bogus", [_ct("text/html, bogus")], FOREIGN_P),
    _case(
        "ct-charset-carry-over",
        [_ct("text/html; charset=iso-2022-jp"), _ct("text/html")],
        b"<p \x1b(Bdata-owner=bob-9c2e>",
    ),
    _case("ct-image-png", [_ct("image/png")], FOREIGN_JSON),
    # --- JSON as fetch().json() reads it
    _case("json-as-html-invalid-byte", [HTML_CT], b'{"user_id": "bob-9c2e", "x": "\xff\xfe"}'),
    _case("json-utf8-bom", [JSON_CT], b"\xef\xbb\xbf" + FOREIGN_JSON),
    _case("json-bom-as-text-plain", [_ct("text/plain")], b"\xef\xbb\xbf" + FOREIGN_JSON),
    _case("json-deep-nesting", [JSON_CT], b"[" * 3000 + b'{"user_id": "bob-9c2e"}' + b"]" * 3000),
    _case("json-numeric-8.0", [JSON_CT], b'{"user_id": 8812345.0}', requester=NUMERIC, must_pass=True),
    _case("json-numeric-8e0", [JSON_CT], b'{"user_id": 8812345e0}', requester=NUMERIC, must_pass=True),
    _case("json-numeric-881234.5e1", [JSON_CT], b'{"user_id": 881234.5e1}', requester=NUMERIC, must_pass=True),
    _case("json-numeric-fraction", [JSON_CT], b'{"user_id": 8812345.5}', requester=NUMERIC),
    _case("json-nested-list", [JSON_CT], b'{"user_id": [["bob-9c2e"]]}'),
    _case("json-escaped-key", [JSON_CT], b'{"user\\u005fid": "bob-9c2e"}'),
    _case("json-escaped-value", [JSON_CT], b'{"owner_id": "\\u0062ob-9c2e"}'),
    _case("json-duplicate-last-foreign", [JSON_CT], b'{"user_id": "alice-7f3a", "user_id": "bob-9c2e"}'),
    _case(
        "json-utf16-bom",
        [_ct("application/json; charset=utf-16")],
        b"\xff\xfe" + FOREIGN_JSON.decode().encode("utf-16-le"),
    ),
    _case("json-no-ct-whitespace", [], b"\n\t  \r\n" + FOREIGN_JSON),
    _case("json-no-ct-bom", [], b"\xef\xbb\xbf" + FOREIGN_JSON),
    _case("json-nan-literal", [JSON_CT], b'{"user_id": "bob-9c2e", "n": NaN}'),
    _case("json-numeric-infinity", [JSON_CT], b'{"user_id": 1e400}', requester=NUMERIC),
    _case("json-two-boms", [JSON_CT], b"\xef\xbb\xbf\xef\xbb\xbf" + FOREIGN_JSON),
    _case("json-form-feed", [JSON_CT], b"\x0c" + FOREIGN_JSON),
    _case("json-object-under-key", [JSON_CT], b'{"owner_id": {"user_id": "bob-9c2e"}}'),
    _case("json-own", [JSON_CT], b'{"user_id": "alice-7f3a", "items": [{"owner_id": "alice-7f3a"}]}', must_pass=True),
    # --- charsets browsers honour (WHATWG labels, the prescan)
    _case("html-cp037", [_ct("text/html; charset=cp037")], FOREIGN_P),
    _case(
        "html-utf7-hidden-requester", [_ct("text/html; charset=utf-7")], b'<p data-owner="+AGEAbABpAGMAZQ--7f3a">x</p>'
    ),
    _case(
        "html-utf16-bom-under-latin1",
        [_ct("text/html; charset=iso-8859-1")],
        b"\xff\xfe" + FOREIGN_P.decode().encode("utf-16-le"),
    ),
    _case("html-utf16le-header", [_ct("text/html; charset=utf-16le")], FOREIGN_P.decode().encode("utf-16-le")),
    _case("html-utf8-bom-under-utf16", [_ct("text/html; charset=utf-16")], b"\xef\xbb\xbf" + FOREIGN_P),
    _case("html-x-user-defined", [_ct("text/html; charset=x-user-defined")], b'<p data-owner="bob-9c2e">\xe9</p>'),
    _case(
        "html-2022jp-header-escape", [_ct("text/html; charset=iso-2022-jp")], b'<p \x1b(Bdata-owner="bob-9c2e">x</p>'
    ),
    _case(
        "html-2022jp-meta-escape",
        [_ct("text/html")],
        b'<meta charset="iso-2022-jp"><p \x1b(Bdata-owner="bob-9c2e">x</p>',
    ),
    _case(
        "html-2022jp-http-equiv",
        [_ct("text/html")],
        b'<meta http-equiv="Content-Type" content="text/html; charset=iso-2022-jp">'
        b'<p \x1b(Bdata-owner="bob-9c2e">x</p>',
    ),
    _case(
        "html-2022jp-meta-in-comment",
        [_ct("text/html")],
        b'<!-- <meta charset="iso-2022-jp"> --><p x ' + ESC_JIS + b' data-owner="bob-9c2e" ' + ESC_ASCII + b">x</p>",
    ),
    _case(
        "html-2022jp-meta-after-1024",
        [_ct("text/html")],
        b"<html><head>" + _PAD + b'<meta charset="iso-2022-jp"></head><body><p \x1b(Bdata-owner="bob-9c2e">x</p>',
    ),
    _case(
        "html-2022jp-meta-in-body-late",
        [_ct("text/html")],
        b"<html><body>" + _PAD + b'<meta charset="iso-2022-jp"><p \x1b(Bdata-owner="bob-9c2e">x</p>',
        chromium_reads_less="Chromium keeps its encoding at a late <meta charset> in body (the standard changes it)",
    ),
    _case(
        "html-meta-x-user-defined",
        [_ct("text/html")],
        b'<meta charset="x-user-defined"><p data-owner="bob-9c2e">\xe9</p>',
    ),
    _case("html-replacement-label", [_ct("text/html; charset=iso-2022-kr")], FOREIGN_P),
    _case("html-meta-utf16", [_ct("text/html")], b'<meta charset="utf-16le"><p data-owner="bob-9c2e">x</p>'),
    _case(
        "html-utf16le-xml-declaration",
        [_ct("text/html")],
        ('<?xml version="1.0"?><html><body>' + FOREIGN_P.decode() + "</body></html>").encode("utf-16-le"),
    ),
    _case(
        "html-utf16be-xml-declaration",
        [_ct("text/html")],
        ('<?xml version="1.0"?><html><body>' + FOREIGN_P.decode() + "</body></html>").encode("utf-16-be"),
    ),
    _case("html-quoted-charset-param", [_ct('text/html; charset="utf-16le"')], FOREIGN_P.decode().encode("utf-16-le")),
    _case(
        "html-first-charset-param-wins",
        [_ct("text/html; charset=utf-16le; charset=utf-8")],
        FOREIGN_P.decode().encode("utf-16-le"),
    ),
    _case(
        "html-charset-carry-utf16",
        [_ct("text/html; charset=utf-16le, text/html")],
        FOREIGN_P.decode().encode("utf-16-le"),
    ),
    _case(
        "html-utf16be-header-le-bom",
        [_ct("text/html; charset=utf-16be")],
        b"\xff\xfe" + FOREIGN_P.decode().encode("utf-16-le"),
    ),
    _case(
        "html-gbk-four-byte",
        [_ct("text/html; charset=gbk")],
        b'<p title="\x81\x30\x81\x30" data-owner="bob-9c2e">x</p>',
    ),
    # --- attributes as the WHATWG tokenizer reads them
    _case("attr-upper-case", [HTML_CT], b'<P DATA-OWNER="bob-9c2e">x</P>'),
    _case("attr-space-before-eq", [HTML_CT], b"<p data-owner =bob-9c2e>x</p>"),
    _case("attr-newlines", [HTML_CT], b'<p\ndata-owner\n=\n"bob-9c2e"\n>x</p>'),
    _case("attr-duplicate-first-wins", [HTML_CT], b'<p data-owner="bob-9c2e" data-owner="alice-7f3a">x</p>'),
    _case("attr-duplicate-own-first", [HTML_CT], b'<p data-owner="alice-7f3a" data-owner="bob-9c2e">x</p>'),
    _case("attr-entity-decimal", [HTML_CT], b'<p data-owner="&#98;ob-9c2e">x</p>'),
    _case("attr-entity-unquoted-hex", [HTML_CT], b"<p data-owner=&#x62;ob&#x2D;9c2e>x</p>"),
    _case("attr-after-slash", [HTML_CT], b'<p/data-owner="bob-9c2e">x</p>'),
    _case("attr-after-quoted-value", [HTML_CT], b'<p title="x"data-owner="bob-9c2e">x</p>'),
    _case("attr-single-quotes", [HTML_CT], b"<p data-owner='bob-9c2e'>x</p>"),
    _case("attr-in-svg", [HTML_CT], b'<svg><g data-owner="bob-9c2e"></g></svg>'),
    _case("attr-after-abrupt-comment", [HTML_CT], b'<!--> <p data-owner="bob-9c2e">x</p> -->'),
    _case("attr-after-bang-comment-end", [HTML_CT], b'<!-- a --!> <p data-owner="bob-9c2e">x</p> -->'),
    _case("attr-in-script", [HTML_CT], b"<script>var t = '<p data-owner=\"bob-9c2e\">';</script>"),
    _case("attr-in-template", [HTML_CT], b'<template><p data-owner="bob-9c2e">x</p></template>'),
    _case("attr-in-comment", [HTML_CT], b'<!-- <p data-owner="bob-9c2e"> -->'),
    _case("attr-in-textarea", [HTML_CT], b'<textarea><p data-owner="bob-9c2e"></textarea>'),
    _case("attr-in-noscript", [HTML_CT], b'<noscript><p data-owner="bob-9c2e"></noscript>'),
    _case("attr-unterminated-tag", [HTML_CT], b'<p data-owner="bob-9c2e"'),
    _case("attr-nul-in-name", [HTML_CT], b'<p data-owner\x00="bob-9c2e" data\x00-owner="carol-51d0">x</p>'),
    _case("attr-in-math", [HTML_CT], b'<math><mi data-owner="bob-9c2e">x</mi></math>'),
    _case("attr-entity-upper-hex", [HTML_CT], b'<p data-owner="&#X62;ob-9c2e">x</p>'),
    _case("attr-after-html-end", [HTML_CT], b'<html><body></body></html><p data-owner="bob-9c2e">x</p>'),
    _case("attr-in-plaintext", [HTML_CT], b'<plaintext><p data-owner="bob-9c2e">x</p>'),
    _case("attr-in-xmp", [HTML_CT], b'<xmp><p data-owner="bob-9c2e"></xmp>'),
    _case("attr-named-entity-no-semicolon", [HTML_CT], b'<p data-owner="bob&amp-9c2e">x</p>'),
    _case("html-own", [HTML_CT], b'<!doctype html><p data-owner="alice-7f3a">mine</p>', must_pass=True),
    # --- MIME sniffing (no or no valid Content-Type)
    _case("sniff-ws-then-p", [], b"\n\n \t" + FOREIGN_P),
    _case("sniff-doctype", [], b"<!DOCTYPE html>" + FOREIGN_P),
    _case("sniff-span", [], b'<span data-owner="bob-9c2e">x</span>'),
    _case("sniff-nosniff-no-type", [("X-Content-Type-Options", "nosniff")], FOREIGN_P),
    _case("sniff-nosniff-text-plain", [_ct("text/plain"), ("X-Content-Type-Options", "nosniff")], FOREIGN_P),
    _case("sniff-octet-stream", [_ct("application/octet-stream")], FOREIGN_P),
    _case(
        "xml-xhtml",
        [_ct("application/xhtml+xml")],
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p data-owner="bob-9c2e">x</p></body></html>',
    ),
    _case("xml-svg", [_ct("image/svg+xml")], b'<svg xmlns="http://www.w3.org/2000/svg" data-owner="bob-9c2e"></svg>'),
    _case(
        "xml-xhtml-malformed-after",
        [_ct("application/xhtml+xml")],
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p data-owner="bob-9c2e">x</p><br></body></html>',
    ),
    # --- a page's type as Chromium renders it (attack 13): sniffed XML, text/xsl
    _case(
        "sniff-xml-title",
        [],
        b'<?xml version="1.0"?><r xmlns="http://www.w3.org/1999/xhtml">'
        b'<title><p data-owner="bob-9c2e">x</p></title></r>',
    ),
    _case(
        "sniff-xml-entity",
        [_ct("bogus")],
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "<p xmlns=\'http://www.w3.org/1999/xhtml\' '
        b"data-owner='bob-9c2e'>x</p>\">]><r>&e;</r>",
    ),
    _case("xml-xsl", [_ct("text/xsl")], b'<r xmlns="http://www.w3.org/1999/xhtml"><p data-owner="bob-9c2e">x</p></r>'),
    _case(
        "xml-xsl-own",
        [_ct("text/xsl")],
        b'<r xmlns="http://www.w3.org/1999/xhtml"><p data-owner="alice-7f3a">x</p></r>',
        must_pass=True,
    ),
    # --- event streams (HTML standard)
    _case(
        "sse-lf-crlf",
        [SSE_CT],
        b'data: {"user_id": "alice-7f3a"}\n\r\ndata: {"user_id": "bob-9c2e"}\n\n',
        content_length=False,
    ),
    _case(
        "sse-cr-only",
        [SSE_CT],
        b'data: {"user_id": "alice-7f3a"}\r\rdata: {"user_id": "bob-9c2e"}\r\r',
        content_length=False,
    ),
    _case("sse-bom", [SSE_CT], b'\xef\xbb\xbfdata: {"user_id": "bob-9c2e"}\n\n', content_length=False),
    _case("sse-no-space", [SSE_CT], b'data:{"user_id":"bob-9c2e"}\n\n', content_length=False),
    _case("sse-data-split-lines", [SSE_CT], b'data: {"user_id":\ndata: "bob-9c2e"}\n\n', content_length=False),
    _case("sse-event-type", [SSE_CT], b'event: update\ndata: {"user_id": "bob-9c2e"}\n\n', content_length=False),
    _case(
        "sse-cr-lf-split-chunks",
        [SSE_CT],
        b'data: {"user_id": "alice-7f3a"}\r',
        b'\n\r\ndata: {"user_id": "bob-9c2e"}\r',
        b"\n\r\n",
        content_length=False,
    ),
    _case(
        "sse-charset-ignored",
        [_ct("text/event-stream; charset=utf-16")],
        b'data: {"user_id": "bob-9c2e"}\n\n',
        content_length=False,
        chromium_reads_less="Chromium's EventSource refuses a charset but UTF-8 (the HTML standard ignores it)",
    ),
    _case("sse-bare-data-field", [SSE_CT], b'data\ndata: {"user_id": "bob-9c2e"}\n\n', content_length=False),
    _case(
        "sse-bogus-comma-type",
        [_ct("bogus, text/event-stream")],
        b'data: {"user_id": "bob-9c2e"}\n\n',
        content_length=False,
    ),
    _case(
        "sse-gzip",
        [SSE_CT, ("Content-Encoding", "gzip")],
        _gzip(b'data: {"user_id": "bob-9c2e"}\n\n'),
        content_length=False,
    ),
    _case("sse-two-boms", [SSE_CT], b'\xef\xbb\xbf\xef\xbb\xbfdata: {"user_id": "bob-9c2e"}\n\n', content_length=False),
    _case("sse-unterminated-last", [SSE_CT], b'data: {"user_id": "bob-9c2e"}\n', content_length=False),
    _case(
        "sse-event-type-crlf", [SSE_CT], b'event: update\r\ndata: {"user_id": "bob-9c2e"}\r\n\r\n', content_length=False
    ),
    _case(
        "sse-comment-then-data", [SSE_CT], b':\xef\xbb\xbf ok\ndata: {"user_id": "bob-9c2e"}\n\n', content_length=False
    ),
    _case("sse-own", [SSE_CT], b'data: {"user_id": "alice-7f3a"}\n\n', content_length=False, must_pass=True),
    # --- JSON lines and text sequences
    _case(
        "ndjson-invalid-byte",
        [_ct("application/x-ndjson")],
        b'{"user_id": "alice-7f3a"}\n',
        b'{"user_id": "bob-9c2e", "x": "\xff"}\n',
        content_length=False,
    ),
    _case(
        "jsonseq-rs-only",
        [_ct("application/json-seq")],
        b'\x1e{"user_id": "alice-7f3a"}\x1e{"user_id": "bob-9c2e"}',
        content_length=False,
    ),
    _case(
        "ndjson-cr-only",
        [_ct("application/x-ndjson")],
        b'{"user_id": "alice-7f3a"}\r{"user_id": "bob-9c2e"}\r',
        content_length=False,
    ),
    _case("ndjson-with-length", [_ct("application/jsonl")], b'{"user_id": "alice-7f3a"}\n{"user_id": "bob-9c2e"}\n'),
    # --- content codings
    _case("gzip-json", [JSON_CT, ("Content-Encoding", "gzip")], _gzip(FOREIGN_JSON)),
    _case(
        "gzip-two-members",
        [JSON_CT, ("Content-Encoding", "gzip")],
        _gzip(b'{"a": 1, ') + _gzip(b'"user_id": "bob-9c2e"}'),
        chromium_reads_less="Chromium reads only the first gzip member (other clients read them all)",
    ),
    _case("gzip-html", [HTML_CT, ("Content-Encoding", "gzip")], _gzip(FOREIGN_P)),
    _case("deflate-raw-html", [HTML_CT, ("Content-Encoding", "deflate")], _raw_deflate(FOREIGN_P)),
    _case("gzip-twice", [JSON_CT, ("Content-Encoding", "gzip, gzip")], _gzip(_gzip(FOREIGN_JSON))),
    # --- many people's addresses, as rendered
    _case("emails-wbr", [HTML_CT], _emails_html("person{n}<wbr>@example.com")),
    _case("emails-entity", [HTML_CT], _emails_html("person{n}&#64;example.com")),
    _case("emails-span-split", [HTML_CT], _emails_html("person{n}<span>@</span>example.com")),
    _case("emails-comment-split", [HTML_CT], _emails_html("person{n}<!-- x -->@example<!-- -->.com")),
    _case(
        "emails-json-escaped",
        [JSON_CT],
        json.dumps([f"person{i}\\u0040example.com" for i in range(25)]).replace("\\\\", "\\").encode(),
    ),
    _case(
        "emails-ndjson-length",
        [_ct("application/x-ndjson")],
        b"".join(b'{"e": "person%d@example.com"}\n' % i for i in range(25)),
    ),
)

#: Cases respguard gets wrong (verified by running them), with the reason, per stack ("*" for
#: both): each is a strict xfail until its fix lands. Empty: respguard withholds every case
#: Chromium reads as foreign, and passes every own one.
KNOWN_GAPS: dict[str, str] = {}
#: Own-data cases respguard refuses (false blocks), verified; strict xfails likewise.
KNOWN_FALSE_BLOCKS: dict[str, str] = {}


def _gap(case: Case, stack: str) -> str | None:
    return KNOWN_GAPS.get(f"{case.id}@{stack}") or KNOWN_GAPS.get(f"{case.id}@*")


# ------------------------------------------------------------------ the test server

_BY_ID = {c.id: c for c in CASES}
#: How many responses of the property tests' generator Chromium also reads (drawn deterministically).
DRAWN_COUNT = 60
_DRAWN: list[Case] = []


def drawn_cases() -> list[Case]:
    """The first DRAWN_COUNT responses ``tests/test_reader_model.py`` draws, with a fixed seed."""
    from hypothesis import HealthCheck, given, settings
    from test_reader_model import Drawn, drawn_responses

    out: list[Case] = []

    @settings(max_examples=DRAWN_COUNT, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(drawn_responses())
    def collect(d: Drawn) -> None:
        out.append(dataclasses.replace(d.as_case(), id=f"drawn-{len(out)}"))

    collect()
    return out


def _raw_app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    case = _BY_ID[environ["PATH_INFO"].rsplit("/", 1)[-1]]
    headers = list(case.headers)
    if case.content_length:
        headers.append(("Content-Length", str(len(case.body))))
    start_response("200 OK", headers)
    yield from case.chunks


def _inner_app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    case = _BY_ID[environ["PATH_INFO"].rsplit("/", 1)[-1]]
    set_requester(environ, case.requester)
    return _raw_app(environ, start_response)


HARNESS_JS = r"""
const KEYS = ["user_id", "owner_id"];
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
function ownersOf(v, out) {
  const todo = [v];
  while (todo.length) {
    const n = todo.pop();
    if (Array.isArray(n)) { for (const x of n) todo.push(x); }
    else if (n !== null && typeof n === "object") {
      for (const [k, x] of Object.entries(n)) {
        if (KEYS.includes(k)) {
          const items = [x];
          while (items.length) {
            const i = items.pop();
            if (Array.isArray(i)) { for (const y of i) items.push(y); }
            else if (i !== null && i !== "") out.add(String(i));
          }
        }
        todo.push(x);
      }
    }
  }
}
function emailsOf(v, out) {
  const todo = [v];
  while (todo.length) {
    const n = todo.pop();
    if (typeof n === "string") { for (const m of n.match(EMAIL) || []) out.add(m.toLowerCase()); }
    else if (Array.isArray(n)) { for (const x of n) todo.push(x); }
    else if (n !== null && typeof n === "object") {
      for (const [k, x] of Object.entries(n)) { todo.push(k); todo.push(x); }
    }
  }
}
function tryParse(t) { try { return [true, JSON.parse(t)]; } catch (e) { return [false, null]; } }
function sse(url) {
  return new Promise(resolve => {
    const out = [];
    let es;
    try { es = new EventSource(url); } catch (e) { resolve(out); return; }
    let done = false;
    const finish = () => { if (!done) { done = true; es.close(); resolve(out); } };
    es.onmessage = e => out.push(["message", e.data]);
    es.addEventListener("update", e => out.push(["update", e.data]));
    es.onerror = finish;
    setTimeout(finish, 4000);
  });
}
function frame(url) {
  return new Promise(resolve => {
    const f = document.createElement("iframe");
    f.style.width = "900px"; f.style.height = "700px";
    let done = false;
    const finish = out => { if (!done) { done = true; f.remove(); resolve(out); } };
    f.onload = () => {
      const out = {};
      try {
        const d = f.contentDocument;
        out.contentType = d.contentType;
        out.charset = d.characterSet;
        out.owners = [...d.querySelectorAll("[data-owner]")].map(e => e.getAttribute("data-owner"));
        out.text = d.body ? d.body.innerText : (d.documentElement ? d.documentElement.textContent : "");
      } catch (e) { out.error = String(e); }
      finish(out);
    };
    setTimeout(() => finish({timeout: true}), 4000);
    f.src = url;
    document.body.appendChild(f);
  });
}
async function readCase(url) {
  const r = {};
  try { const resp = await fetch(url); r.status = resp.status; r.text = await resp.text(); }
  catch (e) { r.text = null; }
  r.jsonOk = false; r.jsonOwners = []; r.jsonEmails = [];
  try {
    const v = await (await fetch(url)).json();
    const owners = new Set(), emails = new Set();
    ownersOf(v, owners); emailsOf(v, emails);
    r.jsonOk = true; r.jsonOwners = [...owners]; r.jsonEmails = [...emails];
  } catch (e) {}
  const lineOwners = new Set(), lineEmails = new Set();
  for (const piece of (r.text || "").split(/[\r\n\x1e]+/)) {
    if (!piece.trim()) continue;
    const [ok, v] = tryParse(piece);
    if (ok) { ownersOf(v, lineOwners); emailsOf(v, lineEmails); }
  }
  r.lineOwners = [...lineOwners]; r.lineEmails = [...lineEmails];
  r.events = await sse(url);
  const eventOwners = new Set(), eventEmails = new Set();
  for (const [, data] of r.events) {
    const [ok, v] = tryParse(data);
    if (ok) { ownersOf(v, eventOwners); emailsOf(v, eventEmails); }
  }
  r.eventOwners = [...eventOwners]; r.eventEmails = [...eventEmails];
  r.frame = await frame(url);
  r.frameEmails = [...new Set(((r.frame.text || "").match(EMAIL) || []).map(m => m.toLowerCase()))];
  return r;
}
(async () => {
  const results = {};
  const queue = CASE_IDS.map(id => "raw/" + id);
  async function worker() {  // a few at once: Chromium keeps 6 connections per host
    while (queue.length) {
      const key = queue.shift();
      try { results[key] = await readCase("/" + key); }
      catch (e) { results[key] = {harnessError: String(e)}; continue; }
      const r = results[key];
      const seen = r.jsonOwners.length + r.lineOwners.length + r.eventOwners.length
        + (r.frame.owners || []).length + r.jsonEmails.length + r.frameEmails.length + r.lineEmails.length;
      if (key.startsWith("raw/") && seen) queue.push("guarded/" + key.slice(4));  // what respguard let through
    }
  }
  await Promise.all([worker(), worker(), worker()]);
  const out = document.getElementById("results");
  out.textContent = JSON.stringify(results);
  out.setAttribute("data-done", "1");
})();
"""


def _harness_page() -> bytes:
    ids = json.dumps(list(_BY_ID))
    script = HARNESS_JS.replace("CASE_IDS", ids)
    head = '<!doctype html><meta charset="utf-8"><title>oracle</title>'
    return f'{head}<pre id="results"></pre><script>{script}</script>'.encode()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _server_app() -> Any:
    guarded = WSGIMiddleware(_inner_app, **guard_kwargs())

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path == "/harness":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")])
            return [_harness_page()]
        if path.startswith("/raw/") and path[5:] in _BY_ID:
            return _raw_app(environ, start_response)
        if path.startswith("/guarded/") and path[9:] in _BY_ID:
            return guarded(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return app


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(url: str) -> tuple[str | None, str]:
    """``(dumped DOM, why not)`` for ``url`` in headless Chromium."""
    binary = find_chromium()
    if binary is None:
        return None, "chromium is not installed (apt-get install -y chromium)"
    with tempfile.TemporaryDirectory(prefix="respguard-chromium-") as profile:
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--no-proxy-server",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=600000",
            "--dump-dom",
            url,
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return None, f"chromium could not run: {type(error).__name__}"
    if done.returncode != 0 or b"<pre" not in done.stdout:
        return None, f"chromium could not run (exit {done.returncode})"
    return done.stdout.decode("utf-8", "replace"), ""


def _results_from_dom(dom: str) -> dict[str, Any]:
    root = html5lib.parse(dom, treebuilder="etree", namespaceHTMLElements=False)
    for element in root.iter("pre"):
        if element.get("id") == "results":
            assert element.get("data-done") == "1", "the harness did not finish within Chromium's time budget"
            parsed: dict[str, Any] = json.loads(element.text or "{}")
            return parsed
    raise AssertionError("no results in the dumped DOM")


@pytest.fixture(scope="module")
def chromium() -> dict[str, Any]:
    """What Chromium read from every case, raw and guarded (one browser run for the module)."""
    if os.environ.get("RESPGUARD_NO_BROWSER"):
        pytest.skip("RESPGUARD_NO_BROWSER is set")
    if find_chromium() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    if not _DRAWN:
        _DRAWN.extend(drawn_cases())
        _BY_ID.update((c.id, c) for c in _DRAWN)
    server = make_server("127.0.0.1", 0, _server_app(), server_class=_ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dom, why = run_chromium(f"http://127.0.0.1:{server.server_port}/harness")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    if dom is None:
        pytest.skip(why)
    return _results_from_dom(dom)


# ------------------------------------------------------------------ what Chromium saw


@dataclass
class Reading:
    """Chromium's reading of one response, in the reader model's terms."""

    owners: set[str]
    emails: set[str]
    raw: dict[str, Any]


def chromium_reading(result: dict[str, Any], case: Case) -> Reading:
    assert "harnessError" not in result, result
    mime = reader_model.extract_mime_type(case.headers)
    lines = mime is not None and (mime.essence in reader_model.JSON_LINES_TYPES or mime.subtype.endswith("+json-seq"))
    owners = set(result["jsonOwners"]) | set(result["eventOwners"]) | set(result["frame"].get("owners") or [])
    emails = set(result["jsonEmails"]) | set(result["eventEmails"]) | set(result["frameEmails"])
    if lines:
        owners |= set(result["lineOwners"])
        emails |= set(result["lineEmails"])
    return Reading(owners, emails, result)


def _foreign(owners: Iterable[str], requester: str) -> set[str]:
    return {o for o in owners if o != requester}


def _model_lines(text: str | None) -> tuple[set[str], set[str]]:
    owners: set[str] = set()
    emails: set[str] = set()
    for record in reader_model.json_lines(text or ""):
        owners |= reader_model.json_owners(record)
        for string in reader_model.json_strings(record):
            emails |= reader_model.emails_in(string)
    return owners, emails


# ------------------------------------------------------------------ the tests


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_model_agrees_with_chromium(chromium: dict[str, Any], case: Case) -> None:
    """The reader model predicts every reader's view that Chromium reports."""
    assert_model_agrees(chromium["raw/" + case.id], case)


def test_model_agrees_on_drawn_responses(chromium: dict[str, Any]) -> None:
    """The model also agrees with Chromium on responses the property tests draw (so their oracle holds)."""
    assert len(_DRAWN) >= DRAWN_COUNT // 2
    disagreements = []
    for case in _DRAWN:
        try:
            assert_model_agrees(chromium["raw/" + case.id], case)
        except AssertionError as error:
            disagreements.append(f"{case.headers} {case.body[:120]!r}: {str(error).splitlines()[0]}")
    assert not disagreements, "\n".join(disagreements)


def assert_model_agrees(got: dict[str, Any], case: Case) -> None:
    model = reader_model.read(200, case.headers, case.body)
    reading = chromium_reading(got, case)
    if case.chromium_reads_less:
        assert reading.owners < model.owners or reading.emails < model.emails
        assert reading.owners <= model.owners and reading.emails <= model.emails
        return
    assert got["text"] == model.text
    assert got["jsonOk"] == model.parsed
    if model.parsed:
        assert set(got["jsonOwners"]) == reader_model.json_owners(model.value)
    lines, line_emails = _model_lines(model.text)
    assert set(got["lineOwners"]) == lines
    assert set(got["lineEmails"]) == line_emails
    assert [tuple(e) for e in got["events"]] == model.event_list
    assert set(got["eventOwners"]) == model.events
    frame = got["frame"]
    assert sorted(frame.get("owners") or []) == sorted(model.html)
    if frame.get("contentType") is not None:  # None: not rendered (a download)
        assert frame["contentType"] == model.rendered
    if model.rendered in reader_model.HTML_TYPES:
        assert frame["contentType"] == "text/html"
        if model.encoding_source != "default":  # the default is the browser's own (Chromium: the parent's)
            assert frame["charset"].lower() == model.encoding
    assert reading.owners == model.owners
    assert reading.emails == model.emails


def _stacks() -> list[Any]:
    params = []
    for case in CASES:
        for stack in ("asgi", "wsgi"):
            reason = _gap(case, stack)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(case, stack, id=f"{case.id}-{stack}", marks=marks))
    return params


def guarded_result(case: Case, stack: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """The case through respguard on ``stack`` (driven by hand, the case's own chunking)."""
    guarded = GuardedStack(stack, **guard_kwargs())
    guarded.inner_lint = False
    reply = Reply(
        headers=case.headers, chunks=case.chunks, requester=case.requester, content_length=case.content_length
    )
    result = guarded.send(reply, outer_lint=False)
    return result.status, result.headers, result.body


def is_block(status: int, body: bytes) -> bool:
    return status == 403 and body == BLOCK_BODY


def assert_withheld(case: Case, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    """Blocked whole, or (a stream) cut before anything foreign: the model reads nothing foreign in it."""
    if is_block(status, body):
        return
    assert case.stream, f"not blocked: {status} {body[:80]!r}"
    assert status == 200
    seen = reader_model.read(status, headers, body)
    assert not seen.foreign(case.requester), "a foreign event reached the client"
    assert len(seen.emails) <= BULK_THRESHOLD


@pytest.mark.parametrize(("case", "stack"), _stacks())
def test_respguard_blocks_what_chromium_sees(chromium: dict[str, Any], case: Case, stack: str) -> None:
    """Whatever Chromium reads as another person's data, respguard withholds; Chromium confirms it."""
    reading = chromium_reading(chromium["raw/" + case.id], case)
    if not _foreign(reading.owners, case.requester) and len(reading.emails) <= BULK_THRESHOLD:
        return  # nothing foreign to a real reader: no claim here (see test_own_data_passes)
    status, headers, body = guarded_result(case, stack)
    assert_withheld(case, status, headers, body)
    if stack == "wsgi":  # what the browser's server ran
        behind = chromium_reading(chromium["guarded/" + case.id], case)
        assert not _foreign(behind.owners, case.requester)
        assert len(behind.emails) <= BULK_THRESHOLD


def _own_cases() -> list[Any]:
    params = []
    for case in CASES:
        if case.must_pass:
            reason = KNOWN_FALSE_BLOCKS.get(case.id)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.extend(pytest.param(case, stack, id=f"{case.id}-{stack}", marks=marks) for stack in ("asgi", "wsgi"))
    return params


@pytest.mark.parametrize(("case", "stack"), _own_cases())
def test_own_data_passes(chromium: dict[str, Any], case: Case, stack: str) -> None:
    """A response with only the requester's data reaches the client unchanged, as Chromium reads it."""
    reading = chromium_reading(chromium["raw/" + case.id], case)
    assert reading.owners <= {case.requester}
    status, _headers, body = guarded_result(case, stack)
    assert (status, body) == (200, case.body)
