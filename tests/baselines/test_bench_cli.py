"""`latent bench ...` end to end, in process: the smoke suite, ls, report, validate, user errors."""

from __future__ import annotations

import json

import pytest

from baselines.methods import all_methods
from baselines.results import Result
from baselines.tasks import available_tasks
from scripts.latent import main


def bench(*args: str) -> int:
    return main(["bench", *args])


@pytest.mark.slow
def test_smoke_suite_runs_every_method_and_writes_valid_results(tmp_path, capsys):
    results = tmp_path / "results"
    assert bench("run", "--suite", "smoke", "--device", "cpu", "--results-dir", str(results),
                 "--checkpoint-dir", str(tmp_path / "ck"), "--no-progress") == 0
    files = sorted(results.glob("*/*/*.json"))
    assert sorted(p.parent.name for p in files) == sorted(all_methods())
    for path in files:
        result = Result.model_validate_json(path.read_text())
        assert result.status == "completed" and result.suite == "smoke"
        assert [(m.split, m.n_examples) for m in result.eval] == [("valid", 16), ("test", 16)]
        assert result.selection.selected_step in (10, 20) and result.data["test"].source == "generated"
    capsys.readouterr()
    assert bench("validate", "--results-dir", str(results)) == 0
    assert f"{len(files)} result file(s) checked, 0 invalid" in capsys.readouterr().out
    assert bench("report", "--results-dir", str(results)) == 0
    table = capsys.readouterr().out
    assert all(name in table for name in all_methods())
    index = json.loads((results / "index.json").read_text())
    assert len(index["runs"]) == len(files) and {r["method"] for r in index["runs"]} == set(all_methods())


def test_run_one_method_with_options(tmp_path, capsys):
    code = bench("run", "--method", "pause", "--task", "multiplication", "--task-option", "digits=2", "--knob", "3",
                 "--method-option", "max_new_tokens=8", "--steps", "3", "--batch-size", "4", "--train-n", "16",
                 "--valid-n", "4", "--test-n", "4", "--evals", "1", "--latency-n", "1", "--n-positions", "64", "--device", "cpu",
                 "--results-dir", str(tmp_path / "r"), "--checkpoint-dir", str(tmp_path / "ck"), "--no-progress")
    assert code == 0
    assert "pauses=3" in capsys.readouterr().out
    [path] = (tmp_path / "r").glob("multiplication/pause/*.json")
    result = Result.model_validate_json(path.read_text())
    assert result.knob_value == 3 and result.method_config["max_new_tokens"] == 8 and result.budget.examples_seen == 12


def test_ls_lists_methods_knobs_tasks_and_suites(capsys):
    assert bench("ls", "--json") == 0
    listing = json.loads(capsys.readouterr().out)
    assert {m["name"] for m in listing["methods"]} == set(all_methods())
    pause = next(m for m in listing["methods"] if m["name"] == "pause")
    assert pause["knob"] == "pauses" and pause["knob_default"] == 10 and pause["paper"] == "goyal2023think"
    assert {t["name"] for t in listing["tasks"]} == set(available_tasks())
    assert {"smoke", "prosqa-short", "mult4-short"} <= set(listing["suites"])
    assert bench("ls") == 0
    assert "knob pauses (default 10)" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["run", "--method", "pause"], "give --method and --task"),
    (["run", "--method", "nope", "--task", "prosqa"], "unknown method 'nope'"),
    (["run", "--method", "cot", "--task", "nope"], "unknown task 'nope'"),
    (["run", "--method", "cot", "--task", "multiplication", "--task-option", "digits"], "expected KEY=VALUE"),
    (["run", "--method", "cot", "--task", "multiplication", "--task-option", "size=2"], "unknown option(s) size"),
    (["run", "--method", "cot", "--task", "gsm8k"], "--train-file"),
    (["run", "--suite", "nope"], "unknown suite 'nope'"),
    (["run", "--suite", "mult4-repro", "--method", "pause"], "method(s) pause not in the suite"),
    (["sweep", "--method", "cot", "--task", "prosqa", "--knob-values", "1,2"], "cot has no compute knob"),
    (["sweep", "--method", "pause", "--task", "prosqa", "--knob-values", "a"], "comma-separated numbers"),
])
def test_user_errors_are_one_line_without_traceback(args, message, capsys, tmp_path):
    code = bench(*args, "--device", "cpu", "--results-dir", str(tmp_path), "--checkpoint-dir", str(tmp_path / "ck"),
                 "--data-dir", str(tmp_path))
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert err.startswith("error: ")


def test_validate_names_the_file_and_field(tmp_path, capsys):
    folder = tmp_path / "prosqa" / "cot"
    folder.mkdir(parents=True)
    (folder / "broken.json").write_text('{"schema_version": 1, "run_id": "broken"}')
    assert bench("validate", "--results-dir", str(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "broken.json: status: Field required" in out and "1 invalid" in out
    assert bench("report", "--results-dir", str(tmp_path)) == 1  # reported, skipped from the index
    assert json.loads((tmp_path / "index.json").read_text())["runs"] == []
