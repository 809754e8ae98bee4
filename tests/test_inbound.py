"""Inbound owner rules (respguard._inbound), unit by unit: which owners a write names, as its framework parsed it.

The stack tests (tests/test_write_middleware.py, tests/test_write_apps.py) drive these rules
through real requests; here every rule's exact output is pinned, owner kinds included.
"""

from __future__ import annotations

import uuid

import pytest

from respguard._inbound import (
    FILE_FIELD,
    NO_JSON,
    NOT_PLAIN,
    REPEATED,
    Ambiguous,
    FormOwner,
    JsonBodyOwner,
    Named,
    PathOwner,
    QueryOwner,
    named_owners,
    named_texts,
    owner_texts,
)

UID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.mark.parametrize(
    ("value", "kind", "texts"),
    [
        ("bob-9c2e", "id", ["bob-9c2e"]),
        (7, "id", ["7"]),
        (UID, "id", [str(UID)]),
        (None, "id", []),
        ("", "id", []),
        (["bob-9c2e", 7, None, ""], "id", ["bob-9c2e", "7"]),
        ("Bob@Example.TEST", "email", ["bob@example.test"]),
        (["Bob@Example.TEST", " Carol@example.test"], "email", ["bob@example.test", "carol@example.test"]),
        ("Bob@Example.TEST", "id", ["Bob@Example.TEST"]),  # only e-mail addresses fold
    ],
)
def test_owner_texts(value: object, kind: str, texts: list[str]) -> None:
    assert owner_texts(value, kind) == texts


@pytest.mark.parametrize("value", [True, False, 1.0, {"id": 7}, [["bob-9c2e"]], b"bob-9c2e", object()])
def test_values_two_readers_could_read_differently_are_ambiguous(value: object) -> None:
    with pytest.raises(Ambiguous) as raised:
        owner_texts(value, "id")
    assert str(raised.value) == NOT_PLAIN


def test_path_owner() -> None:
    rule = PathOwner("/users/{user_id}/card")
    assert rule.named(Named("/users/bob-9c2e/card")) == ["bob-9c2e"]
    assert rule.named(Named("/users/bob-9c2e/card/")) == ["bob-9c2e"]
    assert rule.named(Named("/users/bob-9c2e/card/x")) == []
    assert rule.named(Named("/users/a/b/card")) == []
    # the router's own parameter counts too, where routing has run
    assert rule.named(Named("/users/bob-9c2e/card", path_params={"user_id": 7})) == ["bob-9c2e", "7"]
    assert rule.named(Named("/users/bob-9c2e/card", path_params={"other": 7})) == ["bob-9c2e"]
    two = PathOwner("/orgs/{org}/users/{email}", "email", kind="email")
    assert two.named(Named("/orgs/acme/users/Bob@Example.TEST")) == ["bob@example.test"]
    assert named_owners([two], Named("/orgs/acme/users/Bob@Example.TEST")) == [("email", "bob@example.test")]
    routed = Named("/orgs/acme/users/Bob@Example.TEST", path_params={"email": "BOB@example.test"})
    assert two.named(routed) == ["bob@example.test", "bob@example.test"]


@pytest.mark.parametrize(
    ("pattern", "param", "message"),
    [
        ("/users/card", None, "PathOwner(pattern='/users/card') needs a path with a {placeholder}"),
        (7, None, "PathOwner(pattern=7) needs a path with a {placeholder}"),
        ("users/{id}", None, "PathOwner(pattern='users/{id}') needs a path with a {placeholder}"),
        ("/a/{x}/{y}", None, "PathOwner(param=...) must name one of ['x', 'y']"),
        ("/a/{x}", "y", "PathOwner(param='y') is not a placeholder of '/a/{x}'"),
    ],
)
def test_path_owner_needs_a_placeholder_it_names(pattern: object, param: str | None, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        PathOwner(pattern, param)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_json_body_owner_reads_every_depth() -> None:
    rule = JsonBodyOwner("user_id", "owner_id")
    document = {"user_id": "bob-9c2e", "items": [{"owner_id": 7}, [{"user_id": ["carol-51d0"]}], "x"], "n": 1}
    assert sorted(rule.named(Named("/", json=document))) == ["7", "bob-9c2e", "carol-51d0"]
    assert rule.named(Named("/", json=NO_JSON)) == []
    assert rule.named(Named("/", json=None)) == []
    assert rule.named(Named("/", json=[{"user_id": "bob-9c2e"}])) == ["bob-9c2e"]
    emails = JsonBodyOwner("email", kind="email")
    assert named_owners([emails], Named("/", json={"email": "Bob@Example.TEST"})) == [("email", "bob@example.test")]
    with pytest.raises(Ambiguous):
        rule.named(Named("/", json={"user_id": True}))


def test_form_and_query_owners_refuse_a_repeated_field() -> None:
    form = FormOwner("user_id")
    assert form.named(Named("/", form=[("user_id", "bob-9c2e"), ("note", "x")])) == ["bob-9c2e"]
    with pytest.raises(Ambiguous) as raised:
        form.named(Named("/", form=[("user_id", "alice-7f3a"), ("user_id", "bob-9c2e")]))
    assert str(raised.value) == REPEATED
    with pytest.raises(Ambiguous) as raised:
        form.named(Named("/", form=[("note", "x")], files=["user_id"]))
    assert str(raised.value) == FILE_FIELD
    assert form.named(Named("/", form=[("user_id", "bob-9c2e")], files=["avatar"])) == ["bob-9c2e"]
    query = QueryOwner("user_id", "u")
    assert query.named(Named("/", query=[("u", "bob-9c2e"), ("user_id", "carol-51d0")])) == ["bob-9c2e", "carol-51d0"]
    with pytest.raises(Ambiguous) as raised:
        query.named(Named("/", query=[("u", "bob-9c2e"), ("u", "bob-9c2e")]))
    assert str(raised.value) == REPEATED
    emails = QueryOwner("email", kind="email")
    assert named_owners([emails], Named("/", query=[("email", "Bob@Example.TEST")])) == [("email", "bob@example.test")]
    mails = FormOwner("email", kind="email")
    assert named_owners([mails], Named("/", form=[("email", "Bob@Example.TEST")])) == [("email", "bob@example.test")]


@pytest.mark.parametrize("make", [FormOwner, QueryOwner, JsonBodyOwner])
def test_field_rules_need_a_name(make: type) -> None:
    for names in ((), ("",)):
        with pytest.raises(ValueError) as raised:
            make(*names)
        assert str(raised.value) == f"{make.__name__}(...) needs at least one non-empty name"


def test_named_owners_in_rule_order_with_their_kinds() -> None:
    rules = [PathOwner("/users/{user_id}"), QueryOwner("email", kind="email")]
    named = Named("/users/bob-9c2e", query=[("email", "Carol@example.test")])
    assert named_owners(rules, named) == [("id", "bob-9c2e"), ("email", "carol@example.test")]
    assert named_owners([], named) == []


# ------------------------------------------------------------------ named_texts: what a refusal redacts


def test_named_texts_reads_every_id_the_rules_name_with_its_kind() -> None:
    """Each rule's ids, leniently: the path's segment and the router's parameter (a list, an int),
    a JSON key at any depth and every repeat of it, repeated form and query fields; e-mails folded
    as their kind compares them."""
    rules = [
        PathOwner("/c/{cid}/notes", kind="email"),
        JsonBodyOwner("customer_id"),
        FormOwner("owner"),
        QueryOwner("mail", kind="email"),
    ]
    document = (("note", (("customer_id", "Bob-9c2e"), ("customer_id", 7))), ("customer_id", [["carol", 8.5]]))
    named = Named(
        "/c/Dan@Example.test/notes",
        path_params={"cid": ["Eve@Example.test", 9]},
        form=[("owner", "fay"), ("other", "gus"), ("owner", "hal")],
        query=[("mail", "Ivy@Example.test"), ("mail", "Jo@Example.test")],
        json=document,
    )
    assert named_texts(rules, named) == [
        ("email", "dan@example.test"),
        ("email", "9"),
        ("email", "eve@example.test"),
        ("id", "carol"),  # (8.5 beside it is no plain id: not one)
        ("id", "Bob-9c2e"),
        ("id", "7"),
        ("id", "fay"),
        ("id", "hal"),
        ("email", "ivy@example.test"),
        ("email", "jo@example.test"),
    ]


def test_named_texts_reads_a_path_only_where_its_pattern_matches() -> None:
    """A path its pattern doesn't match names nobody, whatever the router's parameters say; a
    parameter the pattern doesn't name is not read."""
    rule = PathOwner("/c/{cid}/notes")
    assert named_texts([rule], Named("/other/bob-9c2e", path_params={"cid": "bob-9c2e"})) == []
    assert named_texts([rule], Named("/c/bob-9c2e/notes", path_params={"other": "carol"})) == [("id", "bob-9c2e")]
    assert named_texts([rule], Named("/c/bob-9c2e/notes\n")) == [("id", "bob-9c2e")]
