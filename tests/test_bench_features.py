"""The opt-in feature benchmark runs, and each variant serves what it is meant to (no timings asserted)."""

from __future__ import annotations

import pytest

from benchmarks import instructions, report
from benchmarks.features import run_features


def test_features_benchmark_rows() -> None:
    rows = run_features(1, True, log=lambda line: None)
    assert [(r["feature"], r["case"]) for r in rows] == [
        ("inbound", "write bare"),
        ("inbound", "write guarded"),
        ("inbound", "write + inbound rules"),
        ("filter", "list bare"),
        ("filter", "own list guarded"),
        ("filter", "mixed list filtered"),
    ]
    assert rows[0]["us_over_bare"] == 0 and rows[3]["us_over_bare"] == 0
    table = report.markdown({"meta": {}, "features": rows})
    assert "| inbound | write + inbound rules |" in table


@pytest.mark.parametrize("variant", ["bare", "respguard"])
@pytest.mark.parametrize("body", ["json-1k", "html-1k", "image-256k"])
def test_instruction_count_harness_serves_each_body(variant: str, body: str) -> None:
    """``python -m benchmarks.instructions`` counts requests that are answered whole (0), and
    says so when the guard would not let the body through (2)."""
    assert instructions.main([body, variant, "2"]) == 0
