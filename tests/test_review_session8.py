"""Outside review of session 8/9 (50ecbbf..8d3e7df): what it found; each test failed before its fix.

1. **A page's text runs that open like JSON and don't parse took quadratic time.** Session 8r
   reads "the document there in the page's text as it renders" with ``raw_decode(text, start)``
   at every text run that opens with ``{`` or ``[``, within a budget of four times the page.
   But a failed parse's ``JSONDecodeError`` counts the newlines of the whole text up to the
   failure (its ``lineno``/``colno``), so each of ``n`` runs that fail at once (``<b>{</b>``
   repeated: a forum post, a MediaWiki ``[edit]`` link) cost the whole text before it: 1.3 MB of
   ``<b>{</b>`` on a page that names ``user_id`` took 5.4 s of CPU (about 50 s at the 4 MiB
   default ``max_body_bytes``), charged one character each against the budget. Fixed: each
   document is parsed in a window of the text that doubles while the parse may have stopped at
   the window's end (the same end or failure as in the whole text; the window's failures cost
   the window): 0.9 s, linear.
2. **A long number in a page's text raised out of the request.** The same parse made Python
   integers: ``<pre>[`` and 5,000 digits ``]</pre>`` raised ``ValueError`` (the 4,300-digit
   ``int()`` limit) out of the middleware on both stacks, whatever the record was (a view that
   shows a big number; bob's record with one). Fixed: the parse keeps numbers as text (only
   the document's end is wanted); the record is read by the extractors as any other.
"""

from __future__ import annotations

from collections.abc import Callable

from _attacks import cpu_to_pass, guarded
from conftest import BLOCK_BODY, GuardedStack, Reply, kinds
from ids import BOB

from respguard import AuditEvent

HTML_CT = ("Content-Type", "text/html; charset=utf-8")

# ------------------------------------------------------------------ 1. failed parses, linear


def test_page_text_runs_that_fail_to_parse_are_read_in_linear_time(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """``<b>{</b>`` 160,000 times (1.3 MB) took 36 times the CPU of 20,000 (quadratic: every
    failed parse counted the text's lines before it); eight times the runs cost about eight times
    the time now (a ratio of CPU times, no wall clock)."""

    def cpu(count: int) -> float:
        return cpu_to_pass(make_stack, events, b"<p>user_id</p>" + b'<b>{"a</b><i>[</i>' * count, runs=2)

    small, large = cpu(10_000), cpu(80_000)
    assert large < 16 * small + 0.05, (small, large)


# ------------------------------------------------------------------ 2. long numbers


def test_a_long_number_shown_in_a_page_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """ValueError ('Exceeds the limit (4300 digits) for integer string conversion') out of the
    middleware, before."""
    page = b"<p>user_id</p><pre>[" + b"1" * 5000 + b"]</pre>"
    got = guarded(make_stack, events).send(Reply(headers=[HTML_CT], chunks=[page]))
    assert (got.status, got.body, kinds(events)) == (200, page, [])


def test_a_foreign_record_with_a_long_number_shown_in_a_page_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """bob's record in a ``<pre>`` with a 5,000-digit number: ValueError out of the middleware."""
    record = f"{{&quot;user_id&quot;: &quot;{BOB}&quot;, &quot;n&quot;: {'1' * 5000}}}"
    page = f"<pre>{record}</pre>".encode()
    got = guarded(make_stack, events).send(Reply(headers=[HTML_CT], chunks=[page]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert BOB not in events[0].to_json()
