"""``respguard demo``: one small real run over 127.0.0.1, and its verdict rules on fixed rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from respguard import BlockPage
from respguard.__main__ import main as cli_main
from respguard.demo import Row, _classify, format_table, verdict

ROOT = Path(__file__).resolve().parent.parent
KEYS = ["app", "guard", "responses", "leaks", "blocked", "false_blocks"]


def _python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_small_demo_leaks_without_the_guard_and_never_with_it(tmp_path: Path) -> None:
    # Run from elsewhere than the checkout: the demo must find examples/ by itself.
    done = _python(
        "-m", "respguard", "demo", "--json", "--browsers", "8", "--rounds", "3", "--think-ms", "0", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)  # stdout holds the JSON and nothing else
    assert [(r["app"], r["guard"]) for r in rows] == [
        ("flask", False),
        ("flask", True),
        ("starlette", False),
        ("starlette", True),
    ]
    for row in rows:
        assert list(row) == KEYS
        assert all(type(row[k]) is int for k in KEYS[2:])
        assert row["responses"] == 8 * 3 * 2
        if row["guard"]:
            assert (row["leaks"], row["false_blocks"]) == (0, 0)
            assert row["blocked"] > 0
        else:
            assert row["leaks"] > 0
            assert (row["blocked"], row["false_blocks"]) == (0, 0)


def test_import_respguard_imports_no_framework_and_not_the_demo(tmp_path: Path) -> None:
    code = (
        "import sys, respguard\n"
        "print(sorted(m for m in ('flask', 'starlette', 'uvicorn', 'werkzeug', 'respguard.demo') if m in sys.modules))"
    )
    done = _python("-c", code, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr


# --------------------------------------------------------------------------- rules, on fixed input


def test_classify_tells_a_block_from_a_false_block_by_what_the_app_rendered() -> None:
    row = Row("flask", True)
    block = BlockPage().body
    own = {"customer_id": "c0001", "email": "c0001@example.test"}
    _classify(row, 403, block, "/api/me", "c0001", own, rendered="c0002")
    _classify(row, 403, block, "/api/me", "c0001", own, rendered="c0001")
    _classify(row, 403, block, "/mypage", "c0001", b"", rendered=None)
    _classify(row, 200, json.dumps(own).encode(), "/api/me", "c0001", own, rendered="c0001")
    _classify(row, 200, b'{"customer_id": "c0002"}', "/api/me", "c0001", own, rendered="c0002")
    _classify(row, 200, b'<section data-owner="c0003">', "/mypage", "c0001", b"<p>mine</p>", rendered="c0003")
    _classify(row, 200, b"<p>mine</p>", "/mypage", "c0001", b"<p>mine</p>", rendered="c0001")
    _classify(row, 500, b"oops", "/api/me", "c0001", own, rendered=None)
    _classify(row, 403, b"Forbidden by the app", "/api/me", "c0001", own, rendered="c0001")
    _classify(row, 200, b"not json", "/api/me", "c0001", own, rendered="c0001")
    assert (row.responses, row.blocked, row.false_blocks, row.correct, row.leaks, row.unexpected) == (10, 1, 2, 2, 2, 3)


def _rows(off_leaks: int, on_leaks: int = 0, on_false: int = 0, unexpected: int = 0) -> list[Row]:
    return [
        Row("flask", False, responses=10, leaks=off_leaks, correct=10 - off_leaks),
        Row("flask", True, responses=10, blocked=7, leaks=on_leaks, false_blocks=on_false, unexpected=unexpected),
    ]


@pytest.mark.parametrize(
    ("rows", "status", "start"),
    [
        (_rows(7), 0, "OK: without the guard 7 responses"),
        (_rows(7, on_leaks=1), 1, "FAIL: with the guard, flask: 1 leaks, 0 false blocks"),
        (_rows(7, on_false=2), 1, "FAIL: with the guard, flask: 0 leaks, 2 false blocks"),
        (_rows(7, unexpected=1), 1, "FAIL: with the guard, flask: 0 leaks, 0 false blocks, 1 unexpected"),
        (_rows(0), 2, "INCONCLUSIVE: the bug did not leak without the guard on flask"),
    ],
)
def test_verdict(rows: list[Row], status: int, start: str) -> None:
    got_status, message = verdict(rows)
    assert got_status == status
    assert message.startswith(start)


def test_table_and_json_rows() -> None:
    rows = _rows(7)
    assert format_table(rows).splitlines() == [
        "app        guard responses  leaks  blocked false_blocks  correct",
        "flask      off          10      7        0            0        3",
        "flask      on           10      0        7            0        0",
    ]
    assert [r.as_json() for r in rows][1] == {
        "app": "flask",
        "guard": True,
        "responses": 10,
        "leaks": 0,
        "blocked": 7,
        "false_blocks": 0,
    }


def test_cli_usage_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main([]) == 2
    assert capsys.readouterr().out.startswith("usage: respguard <command>")
    assert cli_main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out
    assert cli_main(["nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli_main(["demo", "--browsers", "1"])
    assert exc.value.code == 2
    assert "--browsers must be between 2 and 200" in capsys.readouterr().err


def test_text_table_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_main(["demo", "--browsers", "6", "--rounds", "2", "--think-ms", "0", "--app", "starlette"])
    out = capsys.readouterr().out.splitlines()
    assert status == 0, out
    assert out[2] == "app        guard responses  leaks  blocked false_blocks  correct"
    assert [line.split()[:3] for line in out[3:5]] == [["starlette", "off", "24"], ["starlette", "on", "24"]]
    assert out[-1].startswith("OK: without the guard ")
