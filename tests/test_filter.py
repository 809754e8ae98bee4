"""``on_foreign_records="filter"``'s pruning (``_filter.filter_records``), read directly: which list
items go, which stay, the body written back, and what can't be filtered (``None``: blocked)."""

from __future__ import annotations

import json

import pytest

from respguard._filter import filter_records

KEYS = {"user_id": "id", "email": "email"}
NO_OWNER = [{"user_id": None}, {"user_id": True}, {"user_id": ""}, {"user_id": {}}]


def own(kind: str, text: object) -> bool:
    """Requester 8, ann@example.com: the text must be the owner's text, a string."""
    assert isinstance(text, str)
    return (kind, text) in {("id", "8"), ("email", "ann@example.com")}


def run(document: object) -> tuple[object, int] | None:
    result = filter_records(json.dumps(document).encode(), KEYS, own)
    return None if result is None else (json.loads(result[0]), result[1])


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([{"user_id": 8}, {"user_id": 9}], ([{"user_id": 8}], 1)),
        ([{"user_id": "8"}, {"user_id": "9"}], ([{"user_id": "8"}], 1)),
        # a list under the key: one owner per item
        ([{"user_id": [8, 8]}, {"user_id": [8, 9]}], ([{"user_id": [8, 8]}], 1)),
        # deeper in the item, in an object or a list of objects
        ([{"a": {"user_id": 9}}, {"a": {"user_id": 8}}], ([{"a": {"user_id": 8}}], 1)),
        ([{"a": [{"user_id": 9}]}, {"b": 1}], ([{"b": 1}], 1)),
        # nested lists: the inner item goes, its list stays
        ({"pages": [[{"user_id": 9}, {"user_id": 8}]]}, ({"pages": [[{"user_id": 8}]]}, 1)),
        # no owner: null, true, objects under the key name none
        (NO_OWNER, (NO_OWNER, 0)),
        ([{"email": "bob@example.com"}, {"email": "ann@example.com"}], ([{"email": "ann@example.com"}], 1)),
        # a number is its exact value: 8.0 is the requester 8, 8.5 and 9007199254740993.0 are not
        ([{"user_id": 8.0}, {"user_id": 8e0}, {"user_id": 8.5}], ([{"user_id": 8.0}, {"user_id": 8.0}], 1)),
        # an object under the key names every value in it, at any depth
        ([{"user_id": {"a": [9]}}, {"user_id": {"a": 8}}], ([{"user_id": {"a": 8}}], 1)),
        # items that are no objects stay; an object among them with a foreign owner goes
        ([9, {"meta": {"user_id": 9}}], ([9], 1)),
    ],
)
def test_foreign_items_are_removed_and_own_kept(document: object, expected: tuple[object, int]) -> None:
    assert run(document) == expected


@pytest.mark.parametrize(
    "document",
    [
        {"user_id": 9, "items": []},  # outside any list: nothing to remove
        {"user_id": [8, 9]},  # a list of owners is no list of records
        {"owner": {"user_id": 9}, "items": [{"user_id": 8}]},
    ],
)
def test_a_foreign_owner_outside_a_list_item_cannot_be_filtered(document: object) -> None:
    assert run(document) is None


def test_the_body_written_back_is_compact_utf8() -> None:
    body = json.dumps([{"user_id": 8, "name": "Zoë"}, {"user_id": 9}], ensure_ascii=False).encode()
    assert filter_records(body, KEYS, own) == ('[{"user_id":8,"name":"Zoë"}]'.encode(), 1)


def test_a_number_is_compared_as_written_not_as_a_float() -> None:
    # a float would round 9007199254740993.0 to 9007199254740992: another customer's record, kept
    body = b'[{"user_id": 9007199254740993.0}, {"user_id": 9007199254740992, "n": 1.50}]'
    result = filter_records(body, KEYS, lambda kind, text: (kind, text) == ("id", "9007199254740992"))
    assert result == (b'[{"user_id":9007199254740992,"n":1.5}]', 1)
    assert filter_records(b'[{"user_id": 8e99999}]', KEYS, own) == (b"[]", 1)  # too long to write out: foreign


def test_a_lone_surrogate_is_written_back_escaped() -> None:
    body = b'[{"user_id": 8, "name": "\\ud800"}, {"user_id": 9}]'
    assert filter_records(body, KEYS, own) == (b'[{"user_id":8,"name":"\\ud800"}]', 1)


@pytest.mark.parametrize(
    "body",
    [
        b'[{"user_id": 8, "big": 1e400}, {"user_id": 9}]',  # Infinity to both readers, and no JSON
        b'[{"user_id": 9, "user_id": 8}]',  # a repeated key: json.loads would keep only the last
        b"[{",
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_what_cannot_be_written_back_or_read_is_not_filtered(body: bytes) -> None:
    assert filter_records(body, KEYS, own) is None
