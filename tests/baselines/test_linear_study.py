"""The state-tracking study's plan and statistics (benchmarks/linear_study.py), without training."""

from __future__ import annotations

import pytest

from benchmarks import linear_study as study


def test_interval_is_a_student_t_interval():
    out = study.interval([0.5, 0.6, 0.7])
    assert out["mean"] == pytest.approx(0.6) and out["std"] == pytest.approx(0.1) and out["n"] == 3
    half = 4.303 * 0.1 / 3 ** 0.5  # t(0.975, 2)
    assert out["ci95"] == pytest.approx([0.6 - half, 0.6 + half])
    assert study.interval([0.4])["ci95"] is None


def test_the_plan_has_three_seeds_per_configuration_and_matched_models():
    specs = study.grid(quick=False)
    configs = {}
    for spec in specs:
        key = (spec.task, tuple(sorted(spec.task_options.items())), spec.method,
               spec.method_options.get("negative_eigenvalues"))
        configs.setdefault(key, set()).add(spec.seed)
        assert spec.task_options["test_length"] >= spec.task_options["length"]
        assert spec.suite == study.STUDY and spec.evals >= 2 and spec.test_n == spec.valid_n
    assert all(seeds == {0, 1, 2} for seeds in configs.values())
    assert len(specs) == 81  # 4 tasks x 3 lengths x 2 models x 3 seeds + the parity ablation
    counts = study.parameter_counts(vocab_size=140, n_positions=140)
    assert abs(counts["transformer"] / counts["gated_deltanet"] - 1) < 0.06
    assert study.grid(quick=True, steps=7)[0].steps == 7
