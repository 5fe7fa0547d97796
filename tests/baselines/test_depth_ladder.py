"""The depth studies' plan and aggregation (scripts/depth_ladder.py), without training."""

import math

import pytest

from scripts import depth_ladder as dl
from scripts import depth_summary as ds


def test_plan_matches_parameters_and_flops_with_three_seeds():
    jobs = dl.jobs(dl.Scale.pick(quick=False))
    ladder = [j for j in jobs if j.study == dl.LADDER]
    for task in dl.TASKS:
        configs = {}
        for j in (j for j in ladder if j.spec.task == task):
            o = j.spec.method_options
            configs.setdefault((o["layers"], o["loops"]), set()).add(j.spec.seed)
        assert all(seeds == set(dl.SEEDS) for seeds in configs.values()) and len(dl.SEEDS) >= 3
        for loops in dl.DEPTH_LOOPS[1:]:
            assert (dl.K, loops) in configs and (dl.K * loops, 1) in configs  # same FLOPs: kL block applications
        assert (dl.K, 1) in configs  # same parameters as every (K x L)
    params = {o: ds.model_params("looped", {"width": 256, "layers": o[0], "loops": o[1]}, 40, 128)
              for o in [(2, 1), (2, 4), (8, 1)]}
    assert params[(2, 1)] == params[(2, 4)] < params[(8, 1)]
    assert {j.spec.method for j in jobs if j.study == dl.ADAPTIVE} == {"universal_act", "recurrent_depth"}
    assert all(j.spec.evals >= 2 and j.spec.valid_n == j.spec.test_n for j in jobs)  # selection on validation


def test_interval_is_the_t_interval_of_the_mean():
    s = ds.interval([0.5, 0.6, 0.7])
    assert s["mean"] == pytest.approx(0.6) and s["std"] == pytest.approx(0.1)
    half = 4.303 * 0.1 / math.sqrt(3)
    assert s["ci95"] == pytest.approx([0.6 - half, 0.6 + half])
    assert ds.interval([0.4])["ci95"] is None


def _row(role, depth, values, model):
    return {"role": role, "effective_depth": depth, "accuracy": ds.interval(values), "model": model}


def test_verdicts_follow_the_stated_rule():
    rows = [_row("base (k x 1)", 2, [0.30, 0.31, 0.29], "looped 2x1"),
            _row("looped (k x L)", 4, [0.80, 0.82, 0.78], "looped 2x2"),
            _row("dense (kL x 1)", 4, [0.83, 0.81, 0.85], "dense 4x1"),
            _row("looped (k x L)", 8, [0.35, 0.33, 0.37], "looped 2x4"),
            _row("dense (kL x 1)", 8, [0.95, 0.96, 0.94], "dense 8x1")]
    verdicts = {v["depth"]: v for v in ds.ladder_verdicts("t", rows)}
    assert verdicts[4]["claim_holds"] and verdicts[4]["looped_minus_dense"] == pytest.approx(-0.03)
    assert not verdicts[8]["looped_matches_dense"] and not verdicts[8]["looped_beats_base"]
    assert not verdicts[8]["claim_holds"]
