"""Property tests: no generated foreign owner ever gets through, and a response that
carries only the requester's data always passes byte-identical.

Bodies are generated (JSON documents in many serialisations, HTML with every
attribute syntax, owner headers), split into random chunks, sometimes gzipped, and
sent through both the ASGI and the WSGI middleware. The expected decision comes
from a model walk over the generated value, never from respguard's own code.
"""

from __future__ import annotations

import gzip
import html
import json
from typing import Any

import pytest
from conftest import BLOCK_BODY, GuardedStack, Reply, guard_options
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from respguard import AuditEvent, HtmlAttribute, JsonKeys, OwnerHeader
from respguard._content import BodyDecodeError
from respguard._encoding import decode as whatwg_decode

OWNER_KEYS = ("user_id", "owner_id")
PROPERTY_SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# ------------------------------------------------------------------ ids

text_ids = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=12
)
numeric_ids = st.integers(min_value=-(10**12), max_value=10**12)
ids = st.one_of(text_ids, numeric_ids, st.sampled_from(["7", "07", "7.0", "alice-7f3a", "ALICE-7F3A", "70"]))


def id_text(value: str | int) -> str:
    return str(value) if isinstance(value, int) else value


# ------------------------------------------------------------------ JSON documents

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
other_keys = st.one_of(st.text(max_size=6), st.sampled_from(["user", "id", "user_idx", "owner", "USER_ID", "name"]))


def documents(owner_values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """JSON values whose owner keys hold ``owner_values`` (or nothing/empty/null)."""
    owner_slot = st.one_of(
        owner_values,
        st.lists(owner_values, max_size=3),
        st.sampled_from([None, "", []]),
    )

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        plain = st.dictionaries(other_keys.filter(lambda k: k not in OWNER_KEYS), children, max_size=4)
        owned = st.dictionaries(st.sampled_from(OWNER_KEYS), owner_slot, min_size=1, max_size=2)
        merged = st.tuples(plain, owned).map(lambda pair: {**pair[0], **pair[1]})
        return st.one_of(st.lists(children, max_size=4), plain, merged)

    return st.recursive(scalars, extend, max_leaves=20)


def owners_of(value: Any) -> list[str]:
    """The model: every owner text a JSON value carries."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in OWNER_KEYS:
                for entry in item if isinstance(item, list) else [item]:
                    if isinstance(entry, str) and entry:
                        found.append(entry)
                    elif isinstance(entry, int) and not isinstance(entry, bool):
                        found.append(str(entry))
            found.extend(owners_of(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(owners_of(item))
    return found


serialisations = st.sampled_from(
    [
        {},
        {"ensure_ascii": False},
        {"separators": (",", ":")},
        {"separators": (",", ":"), "ensure_ascii": False},
        {"indent": 2},
        {"indent": "\t", "ensure_ascii": False},
        {"separators": (" , ", " : ")},
    ]
)


@st.composite
def chunked(draw: st.DrawFn, body: bytes) -> list[bytes]:
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=max(len(body) - 1, 1)), max_size=4)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    return [p for p in pieces if p] or [body]


_STACKS: dict[tuple[str, str], tuple[GuardedStack, list[AuditEvent]]] = {}


def stack(kind: str, events: list[AuditEvent], extractors: list[Any], **options: Any) -> _Forward:
    """A guarded stack, built once per configuration; its events go to ``events``."""
    key = (kind, repr([e.name for e in extractors]) + repr(sorted(options.items())))
    if key not in _STACKS:
        sink: list[AuditEvent] = []
        _STACKS[key] = (GuardedStack(kind, **guard_options(sink, extractors=extractors, **options)), sink)
    guarded, sink = _STACKS[key]
    sink.clear()
    return _Forward(guarded, sink, events)


class _Forward:
    """Sends through a cached stack and copies that request's events into the caller's list."""

    def __init__(self, guarded: GuardedStack, sink: list[AuditEvent], events: list[AuditEvent]) -> None:
        self.guarded, self.sink, self.events = guarded, sink, events

    def send(self, reply: Reply, **kwargs: Any) -> Any:
        got = self.guarded.send(reply, **kwargs)
        self.events.extend(self.sink)
        self.sink.clear()
        return got


def check(got_status: int, got_body: bytes, body: bytes, foreign: bool) -> None:
    if foreign:
        assert (got_status, got_body) == (403, BLOCK_BODY)
    else:
        assert (got_status, got_body) == (200, body)


# ------------------------------------------------------------------ properties


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@PROPERTY_SETTINGS
@given(data=st.data(), own=ids, fmt=serialisations, compress=st.booleans())
def test_json_foreign_owner_never_passes_own_always_does(
    kind: str, data: st.DataObject, own: str | int, fmt: dict[str, Any], compress: bool
) -> None:
    own_text = id_text(own)
    owner_values = st.one_of(st.just(own), ids) if data.draw(st.booleans()) else st.just(own)
    document = data.draw(documents(owner_values), label="document")
    body = json.dumps(document, **fmt).encode("utf-8")
    foreign = any(o != own_text for o in owners_of(document))
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    sent = body
    if compress:
        sent = gzip.compress(body, mtime=0)
        headers = (*headers, ("Content-Encoding", "gzip"))
    chunks = data.draw(chunked(sent), label="chunks")
    events: list[AuditEvent] = []
    got = stack(kind, events, [JsonKeys(*OWNER_KEYS)]).send(
        Reply(requester=own, headers=headers, chunks=chunks), cookie=""
    )
    check(got.status, got.body, sent, foreign)
    assert [e.kind.value for e in events] == (["owner_mismatch"] if foreign else [])


attribute_ids = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=12
).filter(lambda s: s.isprintable() and s == s.strip())


@st.composite
def html_attribute(draw: st.DrawFn, value: str) -> str:
    name = draw(st.sampled_from(["data-owner", "DATA-OWNER", "Data-Owner"]))
    eq = draw(st.sampled_from(["=", " = ", "="]))
    bare_ok = all(c not in value for c in " \t\n\r\f\"'=<>`&")
    style = draw(st.sampled_from(["double", "single", "bare"] if bare_ok else ["double", "single"]))
    if style == "double":
        return f'{name}{eq}"{html.escape(value, quote=True)}"'
    if style == "single":
        return f"{name}{eq}'{html.escape(value, quote=True)}'"
    return f"{name}{eq}{value}"


def browser_reads(body: bytes, charset: str) -> str | None:
    """The text a browser reads from ``body`` in ``charset`` (``None``: not provably any)."""
    try:
        return whatwg_decode(body, charset)
    except BodyDecodeError:
        return None


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@PROPERTY_SETTINGS
@given(data=st.data(), own=attribute_ids, charset=st.sampled_from(["utf-8", "utf-16", "shift_jis", "euc-jp"]))
def test_html_foreign_owner_never_passes_own_always_does(
    kind: str, data: st.DataObject, own: str, charset: str
) -> None:
    values = data.draw(st.lists(st.one_of(st.just(own), attribute_ids), max_size=5), label="owners")
    fillers = data.draw(st.lists(st.text(max_size=10), min_size=len(values) + 1, max_size=len(values) + 1))
    parts = [html.escape(fillers[0])]
    for value, filler in zip(values, fillers[1:], strict=True):
        parts.append(f"<div class=x {data.draw(html_attribute(value))}>{html.escape(filler)}</div>")
    text = "<!doctype html><body>" + "".join(parts) + "</body>"
    try:
        body = text.encode(charset)
        # Some codecs don't round-trip (shift_jis writes '¥' as 0x5C, read back as '\\'), and
        # Python's tables are not the browser's (its shift_jis writes '¬' as 0x81CA, which a
        # browser reads as U+FFE2): such a page really carries the other character, so fall back
        # to UTF-8. The browser's reading is respguard's decoder, the one the Chromium oracle checks.
        if body.decode(charset) != text or browser_reads(body, charset) != text:
            raise UnicodeEncodeError(charset, text, 0, 1, "does not round-trip")
    except UnicodeEncodeError:
        body = text.encode("utf-8")
        charset = "utf-8"
    foreign = any(v != own for v in values)
    headers = (("Content-Type", f"text/html; charset={charset}"),)
    events: list[AuditEvent] = []
    got = stack(kind, events, [HtmlAttribute()]).send(
        Reply(requester=own, headers=headers, chunks=data.draw(chunked(body))), cookie=""
    )
    check(got.status, got.body, body, foreign)


header_ids = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=10).filter(
    lambda s: "," not in s
)


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@PROPERTY_SETTINGS
@given(data=st.data(), own=header_ids)
def test_owner_header_foreign_never_passes_and_never_leaves(kind: str, data: st.DataObject, own: str) -> None:
    groups = data.draw(st.lists(st.lists(st.one_of(st.just(own), header_ids), min_size=1, max_size=3), max_size=3))
    headers = (("Content-Type", "application/octet-stream"),) + tuple(
        ("X-Data-Owner", ", ".join(group)) for group in groups
    )
    foreign = any(v != own for group in groups for v in group)
    events: list[AuditEvent] = []
    got = stack(kind, events, [OwnerHeader()]).send(
        Reply(requester=own, headers=headers, chunks=[b"\x00bin"]), cookie=""
    )
    check(got.status, got.body, b"\x00bin", foreign)
    assert all(k != "x-data-owner" for k, _ in got.headers)


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@PROPERTY_SETTINGS
@given(data=st.data(), own=ids)
def test_strict_json_decides_like_the_model_on_valid_json(kind: str, data: st.DataObject, own: str | int) -> None:
    document = data.draw(documents(st.one_of(st.just(own), ids)))
    body = json.dumps(document).encode()
    foreign = any(o != id_text(own) for o in owners_of(document))
    events: list[AuditEvent] = []
    got = stack(kind, events, [JsonKeys(*OWNER_KEYS)], strict_json=True).send(
        Reply(requester=own, headers=(("Content-Type", "application/json"),), chunks=[body]), cookie=""
    )
    check(got.status, got.body, body, foreign)
