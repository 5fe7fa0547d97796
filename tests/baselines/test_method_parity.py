"""Every method computes what it computed before the package was reshaped.

fixtures/method_parity.json was recorded with the implementation of commit 9192b9c (before the
registry, format, batching and engine modules) by `python -m tests.baselines.method_parity`; the
same measurement with the current code must agree: losses and training curve within float
tolerance, and the same generated texts, token counts, passes and positions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.baselines.method_parity import REFERENCE_METHODS, measure

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "method_parity.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", REFERENCE_METHODS)
def test_method_matches_the_recorded_reference(name):
    expected, got = REFERENCE[name], measure(name)
    for stage, loss in expected["losses"].items():
        assert got["losses"][stage] == pytest.approx(loss, rel=1e-5, abs=1e-6), f"stage {stage} loss"
    assert got["passes"] == expected["passes"] and got["positions"] == expected["positions"]
    assert got["train_curve"] == pytest.approx(expected["train_curve"], rel=1e-4, abs=1e-5)
    assert got["generation"] == expected["generation"]
