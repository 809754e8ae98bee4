"""Adversarial findings, session 21 (attackZ).

1. **A minus sign is a dash to a reader.** The README promises that an event's path shows no id
   "any dash read as the hyphen". ``/contacts/alice\u22127f3a.vcf`` (U+2212 MINUS SIGN, which
   Unicode's ``Dash`` property lists, as it does the superscript and subscript minus U+207B and
   U+208B) reads as ``alice-7f3a`` to anyone who looks at the log, but its category is ``Sm``, not
   ``Pd``: the event carried the requester's id as written. Fixed (``_redact._fold_char``): a
   character with Unicode's ``Dash`` property, or a minus sign, folds to the hyphen.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import ALICE, BOB, GuardedStack, Reply, assert_block, kinds

from respguard import AuditEvent, JsonKeys

SECRET = "session21-attackZ-secret-77e0"


# ------------------------------------------------------------------ 1. a minus sign in the path


@pytest.mark.parametrize("dash", ["\u2212", "\u207b", "\u208b", "\u2053", "\u2796", "\u02d7"])
def test_an_id_spelt_with_a_minus_sign_is_redacted_from_the_path(
    make_stack: Callable[..., GuardedStack], dash: str
) -> None:
    events: list[AuditEvent] = []
    stack = make_stack(secret_key=SECRET, extractors=[JsonKeys("customer_id")], on_event=events.append)
    reply = Reply(headers=[("Content-Type", "application/json")], chunks=[json.dumps({"customer_id": BOB}).encode()])
    reply.requester = ALICE
    spelt = ALICE.replace("-", dash)
    got = stack.send(reply, path=f"/contacts/{spelt}.vcf", cookie="")
    assert_block(got.status, got.headers, got.body)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].path == "/contacts/{id}.vcf"
    text = events[0].to_json()
    assert spelt not in text and spelt not in json.loads(text)["path"]
    assert ALICE not in text and BOB not in text
