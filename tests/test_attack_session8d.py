"""Attack pass 8d: the attack files run through Django (``respguard.django.RespGuardMiddleware``).

The project's attacks ran on the ASGI and WSGI middlewares only. ``tests/_django_stack.py``
gives ``GuardedStack`` and the edge table a Django flavour (opt-in: ``RESPGUARD_TEST_STACKS``,
see docs/testing.md): the README's Django quickstart project, one catch-all view answering what
the test chooses, under Django's WSGI handler and its ASGI handler. What that run found is
here, on both Django handlers, whatever ``RESPGUARD_TEST_STACKS`` says.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("django")

from _django_stack import DjangoApp, django_response  # noqa: E402
from conftest import BLOCK_BODY, SECRET, assert_no_raw_ids, kinds, values  # noqa: E402
from ids import ALICE, BOB  # noqa: E402

from respguard import AuditEvent, HtmlAttribute, JsonKeys, OwnerHeader, set_requester  # noqa: E402

HANDLERS = ["django", "django-asgi"]
SSE = ("Content-Type", "text/event-stream")
FOREIGN_JSON = json.dumps({"user_id": BOB, "name": "Bob", "card_last4": "1881"}).encode()
OWN_EVENT = b'data: {"user_id": "alice-7f3a"}\n\n'
FOREIGN_EVENT = b'data: {"user_id": "bob-9c2e", "card_last4": "1881"}\n\n'


def readme_guard(events: list[AuditEvent], **options: Any) -> DjangoApp:
    """The README's guard in ``settings.RESPGUARD``, events into ``events``."""
    extractors = [JsonKeys("user_id", "owner_id"), HtmlAttribute(), OwnerHeader()]
    return DjangoApp(secret_key=SECRET, extractors=extractors, on_event=events.append, **options)


def answer(headers: list[tuple[str, str]], body: bytes) -> Any:
    """A view returning one ``HttpResponse`` with a correct ``Content-Length`` (what Django's
    ``CommonMiddleware``, inside respguard's, gives every such response)."""

    def view(request: Any) -> Any:
        set_requester(request, ALICE)
        return django_response(200, headers, [body], content_length=True)

    return view


# ------------------------------------------------------------------ 1. a cut event stream kept its old Content-Length


@pytest.mark.parametrize("kind", HANDLERS)
@pytest.mark.parametrize(
    "body", [FOREIGN_JSON, OWN_EVENT + FOREIGN_EVENT], ids=["json-document", "own-event-then-foreign"]
)
def test_an_event_stream_answered_whole_is_blocked_whole(kind: str, body: bytes) -> None:
    """A Django view answers ``HttpResponse(..., content_type="text/event-stream")`` (with
    ``CommonMiddleware``'s ``Content-Length``) whose first or second event names Bob. respguard
    decided an event stream's head at the start (it streams) and cut the body before the foreign
    event; the adapter set the new length, then re-wrote the head with the start's headers:
    ``Content-Length: 60`` went out with 0 bytes, a client waits for the missing bytes and h11
    refuses to send it ("Too little data for declared Content-Length"). Cut after the head, the
    body is short on ASGI and WSGI too (tests/test_events_document.py). Fixed in the core: an
    event stream with a length is a finite document, held whole and blocked whole; the Django
    adapter also sets a changed body's length after the head."""
    events: list[AuditEvent] = []
    status, headers, got = readme_guard(events).request(kind, answer([SSE], body))
    assert (status, got) == (403, BLOCK_BODY)
    assert values(headers, "content-length") == [str(len(BLOCK_BODY))]
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert_no_raw_ids(events, "1881")


@pytest.mark.parametrize("kind", HANDLERS)
def test_control_an_own_event_stream_answered_whole_passes_with_its_length(kind: str) -> None:
    events: list[AuditEvent] = []
    body = OWN_EVENT + OWN_EVENT
    status, headers, got = readme_guard(events).request(kind, answer([SSE], body))
    assert (status, got) == (200, body)
    assert values(headers, "content-length") == [str(len(body))]
    assert events == []


@pytest.mark.parametrize("kind", HANDLERS)
def test_control_a_foreign_json_document_answered_whole_is_blocked(kind: str) -> None:
    events: list[AuditEvent] = []
    status, headers, got = readme_guard(events).request(
        kind, answer([("Content-Type", "application/json")], FOREIGN_JSON)
    )
    assert (status, got) == (403, BLOCK_BODY)
    assert values(headers, "content-length") == [str(len(BLOCK_BODY))]
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert_no_raw_ids(events, "1881")
