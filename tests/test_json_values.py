"""JSON owners as a script reads them: numbers by exact value, lists and objects at any depth.

``fetch(...).json()`` gives the script numbers (``8.0`` is ``8``), every element of nested
lists and every leaf of an object; respguard must name the same owners, compare them the
same way, and never let the byte-search proof (``JsonKeys.prove``) say "clean" where the
exact scan finds a foreign owner.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ids import ALICE, BOB, NUMERIC

from respguard._encoding import utf8_decode
from respguard._extractors import (
    ABSENT,
    JsonKeys,
    canonical_number,
    json_owner_values,
    json_owner_values_text,
)

KEYS = frozenset({"user_id", "owner_id"})
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def owners(body: bytes | str) -> list[str]:
    if isinstance(body, str):
        return json_owner_values_text(body, KEYS, "id")
    return json_owner_values(body, KEYS, "id")


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("literal", "text"),
    [
        ("8", "8"),
        ("8.0", "8"),
        ("8e0", "8"),
        ("8E+0", "8"),
        ("0.8e1", "8"),
        ("80e-1", "8"),
        ("800E-2", "8"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("0e999999999999999999999999", "0"),
        ("-0.000e-7", "0"),
        ("1.50", "1.5"),
        ("15e-1", "1.5"),
        ("-1.5e-7", "-0.00000015"),
        ("1e3", "1000"),
        ("12.3400", "12.34"),
        ("0.001e3", "1"),
        ("12345678901234567890", "12345678901234567890"),  # no float: ...891 stays a different owner
        ("0.10000000000000001", "0.10000000000000001"),  # a float would make it 0.1
        ("1e64", "1" + "0" * 64),
    ],
)
def test_a_number_is_its_exact_value(literal: str, text: str) -> None:
    assert canonical_number(literal) == text
    assert owners('{"user_id": ' + literal + "}") == [text]


@pytest.mark.parametrize("literal", ["1e65", "1e-70", "-3e99999999999999999999", "1E+100000000"])
def test_a_number_too_long_to_write_out_is_refused(literal: str) -> None:
    """A huge exponent must not allocate a huge integer: the document is refused (the guard blocks)."""
    with pytest.raises(ValueError, match="too long"):
        owners('{"user_id": ' + literal + "}")
    assert owners('{"size": ' + literal + ', "user_id": 7}') == ["7"]  # elsewhere it doesn't matter


@pytest.mark.parametrize("literal", ["08", "+1", ".5", "1.", "1e", "0x10", "\u0661"])
def test_canonical_number_takes_only_json_numbers(literal: str) -> None:
    with pytest.raises(ValueError):
        canonical_number(literal)


numbers = st.builds(
    lambda sign, whole, fraction, exponent: sign + whole + fraction + exponent,
    st.sampled_from(["", "-"]),
    st.one_of(st.just("0"), st.integers(1, 10**12).map(str)),
    st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=8).map(lambda f: "." + f)),
    st.one_of(
        st.just(""),
        st.tuples(st.sampled_from("eE"), st.sampled_from(["", "+", "-"]), st.integers(0, 30)).map(
            lambda t: f"{t[0]}{t[1]}{t[2]:0{1 + t[2] % 3}d}"
        ),
    ),
)


@PROPS
@given(numbers, numbers)
def test_two_literals_have_one_text_exactly_when_they_are_one_number(a: str, b: str) -> None:
    assert Decimal(canonical_number(a)) == Decimal(a)
    assert (canonical_number(a) == canonical_number(b)) is (Decimal(a) == Decimal(b))


# --------------------------------------------------------------------------- structure


def test_the_issues_examples() -> None:
    assert owners(b'{"user_id": 8.0}') == ["8"]
    assert owners(b'{"user_id": 8e0}') == ["8"]
    assert owners(b'{"user_id": [[9]]}') == ["9"]


def test_lists_at_any_depth_and_objects_under_an_owner_key_name_their_leaves() -> None:
    body = {
        "user_id": [[[1, ["2"]]], [], [[[]]]],
        "owner_id": {"id": 3, "name": BOB, "more": [{"x": 4.0}], "flag": True, "none": None, "empty": ""},
        "items": [{"user_id": {"user_id": ALICE}}],
    }
    assert set(owners(json.dumps(body).encode())) == {"1", "2", "3", BOB, "4", ALICE}


def test_booleans_null_and_empty_strings_name_nobody() -> None:
    assert owners(b'{"user_id": [true, false, null, "", {}, []], "owner_id": {"a": null}}') == []


def test_every_duplicate_key_counts() -> None:
    assert sorted(owners(b'{"user_id": 1, "x": {"owner_id": 2}, "user_id": [3], "owner_id": "4"}')) == [
        "1",
        "2",
        "3",
        "4",
    ]


def test_nan_and_infinity_under_an_owner_key_are_refused() -> None:
    """Python's parser takes them, JSON.parse does not: no reading to compare, so the guard blocks."""
    for literal in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError, match="NaN or Infinity"):
            owners('{"user_id": [' + literal + "]}")
        assert owners('{"score": ' + literal + ', "user_id": 1}') == ["1"]


def test_strings_keep_their_text() -> None:
    assert owners(b'{"user_id": ["8.0", "-0", " 8", "\\u0038"]}') == ["8.0", "-0", " 8", "8"]


def test_blank_documents_name_nobody_and_malformed_ones_raise() -> None:
    assert owners(b" \r\n\t") == []
    assert owners(" \r\n\t") == []
    for bad in (b'{"user_id": 1', b"{'user_id': 1}", b"[1,]", b"\x00"):
        with pytest.raises(ValueError):
            owners(bad)
    with pytest.raises(ValueError):
        owners("\u00a0")  # not JSON white space


def test_nesting_deeper_than_pythons_parser_raises_recursion_error() -> None:
    """JSON.parse nests far deeper; the caller must block (JsonKeys.owners says "nested too deeply")."""
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"user_id":' * 100_000 + b"1" + b"}" * 100_000):
        with pytest.raises(RecursionError):
            owners(body)


def test_deep_values_under_owner_keys_are_walked_once() -> None:
    depth = 400  # within Python's parser, beyond a recursive walk's comfort
    body = '{"user_id": ' * depth + "5" + "}" * depth
    found = owners(body)
    assert set(found) == {"5"} and len(found) <= 2  # the innermost key, and its enclosing key's walk
    lists = '{"user_id": ' + "[" * depth + '"6"' + "]" * depth + "}"
    assert owners(lists) == ["6"]
    mixed = '{"user_id": [' * depth + '{"a": "7"}' + "]}" * depth
    assert owners(mixed) == ["7"]
    wide = json.dumps({"user_id": [[i] for i in range(50_000)]})
    assert len(owners(wide)) == 50_000


# --------------------------------------------------------------------------- as fetch().json() reads


def test_text_after_utf8_decode_is_what_a_script_parses() -> None:
    """JSON served as text/html with one invalid byte: json() still gives the script owner 9."""
    body = b'\xef\xbb\xbf{"note": "caf\xe9", "user_id": 9}'
    with pytest.raises(ValueError):
        owners(body)  # strict bytes: malformed
    assert owners(utf8_decode(body)) == ["9"]


def test_text_and_bytes_agree_on_valid_utf8() -> None:
    body = json.dumps({"user_id": ["renée", 1.0, {"x": [2]}]}, ensure_ascii=False).encode()
    assert owners(body) == owners(body.decode()) == ["renée", "1", "2"]


# --------------------------------------------------------------------------- a reader model


def model(value: Any, keys: frozenset[str]) -> list[str]:
    """What a script finds under owner keys: a plain recursive reading of the parsed value."""
    found: list[str] = []

    def leaves(item: Any) -> None:
        if isinstance(item, bool) or item is None:
            return
        if isinstance(item, str):
            if item:
                found.append(item)
        elif isinstance(item, Decimal):
            found.append(item)  # type: ignore[arg-type]  # compared by value below
        elif item and isinstance(item[0], tuple):  # an object: its values
            for _, x in item:
                leaves(x)
        else:
            for x in item:
                leaves(x)

    def walk(item: Any) -> None:
        if isinstance(item, list) and not (item and isinstance(item[0], tuple)):
            for x in item:
                walk(x)
        elif isinstance(item, list):
            for key, x in item:
                if key in keys:
                    leaves(x)
                else:
                    walk(x)

    walk(value)
    return found


def write(value: Any, numbers_as: str) -> str:
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        return "{" + ",".join(json.dumps(k) + ":" + write(v, numbers_as) for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(write(v, numbers_as) for v in value) + "]"
    if isinstance(value, Decimal):
        if numbers_as == "plain":
            return str(int(value)) if value == value.to_integral_value() and abs(value) < 10**15 else str(value)
        if numbers_as == "float":
            return format(value, "f") + ("" if "." in format(value, "f") else ".0")
        return format(value, "E")
    return json.dumps(value)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([ALICE, BOB, NUMERIC, "", "8", "-0"]),
    st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
    st.integers(-1000, 1000).map(Decimal),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(st.tuples(st.sampled_from(["user_id", "owner_id", "name"]), children), min_size=1, max_size=3),
    ),
    max_leaves=10,
)


@PROPS
@given(documents, st.sampled_from(["plain", "float", "exp"]))
def test_respguard_names_what_the_reader_model_names(value: Any, numbers_as: str) -> None:
    text = write(value, numbers_as)
    found = set(owners(text))
    expected = {canonical_number(str(want)) if isinstance(want, Decimal) else want for want in model(value, KEYS)}
    assert found == expected
    for got in found:
        if got not in (ALICE, BOB, "", "-0"):
            assert canonical_number(got) == got  # numbers (and numeric strings) come out canonical


# --------------------------------------------------------------------------- the byte proof stays sound


def check_sound(body: bytes, own: str | None) -> None:
    for extractor in (JsonKeys("user_id"), JsonKeys("user_id", "owner_id")):
        proof = extractor.prove(body, None, own)
        if not proof:
            continue
        found = json_owner_values(body, extractor.keys, "id")
        if proof == ABSENT:
            assert found == [], body
        else:
            assert set(found) <= {own}, (body, own, found)


number_spellings = st.sampled_from(
    ["8", "8.0", "8e0", "0.8e1", "80E-1", "-0", "0", "-0.0", "0e5", "9", "-8", "8.5", "88", "[8]", "[[9]]", '{"a": 9}']
)


@PROPS
@given(
    st.lists(
        st.tuples(st.sampled_from(["user_id", "owner_id"]), number_spellings, st.sampled_from(["", " ", "\n"])),
        max_size=5,
    ),
    st.sampled_from(["8", "0", "-0", "9", "-8", "8.0", None]),
)
def test_the_proof_never_says_clean_where_the_exact_scan_finds_a_foreign_owner(
    fields: list[tuple[str, str, str]], own: str | None
) -> None:
    body = ("{" + ",".join(f'"{k}":{ws}{v}{ws}' for k, v, ws in fields) + "}").encode()
    check_sound(body, own)


def test_minus_zero_is_not_proved_for_the_requester_minus_zero() -> None:
    """-0 is the owner 0: a requester whose id is the text "-0" is not the owner of -0."""
    body = b'{"user_id": -0}'
    assert json_owner_values(body, frozenset({"user_id"}), "id") == ["0"]
    assert not JsonKeys("user_id").prove(body, None, "-0")
    assert JsonKeys("user_id").prove(b'{"user_id": 0}', None, "0")


def test_eight_point_zero_is_the_requester_eight() -> None:
    for body in (b'{"user_id": 8.0}', b'{"user_id": 8e0}', b'{"user_id": 0.8e1}', b'{"user_id": [[8]]}'):
        assert set(json_owner_values(body, frozenset({"user_id"}), "id")) == {"8"}
        assert not JsonKeys("user_id").prove(body, None, "9")


def test_refused_documents_are_scan_errors_for_json_keys() -> None:
    """What JsonKeys.owners makes of the new refusals: a scan error, so the guard blocks."""
    from respguard._extractors import ScanError
    from respguard._headers import Headers
    from respguard._scan import RequestInfo, ResponseView

    request = RequestInfo("GET", "/", "http", {}, lambda: [])
    for body in (b'{"user_id": 1e400}', b'{"user_id": NaN}'):
        view = ResponseView(request, 200, Headers([(b"content-type", b"application/json")]), "json", "", body)
        with pytest.raises(ScanError, match="malformed JSON"):
            JsonKeys("user_id").owners(view)


@PROPS
@given(
    st.lists(
        st.tuples(st.sampled_from(["user_id", "owner_id", "note"]), number_spellings, st.sampled_from(["", " "])),
        max_size=5,
    ),
    st.sampled_from(["8", "0", "9", None]),
    st.sampled_from([b"", b"\xef\xbb\xbf"]),
    st.sampled_from([b"", b"\xff", b"\xc3", b"\xed\xa0\x80"]),
)
def test_the_proof_stays_sound_for_what_fetch_json_reads(
    fields: list[tuple[str, str, str]], own: str | None, bom: bytes, junk: bytes
) -> None:
    """The lead reads owners from utf8_decode(body) (as response.json() does): the byte proof must hold there too."""
    body = bom + ('{"text": "x' + "JUNK" + '",' + ",".join(f'"{k}":{ws}{v}' for k, v, ws in fields) + "}").encode()
    body = body.replace(b"JUNK", junk).replace(b",}", b"}")
    for extractor in (JsonKeys("user_id"), JsonKeys("user_id", "owner_id")):
        proof = extractor.prove(body, None, own)
        if not proof:
            continue
        found = json_owner_values_text(utf8_decode(body), extractor.keys, "id")
        if proof == ABSENT:
            assert found == [], body
        else:
            assert set(found) <= {own}, (body, own, found)
