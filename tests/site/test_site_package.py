"""The site package with injected inputs (no live repository needed), and its new helpers:
statistics over seeds, short runs, benchmark sections, table facets, commands."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from site_fixture import FIXTURE_PAPERS, FIXTURE_RESULTS, REPO  # also puts site/ on sys.path

from atlas import benchmarks, tables  # isort: skip
from atlas.inputs import read_inputs, read_methods  # isort: skip
from atlas.model import SiteModel  # isort: skip
from atlas.pages import render_pages  # isort: skip
from atlas.results import is_too_short, reproduce, t_interval  # isort: skip


def test_hooks_file_is_a_thin_shim():
    source = (REPO / "site" / "hooks.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 25 and "AtlasHooks(load_inputs)" in source


def test_pages_from_injected_inputs_without_methods(tmp_path: Path):
    """With no implemented method injected, no page offers a command, and papers say 'planned'."""
    inputs = read_inputs(FIXTURE_PAPERS, FIXTURE_RESULTS, tmp_path / "none", methods=lambda: {})
    assert inputs.methods == {} and inputs.results  # the results still come from the fixture folder
    rendered = render_pages(SiteModel(inputs, repo_url="https://example.org/r"))
    assert "baselines/coconut.md" not in rendered.pages
    paper_blocks = " ".join(html for _, html in rendered.blocks["papers/hao2024training.md"])
    assert "Planned baseline: coconut" in paper_blocks and "latent bench run" not in paper_blocks
    assert not [src for src, text in rendered.pages.items() if "latent bench run --method coconut" in text]
    assert rendered.sources["papers/hao2024training.md"] == "catalog/papers/hao2024training.yaml"
    assert rendered.sources["tags/math.md"] == "catalog/tags.yaml"
    assert rendered.descriptions["papers/hao2024training.md"].startswith("Coconut")


def test_injected_methods_are_the_ones_the_site_uses(tmp_path: Path):
    methods = read_methods()
    only = {"pause": methods["pause"]}
    model = SiteModel(read_inputs(FIXTURE_PAPERS, FIXTURE_RESULTS, tmp_path / "none", methods=lambda: only, tasks=lambda: {}))
    assert set(model.method_pages) == {"pause"} and model.task_names() == []
    assert model.results["prosqa"].chance is None  # no task module declares it here
    assert model.run_it(model.catalog.by_id["goyal2023think"]).command == "latent bench run --method pause --task prosqa"
    assert model.run_it(model.catalog.by_id["hao2024training"]).command is None


def test_t_interval_matches_the_textbook():
    sd, low, high = t_interval([85.0, 86.0])
    assert math.isclose(sd, 0.7071, rel_tol=1e-3)
    assert math.isclose(high - 85.5, 12.706 * 0.5, rel_tol=1e-3) and math.isclose(85.5 - low, high - 85.5)
    assert t_interval([50.0]) is None
    many = [float(i % 7) for i in range(40)]  # beyond the table: the normal quantile
    sd, low, high = t_interval(many)
    assert math.isclose((high - low) / 2, 1.96 * sd / math.sqrt(40), rel_tol=1e-9)


def test_short_runs_and_reproduce_commands(tmp_path: Path):
    inputs = read_inputs(FIXTURE_PAPERS, FIXTURE_RESULTS, tmp_path / "none")
    by_suite = {r.suite for r in inputs.results}
    assert {"mult4-short", "fixture"} <= by_suite
    mult = next(r for r in inputs.results if r.suite == "mult4-short")
    assert is_too_short(mult) and not is_too_short(next(r for r in inputs.results if r.suite == "fixture"))
    coconut = next(r for r in inputs.results if r.method == "coconut" and r.knob_value == 6 and r.seed == 1)
    command = reproduce(coconut)
    assert command.startswith("latent bench run --method coconut --task prosqa --model-size tiny")
    assert f"--steps {coconut.budget.optimizer_steps} --batch-size {coconut.budget.batch_size}" in command
    assert command.endswith("--knob 6 --seed 1")
    model = SiteModel(inputs)
    assert model.results["prosqa"].chance == 0.5  # declared by baselines/tasks/prosqa.py
    assert model.results["multiplication-digits-4"].chance == 0.0 and model.results["multiplication-digits-4"].too_short


def test_table_facets_and_row_attributes(tmp_path: Path):
    model = SiteModel(read_inputs(FIXTURE_PAPERS, FIXTURE_RESULTS, tmp_path / "none"))
    pause = model.by_node["pause-tokens"]
    facets = tables.facets(model, pause)
    assert facets.years == [2024, 2023]
    assert [n for n, _, _ in facets.nodes][-1] == "pause-tokens" and facets.nodes[0][2] == 0  # root first, then depth
    assert "pause-tokens" in facets.tags and facets.venues[0] in {p.venue for p in pause}
    attrs = tables.row_attrs(model, model.catalog.by_id["goyal2023think"])
    assert attrs["year"] == "2023" and "pause-tokens" in attrs["nodes"].split() and attrs["baseline"] == "1"
    assert tables.row_attrs(model, model.catalog.by_id["arefin2024seq"])["baseline"] == "0"


@pytest.mark.parametrize(
    ("key", "words"),
    [("step_ms", "step (milliseconds)"), ("wall_s", "wall (seconds)"), ("peak_gib", "peak (GiB)"),
     ("tokens_per_s", "tokens per second"), ("step_ms_min", "step (milliseconds), min"), ("mfu", "MFU (share of the peak bf16 matmul throughput)")],
)  # fmt: skip
def test_benchmark_fields_in_words(key: str, words: str):
    assert benchmarks.words(key) == words


def test_benchmark_section_is_compact():
    data = {
        "title": "T", "description": "D", "device": "GPU X", "torch": "2.11", "best": 0.5,
        "rows": [{"case": "a", "seq": 1024, "wall_s": 1.0}, {"case": "b", "seq": 1024, "wall_s": 2.5}],
    }  # fmt: skip
    s = benchmarks.section("thing", data, script_exists=True)
    assert s.command == "python benchmarks/thing.py"  # no command recorded: the script of the same name
    assert s.measured_on == "GPU X; torch 2.11" and s.figures == [("best", "0.5")]
    table = s.tables[0]
    assert table.columns == ["case", "wall (seconds)"] and table.same == [("sequence length (tokens)", "1024")]
    assert benchmarks.section("x", {"command": "python benchmarks/x.py --n 3"}, script_exists=False).command.endswith("--n 3")


def test_timeline_starts_in_a_january_so_the_first_bar_says_the_truth(tmp_path: Path):
    papers = tmp_path / "papers"
    papers.mkdir()
    for name in ("hochreiter1997long", "hao2024training", "goyal2023think"):
        text = (FIXTURE_PAPERS / f"{name}.yaml").read_text(encoding="utf-8")
        if name == "hao2024training":
            text = text.replace("date: 2024-12-09", "date: 2024-06-09")  # newest paper in June
        (papers / f"{name}.yaml").write_text(text, encoding="utf-8")
    model = SiteModel(read_inputs(papers, tmp_path / "no-results", tmp_path / "none"))
    months, series = model.timeline()
    assert max(p.date for p in model.papers).month == 6
    # 96 months back from June 2024 is July 2016: the chart starts at the next January instead
    assert months[0] == "before 2017" and months[1] == "2017-01" and months[-1] == "2024-06"
    assert series and sum(counts[0] for _, counts in series) == 1  # the 1997 paper, and only it
