"""The site's helper modules on their own: escaping, charts, inputs read from source, the model."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from atlas.charts import Series, compute_plot, stacked_bars
from atlas.inputs import InputError, Inputs, read_benchmarks, read_inputs, read_modules, read_results
from atlas.model import SiteModel
from atlas.results import by_task
from atlas.text import code_fence, doc_markdown, md_escape, page_url, safe_url, short_authors, url_prefix
from markdown import markdown
from site_fixture import FIXTURE_PAPERS, FIXTURE_RESULTS, REPO

from catalog.load import load_catalog

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "{: onclick=\"alert(1)\" }",
    "a | b `c` *d* _e_ <!-- f --> &amp;",
    "line one\n# heading\n    indented code",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_escape_renders_as_the_same_text(payload: str):
    """Through Python-Markdown (with the site's extensions) an escaped string comes out as text."""
    html = markdown(f"Before {md_escape(payload)} after", extensions=["attr_list", "tables", "admonition", "toc"])
    assert html.startswith("<p>") and html.count("<") == 2  # only <p> and </p>: no markup made
    from html import unescape

    assert unescape(html[3:-4]) == "Before " + " ".join(payload.split()) + " after"


def test_md_escape_in_a_table_cell_keeps_the_columns():
    table = f"| a | b |\n|---|---|\n| {md_escape('x | y')} | z |\n"
    html = markdown(table, extensions=["tables"])
    assert html.count("<td>") == 2


def test_safe_url():
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("data:text/html,<b>") is None
    assert safe_url("https://github.com/a/b") == "https://github.com/a/b"
    hostile = safe_url("https://example.org/x\"><script>alert(1)</script>?a=1&b=2")
    assert '"' not in hostile and "<" not in hostile and "'" not in hostile
    assert hostile.endswith("?a=1&amp;b=2")


def test_code_fence_outgrows_backticks_in_its_text():
    fence = code_fence("title = {a ``` b ```` c}", "bibtex")
    assert fence.startswith("`````bibtex\n") and fence.endswith("\n`````")


def test_authors_and_urls():
    assert short_authors(["Shibo Hao"]) == "Hao"
    assert short_authors(["Shibo Hao", "Yuandong Tian"]) == "Hao & Tian"
    assert short_authors(["Shibo Hao", "B C", "D E"]) == "Hao et al."
    assert short_authors(["Ludwig van Beethoven", "X Y", "Z W"]) == "van Beethoven et al."
    assert page_url("index.md") == "" and page_url("papers/x.md") == "papers/x/"
    assert page_url("taxonomy/a/index.md") == "taxonomy/a/" and page_url("downloads/catalog.bib") == "downloads/catalog.bib"
    assert page_url("papers/x.md", directory_urls=False) == "papers/x.html"
    assert url_prefix("tags/math.md") == "../../" and url_prefix("papers/index.md") == "../" and url_prefix("index.md") == ""


def test_docstrings_render_as_markdown_with_html_escaped():
    text = "Title line.\n\nProse with `<bot>` and <b>, *stressed*, k*c and n*m:\n- one\n- two\n\nOptions:\n  a=1   first\n  b=2   second"
    out = markdown(str(doc_markdown(text)), extensions=["pymdownx.superfences"])
    assert "<code>&lt;bot&gt;</code>" in out and "&lt;b&gt;" in out and "<b>" not in out  # code shown, HTML escaped
    assert "<em>stressed</em>" in out and out.count("<li>") == 2  # Markdown rendered, the list too
    assert "k*c and n*m" in out  # products are not emphasis
    assert "<pre" in out and "a=1   first" in out  # the indented table kept as preformatted text
    assert "`" not in out  # no literal backticks


def test_stacked_bars_and_compute_plot_escape_labels():
    svg = stacked_bars(["before 2018", "2024-01", "2024-02"], [("<b>A</b>", [1, 2, 0]), ("B", [0, 1, 3])], "t")
    assert svg.count("<rect") == 4 and "<b>" not in svg and "&lt;b&gt;A" in svg and "before 2018" in svg
    plot = compute_plot([Series("<i>m</i>", [(1e6, 50.0, "k=1", None), (1e8, 75.0, "k=4", (70.0, 80.0))])], "FLOPs", "title", chance=0.5)
    assert "<polyline" in plot and "<i>" not in plot and "1e6" in plot and "1e8" in plot
    assert plot.count('class="atlas-interval"') == 1 and "chance 50%" in plot


def test_read_modules_from_source_without_importing(tmp_path: Path):
    (tmp_path / "base.py").write_text(
        "from dataclasses import dataclass\n@dataclass\nclass MethodConfig:\n    max_new_tokens: int = 64\n", encoding="utf-8"
    )
    (tmp_path / "looped.py").write_text(
        textwrap.dedent('''
            """Looped transformer: one block applied k times.

            Compute knob: `loops`.
            """
            import torch_that_is_not_installed
            from dataclasses import dataclass

            @dataclass
            class Config(MethodConfig):
                loops: int = 4
                width: int = 128

            class Looped(SomeBase):
                name = "looped"
                paper = "x2024looped"
                Config = Config
                knob = "loops"

            class LoopedDeep(Looped):
                """Eight loops."""
                name = "looped_deep"
        '''),
        encoding="utf-8",
    )  # fmt: skip
    (tmp_path / "_helper.py").write_text("x = 1\n", encoding="utf-8")
    modules = read_modules(tmp_path)
    assert list(modules) == ["looped"]
    info = modules["looped"]
    assert info.summary == "Looped transformer: one block applied k times."
    assert info.attrs == {"name": "looped", "paper": "x2024looped", "knob": "loops"}
    assert [(f.name, f.default) for f in info.config] == [("max_new_tokens", "64"), ("loops", "4"), ("width", "128")]
    assert info.variants == {"looped_deep": "Eight loops."}
    (tmp_path / "broken.py").write_text("def (:\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.py:1: cannot parse"):
        read_modules(tmp_path)


def test_unreadable_results_and_benchmarks_name_the_file(tmp_path: Path):
    bad = tmp_path / "results" / "prosqa" / "cot"
    bad.mkdir(parents=True)
    (bad / "r1.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"r1\.json: not a valid result"):
        read_results(tmp_path / "results")
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "b.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match=r"b\.json: expected a JSON object"):
        read_benchmarks(tmp_path / "bench")
    assert read_results(tmp_path / "missing") == [] and read_benchmarks(tmp_path / "missing") == []


@pytest.fixture(scope="module")
def model() -> SiteModel:
    inputs = read_inputs(FIXTURE_PAPERS, FIXTURE_RESULTS, FIXTURE_PAPERS / "no-benchmarks")
    return SiteModel(inputs)


def test_related_papers_rank_by_overlap_then_date(model: SiteModel):
    xss = model.catalog.by_id["xss2024script"]
    related = [(p.id, nodes, tags) for p, nodes, tags, _ in model.related(xss)]
    # both share the node (2) and the pause-tokens tag (1): the tie goes to the newer paper;
    # papers sharing nothing are not related
    assert related == [
        ("arefin2024seq", ["pause-tokens"], ["pause-tokens"]),
        ("goyal2023think", ["pause-tokens"], ["pause-tokens"]),
    ]
    hao = model.catalog.by_id["hao2024training"]
    ranked = [p.id for p, *_ in model.related(hao)]
    assert len(ranked) <= 6 and "hao2024training" not in ranked
    # Coconut reports iCoT and pause-token numbers: the papers implementing them come first,
    # before papers that share its categories or tags only
    assert ranked[:2] == ["deng2024explicit", "goyal2023think"]
    assert all(link for _, _, _, link in model.related(hao)[:2])


def test_run_it(model: SiteModel):
    own = model.run_it(model.catalog.by_id["hao2024training"])
    assert (own.method, own.own, own.implemented, own.task) == ("coconut", True, True, "prosqa")
    inherited = model.run_it(model.catalog.by_id["bae2024relaxed"])  # architectural-recurrence -> looped
    assert inherited.method == model.taxonomy.nodes["architectural-recurrence"].baseline and not inherited.own
    assert inherited.implemented == (inherited.method in model.method_pages)
    assert model.run_it(model.catalog.by_id["biran2024hopping"]) is None  # interpretability: none


def test_results_leaderboard_and_sweep(model: SiteModel):
    prosqa = model.results["prosqa"]
    board = prosqa.leaderboard()
    assert [r.method for r in board] == ["coconut", "cot", "no_cot", "pause"]
    coconut = board[0]
    assert (coconut.knob_value, coconut.runs, round(coconut.accuracy, 1)) == (6, 2, 85.5)
    assert [len(s.points) for s in prosqa.sweep()] == [4, 1, 1, 3]
    assert [r.failure for r in prosqa.failed] == ["non-finite loss at step 112"]
    assert list(by_task(model.inputs.results)) == ["multiplication-digits-4", "prosqa"]


def test_timeline_counts_every_paper_once(model: SiteModel):
    months, series = model.timeline()
    assert sum(sum(counts) for _, counts in series) == len(model.papers)
    assert months[0] == "before 2017" and months[-1] == "2024-12"
    table = model.per_year_table()
    assert table.total == len(model.papers) == sum(table.totals)


def test_site_build_imports_no_torch(tmp_path: Path):
    """The whole build, in a fresh interpreter, without torch ever being imported."""
    code = textwrap.dedent(f"""
        import sys
        from mkdocs.commands.build import build
        from mkdocs.config import load_config
        build(load_config({str(REPO / 'mkdocs.yml')!r}, site_dir=sys.argv[1], strict=True))
        assert "torch" not in sys.modules, "torch was imported"
        print("ok")
    """)
    env = {**os.environ, "LATENT_PAPERS_DIR": str(FIXTURE_PAPERS), "LATENT_RESULTS_DIR": str(FIXTURE_RESULTS), "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "out")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stdout + proc.stderr


def test_benchmark_generator_writes_a_valid_catalog(tmp_path: Path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from site_build import generate_catalog
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    generate_catalog(30, tmp_path, seed=1)
    catalog = load_catalog(tmp_path)
    assert len(catalog.papers) == 30
    assert all(p.date <= dt.date.today() for p in catalog.papers)
    json.dumps([p.model_dump(mode="json") for p in catalog.papers])


def _study(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / name
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    return folder


def test_read_studies_reads_a_complete_study_and_a_readme_only_one(tmp_path: Path):
    from atlas.inputs import read_studies
    from atlas.studies import INCOMPLETE, NOT_RUN, RESULTS, study_page

    summary = {
        "rows": [{"model": "a", "accuracy": {"n": 3, "mean": 0.5}}],
        "sweep": [{"model": "a", "accuracy": {"n": 2, "mean": 0.4}}],  # nested anywhere: still found
        "provenance": {"devices": ["GPU X"], "git_commits": ["abc"], "precision": ["bf16"],
                       "selection": "best validation", "budget": {"optimizer_steps": 10}},
        "command": "python -m study run",
    }  # fmt: skip
    _study(tmp_path, "full", {
        "README.md": "# Full study\n\nWhat it asks, in `one` paragraph.\n\n## More\n\n`acc.svg` / `acc.png`: accuracy by depth.\n",
        "summary.json": json.dumps(summary),
        "acc.svg": "<svg/>", "acc.png": "png", "loss.png": "png",  # the SVG wins; loss has only a PNG
        "table.md": "| a | b |\n|---|---|\n| 1 | 2 |\n",
        "extra.json": "{}",
        "runs/p_hop/looped/r1.json": "{}", "runs/p_hop/looped/r2.json": "{}",
    })  # fmt: skip
    _study(tmp_path, "planned", {"README.md": "# Planned\n\nNot run yet.\n"})
    full, planned = read_studies(tmp_path)

    assert (full.name, full.plots, full.data_files, full.run_files) == ("full", ["acc.svg", "loss.png"], ["extra.json", "summary.json"], 2)
    assert full.summary == summary and full.table.startswith("| a | b |") and full.readme.startswith("# Full study")
    page = study_page(full)
    assert (page.title, page.description) == ("Full study", "What it asks, in `one` paragraph.")
    assert page.status == INCOMPLETE and page.min_seeds == 2 and page.status_text == "incomplete (2 seeds)"
    assert page.plots == [("acc.svg", "accuracy by depth."), ("loss.png", "Full study: plot loss.png")]
    assert dict(page.provenance) == {"Devices": "GPU X", "Git commits": "abc", "Precision": "bf16",
                                     "Selection rule": "best validation", "Budget": "optimizer_steps: 10"}  # fmt: skip
    assert page.command == "python -m study run" and page.src == "results/studies/full/index.md"

    assert (planned.summary, planned.plots, planned.run_files, planned.has_results) == (None, [], 0, False)
    assert study_page(planned).status == NOT_RUN and study_page(planned).status_text == "not run yet"

    summary["sweep"][0]["accuracy"]["n"] = 3
    (tmp_path / "full" / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert study_page(read_studies(tmp_path)[0]).status == RESULTS
    assert read_studies(tmp_path / "no-such-folder") == []


@pytest.mark.parametrize("text, message", [('{"rows": [1, }', "not valid JSON"), ("[1, 2]", "expected a JSON object")])
def test_read_studies_names_a_malformed_summary(tmp_path: Path, text: str, message: str):
    from atlas.inputs import read_studies

    _study(tmp_path, "broken", {"README.md": "# Broken\n", "summary.json": text})
    with pytest.raises(InputError) as info:
        read_studies(tmp_path)
    assert str(tmp_path / "broken" / "summary.json") in str(info.value) and message in str(info.value)


def test_read_inputs_takes_the_studies_reader(tmp_path: Path):
    seen = []
    inputs = read_inputs(FIXTURE_PAPERS, tmp_path, tmp_path, methods=dict, tasks=dict, studies=lambda root: seen.append(root) or [])
    assert seen == [tmp_path / "studies"] and inputs.studies == []


def test_runs_are_averaged_only_within_one_setting_and_shortened_runs_say_so():
    """Runs of one method under two budgets are two rows: the leaderboard takes the larger budget,
    the other is listed apart; a suite run below the suite's budget is labelled shortened; an
    interval over bimodal seeds stays inside 0..100."""
    from atlas.results_text import accuracy_cell

    from baselines.results import Result
    from baselines.suites import SUITES

    base = Result.model_validate_json((FIXTURE_RESULTS / "multiplication" / "cot" / "cot-s0.json").read_text())

    def run(seed: int, steps: int, accuracy: float) -> Result:
        test = base.eval[-1].model_copy(update={"accuracy": accuracy})
        budget = base.budget.model_copy(update={"optimizer_steps": steps, "batch_size": 128,
                                                "examples_seen": steps * 128})
        return base.model_copy(update={"run_id": f"r{seed}-{steps}", "seed": seed, "suite": "mult5-repro",
                                       "budget": budget, "eval": [*base.eval[:-1], test]})

    runs = [run(0, 1300, 0.1), run(1, 1300, 0.1), run(2, 1300, 1.0), run(0, 2600, 1.0), run(1, 2600, 1.0)]
    [task] = by_task(runs).values()
    [row] = task.leaderboard()
    assert (row.runs, row.examples, row.accuracy) == (2, 2600 * 128, 100.0)
    [other] = task.other_settings()
    assert other.runs == 3 and "1300 × 128" in other.setting
    assert other.ci is not None and 0.0 <= other.ci[0] and other.ci[1] <= 100.0  # clipped
    full = SUITES["mult5-repro"].steps
    assert row.shortened == f"2,600 of the suite's {full:,} optimizer steps"
    assert "shortened: 2,600 of the suite" in str(accuracy_cell(row))
    assert [r.setting for r in task.rows()] == [row.setting]  # sweeps use the leaderboard's setting
