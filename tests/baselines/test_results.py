"""baselines/results.py (no torch): schema 2 and schema-1 files, atomic writes, the index,
validation, and aggregation over seeds (mean, std, 95% t-interval); selection and splits."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from baselines import results
from baselines.results import Result, ResultError, Stat, aggregate, read_result, write_result

REPO = Path(__file__).resolve().parents[2]
# the schema-1 run files of results/ (the study summaries under results/studies are not runs)
ALL = results.result_files(REPO / "results")
OLD = [p for p in ALL if json.loads(p.read_text(encoding="utf-8")).get("schema_version") == 1]


def make(seed: int, accuracy: float, *, method: str = "pause", knob_value: int = 2, steps: int = 10,
         valid: float = 0.5) -> Result:
    metrics = {"n_examples": 8, "generated_tokens": 3.0, "latent_steps": float(knob_value), "forward_passes": 3.0,
               "inference_flops": 1e6, "step": 5}
    return Result.model_validate({
        "run_id": f"r-{method}-{knob_value}-{seed}-{steps}", "status": "completed", "method": method,
        "method_config": {"pauses": knob_value}, "knob": "pauses", "knob_value": knob_value, "task":
        {"name": "prosqa", "version": 1, "options": {}, "chance": 0.5}, "model": {"size": "tiny"}, "seed": seed,
        "budget": {"optimizer_steps": steps, "batch_size": 4, "examples_seen": 4 * steps, "train_flops": 1.0},
        "eval": [{"split": "valid", "accuracy": valid, **metrics}, {"split": "test", "accuracy": accuracy, **metrics}],
        "selection": {"evaluations": [(5, valid), (10, valid)], "selected_step": 5, "valid_examples": 8},
        "data": {s: {"source": "generated", "examples": 8, "task_version": 1, "generator_seed": 0}
                 for s in ("train", "valid", "test")},
        "recipe": {"method": method, "steps": steps, "seed": seed, "knob": knob_value},
        "environment": {"git_commit": "abc", "git_dirty": False, "device": "cpu", "precision": "fp32",
                        "versions": {}},
        "started_at": "2026-12-06T09:00:00+00:00", "finished_at": f"2026-12-06T09:0{seed}:00+00:00"})


def test_stat_mean_std_and_t_interval():
    stat = Stat.of([0.5, 0.6, 0.7])
    assert stat.n == 3 and stat.mean == pytest.approx(0.6) and stat.std == pytest.approx(0.1)
    half = 4.303 * 0.1 / math.sqrt(3)  # t(0.975, 2 degrees of freedom)
    assert (stat.low, stat.high) == (pytest.approx(0.6 - half), pytest.approx(0.6 + half))
    assert stat.text(100) == "60.0 ± 10.0 [35.2, 84.8]"
    single = Stat.of([0.25])
    assert (single.std, single.low, single.text(100)) == (None, None, "25.0")
    assert results.t_quantile_975(1) == 12.706 and results.t_quantile_975(35) == 2.042
    assert results.t_quantile_975(1000) == 1.960


def test_aggregate_groups_seeds_of_one_setting():
    runs = [make(0, 0.5), make(1, 0.6), make(2, 0.7), make(0, 0.9, knob_value=4), make(0, 0.1, steps=20)]
    groups = aggregate(runs)
    assert [(g.method, g.knob_value, g.seeds) for g in groups] == [("pause", 2, [0, 1, 2]), ("pause", 2, [0]),
                                                                   ("pause", 4, [0])]
    assert groups[0].stat().mean == pytest.approx(0.6) and groups[0].chance == 0.5
    assert groups[0].stat("accuracy", "valid").mean == pytest.approx(0.5)
    # a seed run twice counts once (its latest run)
    rerun = make(2, 0.1)
    rerun = rerun.model_copy(update={"run_id": "rerun", "finished_at": "2026-12-06T10:00:00+00:00"})
    assert aggregate(runs + [rerun])[0].stat().mean == pytest.approx((0.5 + 0.6 + 0.1) / 3)


def test_write_read_index_and_validate(tmp_path):
    result = make(0, 0.5)
    path = write_result(result, tmp_path)
    assert path == tmp_path / "prosqa" / "pause" / f"{result.run_id}.json"
    assert read_result(path) == result and not list(path.parent.glob(".tmp-*"))
    index, entries, problems = results.write_index(tmp_path)
    assert problems == [] and json.loads(index.read_text())["runs"] == entries
    assert entries[0]["valid_accuracy"] == 0.5 and entries[0]["selected_step"] == 5 and entries[0]["chance"] == 0.5
    (path.parent / "bad.json").write_text('{"schema_version": 2, "run_id": "bad"', encoding="utf-8")
    checked, found = results.validate(tmp_path)
    assert checked == 2 and list(found) == [path.parent / "bad.json"] and "not valid JSON" in found[path.parent / "bad.json"][0]


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(results.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_result(make(0, 0.5), tmp_path)
    assert list(tmp_path.rglob("*.json")) == []


def test_schema_2_completed_results_need_selection_provenance_and_both_splits():
    data = make(0, 0.5).model_dump()
    for missing in ("selection", "data", "recipe"):
        broken = {**data, missing: None if missing == "selection" else {}}
        with pytest.raises(ValueError, match=f"needs {missing}"):
            Result.model_validate(broken)
    with pytest.raises(ValueError, match=r"eval = \[valid, test\]"):
        Result.model_validate({**data, "eval": data["eval"][1:]})
    with pytest.raises(ValueError, match="newer than this code"):
        Result.model_validate({**data, "schema_version": 3})


@pytest.mark.skipif(not OLD, reason="no schema-1 files in results/")
def test_schema_1_files_are_still_read_and_marked(tmp_path):
    assert OLD  # the repository keeps some
    for path in OLD:
        result = read_result(path)
        assert result.schema_version == 1 and result.legacy and result.selection is None
        assert result.headline().split == "test"
    shutil.copytree(REPO / "results", tmp_path / "r", ignore=shutil.ignore_patterns("index.json"))
    assert results.validate(tmp_path / "r") == (len(ALL), {})
    groups = aggregate(results.read_results(tmp_path / "r"))
    legacy = [g for g in groups if g.legacy]
    assert legacy and all(r.schema_version == 1 for g in legacy for r in g.runs)
    assert all(r.schema_version == 2 for g in groups if not g.legacy for r in g.runs)  # never mixed


def test_read_errors_name_the_file_and_field(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({**make(0, 0.5).model_dump(mode="json"), "seed": "zero"}), encoding="utf-8")
    with pytest.raises(ResultError, match=r"x\.json: seed: Input should be a valid integer"):
        read_result(path)


# -- selection and splits (torch) -------------------------------------------------------------------

def test_evaluation_steps_and_the_first_best_is_kept():
    torch = pytest.importorskip("torch")
    from baselines.selection import Selector, evaluation_steps

    assert evaluation_steps(20, 2) == [10, 20] and evaluation_steps(3, 5) == [1, 2, 3] and evaluation_steps(7, 1) == [7]
    model = torch.nn.Linear(2, 1)
    selector = Selector(evaluation_steps(30, 3))
    for step, accuracy in ((10, 0.4), (20, 0.6), (30, 0.6)):
        assert selector.due(step)
        with torch.no_grad():
            model.weight.fill_(step)
        selector.offer(step, make(0, 0.5).eval[0].model_copy(update={"accuracy": accuracy}), model)
        assert not selector.due(step)
    assert selector.best_step == 20 and selector.evaluations == [(10, 0.4), (20, 0.6), (30, 0.6)]
    again = Selector.from_state(selector.state())
    again.restore(model)
    assert float(model.weight.detach()[0, 0]) == 20.0 and again.best_metrics.step == 20


def test_vocabulary_is_built_without_the_test_split():
    pytest.importorskip("torch")
    from baselines.splits import load_splits, unknown_token_fraction
    from baselines.tasks import get_task
    from baselines.tokenizer import build_tokenizer

    task = get_task("prosqa")
    splits = load_splits(task, 20, 5, 5, seed=0, eval_seed=0)
    texts = splits.vocabulary_texts()
    assert len(texts) == 25 and all(t.startswith(ex.question) for t, ex in zip(texts, splits.train + splits.valid))
    tokenizer = build_tokenizer(texts)
    assert unknown_token_fraction(tokenizer, splits.train) == 0.0
    assert splits.provenance["train"] == {"source": "generated", "examples": 20, "task_version": task.version,
                                          "generator_seed": 0}


def test_provenance_of_official_files_names_the_file_and_its_sha256():
    pytest.importorskip("torch")
    from baselines.data import resolve_data_dir, sha256_file
    from baselines.splits import load_splits
    from baselines.tasks import get_task

    data_dir = resolve_data_dir()
    task = get_task("prosqa", data_dir)
    if task.official_path("valid") is None:
        pytest.skip("no official ProsQA files in the data directory")
    splits = load_splits(task, 8, None, 10, seed=1, eval_seed=0)
    valid, test = splits.provenance["valid"], splits.provenance["test"]
    assert valid["source"] == "official" and valid["file"] == "coconut/prosqa_valid.json"
    assert valid["sha256"] == sha256_file(data_dir / "coconut" / "prosqa_valid.json")
    assert valid["examples"] == valid["file_examples"] == len(splits.valid)
    assert test["examples"] == 10 and test["file_examples"] >= 10
    assert splits.provenance["train"]["source"] == "generated" and splits.provenance["train"]["generator_seed"] == 1


def test_bench_report_prints_accuracy_over_seeds(tmp_path, capsys):
    from scripts.latent import main

    for seed, accuracy in ((0, 0.5), (1, 0.6), (2, 0.7)):
        write_result(make(seed, accuracy), tmp_path)
    assert main(["bench", "report", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "prosqa pause pauses=2 [no suite, 10 x 4]: 60.0 ± 10.0 [35.2, 84.8] over seeds [0, 1, 2] (chance 50)" in out
    assert "3 result(s)" in out and json.loads((tmp_path / "index.json").read_text())["schema_version"] == 2
