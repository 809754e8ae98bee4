"""Identities: the text an owner compares as, the requester's facets, and the coercion of what an app hands us."""

from __future__ import annotations

import pytest

from respguard import Identity
from respguard._identity import as_identity, normalise, owner_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("alice-7f3a", "alice-7f3a"),
        ("", None),
        (7, "7"),
        (True, "true"),
        (False, "false"),
        (2.5, "2.5"),
        (b"bob-9c2e", "bob-9c2e"),
        (b"", None),
        (b"\xff", "\udcff"),  # not UTF-8: kept byte for byte, never equal to a real id
        (None, None),
        (["alice-7f3a"], None),
        ({"id": 7}, None),
    ],
)
def test_owner_text(value: object, text: str | None) -> None:
    assert owner_text(value) == text


def test_only_email_addresses_fold() -> None:
    assert normalise("email", " Alice@Example.TEST ") == "alice@example.test"
    assert normalise("email", "Straße@example.test") == "straße@example.test"  # lower(), not casefold()
    assert normalise("id", " Alice ") == " Alice "
    assert normalise("customer_no", "AB-1") == "AB-1"


def test_identity_texts_its_id_and_facets() -> None:
    identity = Identity(8812345, email="Alice@Example.TEST", customer_no=17, phone="", nick=None)
    assert identity.id == "8812345"
    assert identity.facets == {"email": "alice@example.test", "customer_no": "17"}
    assert identity.value("id") == "8812345"
    assert identity.value("email") == "alice@example.test"
    assert identity.value("phone") is None
    for bad in ("", None, [1]):
        with pytest.raises(ValueError) as raised:
            Identity(bad)
        assert str(raised.value) == "Identity id must be a non-empty string or a number"


def test_identities_hash_as_their_id_and_sorted_facets() -> None:
    one = Identity("alice-7f3a", email="alice@example.test", customer_no="17")
    same = Identity("alice-7f3a", customer_no="17", email="ALICE@example.test")
    assert one == same and hash(one) == hash(same)
    assert hash(one) == hash(("alice-7f3a", (("customer_no", "17"), ("email", "alice@example.test"))))
    assert len({one, same, Identity("alice-7f3a"), Identity("bob-9c2e")}) == 3


def test_as_identity() -> None:
    identity = Identity("alice-7f3a")
    assert as_identity(identity) is identity
    assert as_identity(None) is None
    assert as_identity("alice-7f3a") == identity
    assert as_identity("alice-7f3a") is as_identity("alice-7f3a")  # remembered
    assert as_identity(7) == Identity("7")
    assert as_identity(True) == Identity("true")  # never the cached identity of 1
    assert as_identity(1) == Identity("1")
    assert as_identity("") is None
    assert as_identity([1]) is None
