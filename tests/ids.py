"""The raw owner ids the test suite uses: one registry, so the event audit can check them.

Use these (or add yours to :data:`RAW_IDS`) in every test that hands respguard an
id. They are distinctive strings, so finding one in an audit event can only mean
respguard copied a raw id into its own logs (incident 5: it must never do that).
``tests/test_event_audit.py`` scans every event of the session for each of them.
"""

from __future__ import annotations

ALICE = "alice-7f3a"
BOB = "bob-9c2e"
CAROL = "carol-51d0"
DAVE = "dave-0b6d"
MALLORY = "mallory-e41c"
#: A numeric id, for ``123`` vs ``"123"`` (JSON numbers and strings compare as the same text).
NUMERIC = "8812345"
ALICE_EMAIL = "alice@example.test"
BOB_EMAIL = "bob@example.test"
#: Non-ASCII ids (Shift_JIS / EUC-JP / Latin-1 pages).
YAMADA = "山田-4e2a"
SUZUKI = "鈴木-77c1"
RENEE = "renée-93f0"

#: A crowd of distinct foreign owners (incident 3: one response, many people).
CROWD = tuple(f"crowd-{n:04d}-d9" for n in range(60))

#: Every raw id the suite uses; no audit event may contain any of them.
RAW_IDS: tuple[str, ...] = (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    MALLORY,
    NUMERIC,
    ALICE_EMAIL,
    BOB_EMAIL,
    YAMADA,
    SUZUKI,
    RENEE,
    *CROWD,
)
