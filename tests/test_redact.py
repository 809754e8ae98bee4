"""Event redaction: no id an event is about reaches the log, in any position or spelling."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respguard._redact import REDACTED, redact_path, safe_request_id
from tests.ids import ALICE, ALICE_EMAIL, BOB, BOB_EMAIL, NUMERIC, RENEE, YAMADA

IDS = ("8", "9", "Bob@Example.com", ALICE, YAMADA, RENEE)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # the incident's examples
        ("/api/users/9.json", "/api/users/{id}.json"),
        ("/contacts/Bob@Example.com.vcf", "/contacts/{id}.vcf"),
        ("/contacts/bob@example.COM.vcf", "/contacts/{id}.vcf"),
        # inside a segment, next to delimiters
        ("/u/user-9", "/u/user-{id}"),
        ("/u/9,10", "/u/{id},10"),
        ("/u/9;v=1", "/u/{id};v=1"),
        ("/u/9.", "/u/{id}."),
        ("/u/9/8", "/u/{id}/{id}"),
        ("/u/009", "/u/{id}"),
        ("/u/alice-7F3A.json", "/u/{id}.json"),
        ("/u/x" + ALICE + "y", "/u/x{id}y"),
        # percent-encoded, encoded slashes, double encoding
        ("/contacts/bob%40example.com", "/contacts/{id}"),
        ("/u/%39.json", "/u/{id}.json"),
        ("/a%2Fb/9", "/a/b/{id}"),
        ("/a%252Fb/%2539", "/a/b/{id}"),
        # format characters a log viewer does not show, full-width letters
        ("/u/ali\u200bce-7f3a", "/u/{id}"),
        ("/u/\uff42\uff4f\uff42@example.com", "/u/{id}"),
        # non-ASCII ids: decoded, or a WSGI path (UTF-8 bytes as Latin-1), composed or not
        ("/u/%E5%B1%B1%E7%94%B0-4e2a/card", "/u/{id}/card"),
        ("/u/" + YAMADA.encode().decode("latin-1") + "/card", "/u/{id}/card"),
        ("/u/rene\u0301e-93f0", "/u/{id}"),
        # an e-mail id's local part
        ("/c/bob/x", "/c/{id}/x"),
        # kept: not the id
        ("/v1/users", "/v1/users"),
        ("/x/1700000009", "/x/1700000009"),
        ("/x/89", "/x/89"),
        ("/", "/"),
        # decoded text outside ids is percent-encoded again (no raw control characters)
        ("/a b/9\n", "/a%20b/{id}%0A"),
    ],
)
def test_redact_path(path: str, expected: str) -> None:
    assert redact_path(path, IDS) == expected


def test_paths_without_ids_are_kept_as_they_are() -> None:
    assert redact_path("/orders/9", [ALICE, BOB]) == "/orders/9"
    assert redact_path("/a%20b", ["9"]) == "/a%20b"
    assert redact_path("/users/9", []) == "/users/9"
    assert redact_path("/users/9", [""]) == "/users/9"


def test_when_in_doubt_the_path_goes() -> None:
    deep = "/u/" + "%25" * 1 + "2525252539"  # five rounds of encoding around '9'
    assert redact_path(deep, ["9"]) == REDACTED
    # an id that only the undecoded form shows
    assert redact_path("/u/%41", ["%41"]) == REDACTED
    # an id the placeholder would spell again with its neighbours
    assert redact_path("/u/x{id}y", ["x{id}y", "{id}"]) == REDACTED


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("req-42.a:b_c", "req-42.a:b_c"),
        ("u8-9-1700000000", None),  # tokens u, 8, 9, 1700000000
        ("u7-10-1700000000", "u7-10-1700000000"),
        ("req-1700000009", "req-1700000009"),  # 9 inside a digit run is not the id
        ("x-bob-1", None),  # the e-mail id's local part
        ("trace-ALICE-7f3a-1", None),
        ("has spaces", None),
        ("r" * 129, None),
        ("", None),
        (None, None),
    ],
)
def test_safe_request_id(value: str | None, expected: str | None) -> None:
    assert safe_request_id(value, IDS) == expected


def test_numeric_ids_with_leading_zeros_and_long_numbers() -> None:
    assert redact_path("/orders/" + NUMERIC + "/x", [NUMERIC]) == "/orders/{id}/x"
    assert safe_request_id("req-0009", ["9"]) is None
    assert safe_request_id("req-1009", ["9"]) == "req-1009"


def test_many_ids_in_one_path() -> None:
    ids = [f"crowd-{n:04d}-d9" for n in range(60)] + [str(n) for n in range(100)]
    path = "/list/" + "/".join(ids[::7]) + "/v2/x"
    got = redact_path(path, ids)
    assert "crowd" not in got
    assert got.endswith("/v2/x")


_id_text = st.text(alphabet="abcXYZ019-@.", min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(_id_text, st.text(alphabet="ab/-._;,%09", max_size=8), st.text(alphabet="ab/-._;,%09", max_size=8))
def test_an_id_never_survives_in_any_case_or_encoding(ident: str, before: str, after: str) -> None:
    for spelled in (ident, ident.upper(), "".join(f"%{b:02X}" for b in ident.encode())):
        path = "/" + before + "/" + spelled + "/" + after
        got = redact_path(path, [ident])
        if len(ident) > 3:
            assert ident.casefold() not in got.casefold()
        assert got == REDACTED or "{id}" in got


def test_real_ids_of_the_registry() -> None:
    for ident in (ALICE, BOB, ALICE_EMAIL, BOB_EMAIL):
        assert redact_path(f"/users/{ident.upper()}/card", [ident]) == "/users/{id}/card"
        assert safe_request_id(f"req-{ident.split('@')[0]}", [ident]) is None


def test_a_short_id_in_a_request_id_is_a_whole_run_of_letters_or_digits() -> None:
    # Letters next to letters are one token: ``ab`` in ``xab`` is not the id ``ab``; a letter
    # next to a digit is a cut: ``ab`` in ``ab9`` is.
    assert safe_request_id("xab-1", ["ab"]) == "xab-1"
    assert safe_request_id("abx.1", ["ab"]) == "abx.1"
    assert safe_request_id("ab9-1", ["ab"]) is None
    assert safe_request_id("r.ab", ["ab"]) is None


@pytest.mark.parametrize(
    ("path", "ids", "expected"),
    [
        ("/u/bobby", ["bob"], "/u/bobby"),  # three characters: still a short id, a whole token only
        ("/u/bob-1", ["bob"], "/u/{id}-1"),
        ("/u/ab\u0301", ["ab"], "/u/{id}%CC%81"),  # a combining mark is dropped: "ab" with an accent reads "ab"
        ("/u/0ab", ["ab"], "/u/0ab"),  # leading zeros only for numeric ids
        ("/u/0\u0663", ["\u0663"], "/u/{id}"),  # a digit of any script is the number int() reads: 03
        ("/u/09", ["9"], "/u/{id}"),  # one leading zero
        ("/aaaaa", ["aaaa"], "/{id}"),  # overlapping occurrences: one span
        ("/u/abcdefgh", ["abcd", "efgh"], "/u/{id}"),  # adjacent ids: one placeholder
        ("9-0", ["9"], "{id}-0"),  # a request target without its slash (h11 takes it) opening with the id
    ],
)
def test_where_a_short_or_repeated_id_is_found(path: str, ids: list[str], expected: str) -> None:
    assert redact_path(path, ids) == expected


@pytest.mark.parametrize(
    ("value", "ids", "expected"),
    [
        ("09-x", ["9"], None),  # a leading zero at the start
        ("ab-x", ["ab"], None),  # at the start, nothing before it
        ("u8-x", ["8"], None),  # a letter before a digit is a cut
        ("x-8u", ["8"], None),  # a digit before a letter too
        ("x-88", ["8"], "x-88"),
    ],
)
def test_where_an_id_in_a_request_id_is_found(value: str, ids: list[str], expected: str | None) -> None:
    assert safe_request_id(value, ids) == expected


def test_the_search_budget_is_the_texts_length_times_the_ids_total() -> None:
    """A search comparing up to 2**24 characters (the path's length times the ids' total length)
    is done; one character more and the path is redacted whole, unsearched."""
    ids = ["bob-9c2e", "q" * 4088]  # 4096 characters in all
    at_budget = "/users/bob-9c2e/" + "x" * 4080  # 4096 characters: 4096 * 4096 == 2**24
    assert len(at_budget) * 4096 == 1 << 24
    assert redact_path(at_budget, ids) == "/users/{id}/" + "x" * 4080
    assert redact_path(at_budget + "x", ids) == REDACTED
    # the same budget for a request id (at most 128 characters): 128 * 131072 == 2**24
    many = ["bob-9c2e", "q" * (131072 - 8)]
    assert safe_request_id("r" * 128, many) == "r" * 128
    assert safe_request_id("r" * 128, [*many, "z"]) is None


def test_more_occurrences_than_four_a_character_redact_the_whole_path() -> None:
    """``/`` and 14 ``a``s (15 characters) may hold 4 * 15 + 3 = 63 occurrences of ids before the
    whole path goes: the ids ``a`` * 4..14 but 12 occur exactly 63 times (11 + 10 + ... + 1 - 3),
    and redact to ``/{id}``, the slash kept; with ``a`` * 12 too (66 times) the path goes."""
    path = "/" + "a" * 14
    ids = ["a" * length for length in range(4, 15) if length != 12]
    assert redact_path(path, ids) == "/{id}"
    assert redact_path(path, [*ids, "a" * 12]) == REDACTED


@pytest.mark.parametrize(
    ("path", "ids", "expected"),
    [
        ("0", ["0"], REDACTED),  # the path is the id
        ("10", ["10"], REDACTED),  # (a numeric id ending in 0: no leading zero is walked before it)
        ("000", ["0"], REDACTED),  # the id with leading zeros
        ("/0", ["0"], "/{id}"),
        ("/10", ["10"], "/{id}"),
    ],
)
def test_a_path_that_is_one_id_goes_whole(path: str, ids: list[str], expected: str) -> None:
    assert redact_path(path, ids) == expected



def test_mojibake_of_mojibake_is_read_to_its_end() -> None:
    """A WSGI path's lenient UTF-8 readings are followed round after round (mojibake of
    mojibake): an id under any number of them is never logged as it came."""
    owner = "renée-93f0"

    def mojibake(text: str, rounds: int) -> str:
        for _ in range(rounds):
            text = text.encode("utf-8").decode("latin-1")
        return text

    assert redact_path("/u/" + mojibake(owner, 1), [owner]) == "/u/{id}"
    for rounds in (2, 3, 5, 8):
        assert redact_path("/u/" + mojibake(owner, rounds), [owner]) in ("/u/{id}", REDACTED), rounds
    assert redact_path("/u/" + mojibake("café", 2), [owner]) == "/u/" + mojibake("café", 2)  # no id: as it came


def test_id_candidates_are_every_run_between_delimiters_as_written_and_lower_cased() -> None:
    from respguard._redact import id_candidates

    assert id_candidates("/Ann.vcf", None) == ["Ann", "Ann.vcf", "ann", "ann.vcf", "vcf"]
    assert id_candidates("/a%40b", None) == ["40b", "a", "a%40b", "a@b", "b"]
    assert id_candidates("/", "u8-9") == ["8", "8-9", "9", "u", "u8", "u8-9"]  # a request id is cut at u|8 too
    assert id_candidates("/" + "-".join("x" * 40), None) is None  # too many runs: the fields go
