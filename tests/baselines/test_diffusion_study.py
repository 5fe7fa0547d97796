"""The diffusion study's statistics (benchmarks/diffusion_study.py): mean, sample std and the 95%
t-interval of the mean, and the harness settings it gives each run."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "diffusion_study.py"
spec = importlib.util.spec_from_file_location("diffusion_study", PATH)
study = importlib.util.module_from_spec(spec)
spec.loader.exec_module(study)


def test_interval_is_the_t_interval_of_the_mean():
    out = study.interval([0.1, 0.2, 0.3])
    assert out["mean"] == pytest.approx(0.2) and out["std"] == pytest.approx(0.1)
    half = 4.303 * 0.1 / math.sqrt(3)  # t(0.975, df=2)
    assert out["ci95"] == pytest.approx([0.2 - half, 0.2 + half])
    single = study.interval([0.5])
    assert single["std"] is None and single["ci95"] is None and single["n"] == 1


def test_runs_share_data_and_budget_across_methods():
    for task in study.TASKS:
        mdm, ar = (study.spec_for(task, m, seed=1, quick=False, steps=None) for m in ("mdm", "no_cot"))
        for field in ("task_options", "steps", "batch_size", "lr", "model_size", "seed", "train_n", "valid_n", "test_n", "evals"):
            assert getattr(mdm, field) == getattr(ar, field), field
        assert mdm.method_options["max_new_tokens"] == study.TASKS[task]["mdm_span"]
        assert study.TASKS[task]["mdm_span"] in study.TASKS[task]["sweep"]
    quick = study.spec_for("sudoku", "mdm", seed=0, quick=True, steps=None, batch_size=8)
    assert quick.steps == study.QUICK["steps"] and quick.batch_size == 8
