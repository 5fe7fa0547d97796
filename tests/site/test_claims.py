"""The claims table: the verdict rules on synthetic groups, the real results/claims.yaml read
against the real catalog and results (every claim "not run yet"), the page built from the real
repository, and a malformed file named with its field."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from site_fixture import build_site

from atlas.claims import FAILS, HOLDS, INCONCLUSIVE, NOT_RUN, evaluate, read_claims, verdict
from atlas.inputs import InputError, read_results
from baselines.results import Group
from catalog.load import load_catalog

REPO = Path(__file__).resolve().parents[2]
CLAIMS = REPO / "results" / "claims.yaml"


def group(method: str, values: list[float], metric: str = "accuracy") -> Group:
    """A group of runs (one per seed) whose test `metric` takes `values`."""
    runs = [SimpleNamespace(seed=i, metrics=lambda split, v=v: SimpleNamespace(**{metric: v}) if split == "test" else None)
            for i, v in enumerate(values)]
    return Group("prosqa", {}, method, None, None, "{}", runs)


def judge(kind: str, threshold: float, a: list[float], b: list[float], metric: str = "accuracy") -> str:
    return verdict(kind, threshold, group("a", a, metric).stat(metric), group("b", b, metric).stat(metric))


def test_greater_rule():
    assert judge("greater", 0.10, [0.95, 0.96, 0.97], [0.50, 0.52, 0.51]) == HOLDS
    assert judge("greater", 0.10, [0.52, 0.50, 0.51], [0.50, 0.52, 0.51]) == FAILS  # no gap at all
    assert judge("greater", 0.10, [0.30, 0.90, 0.65], [0.50, 0.52, 0.51]) == INCONCLUSIVE  # wide interval
    assert judge("greater", 0.10, [0.95, 0.96], [0.50, 0.52, 0.51]) == NOT_RUN  # 2 seeds
    assert verdict("greater", 0.10, None, group("b", [0.5, 0.5, 0.5]).stat()) == NOT_RUN  # no runs


def test_similar_rule():
    assert judge("similar", 0.05, [0.96, 0.97, 0.96], [0.95, 0.96, 0.96]) == HOLDS
    assert judge("similar", 0.05, [0.96, 0.97, 0.96], [0.70, 0.71, 0.70]) == FAILS
    assert judge("similar", 0.05, [0.60, 0.95, 0.80], [0.80, 0.81, 0.80]) == INCONCLUSIVE
    assert verdict("similar", 0.05, group("a", [0.9]).stat(), group("b", [0.9, 0.9, 0.9]).stat()) == NOT_RUN


def test_ratio_rule():
    kw = {"metric": "generated_tokens"}
    assert judge("ratio", 2.0, [30.0, 31.0, 30.5], [7.0, 7.0, 7.1], **kw) == HOLDS
    assert judge("ratio", 2.0, [8.0, 8.1, 8.0], [7.0, 7.0, 7.1], **kw) == FAILS
    assert judge("ratio", 2.0, [5.0, 30.0, 16.0], [7.0, 7.0, 7.1], **kw) == INCONCLUSIVE
    assert judge("ratio", 2.0, [30.0, 31.0], [7.0, 7.0, 7.1], **kw) == NOT_RUN


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REPO / "catalog" / "papers", methods_dir=REPO / "baselines" / "methods")


def test_real_claims_read_the_catalog_and_are_not_run_yet(catalog):
    claims = read_claims(CLAIMS, catalog.by_id)
    assert [c.id for c in claims] == ["coconut-beats-no-cot-prosqa", "coconut-matches-pause-as-thought-prosqa",
                                      "icot-beats-no-cot-mult4", "cot-tokens-vs-coconut-prosqa",
                                      "cot-tokens-vs-icot-prosqa"]
    results = read_results(REPO / "results")
    for claim in claims:
        view = evaluate(claim, catalog.by_id, results)
        assert view.verdict == NOT_RUN, claim.id
        for row, found in view.paper_numbers:  # the numbers come from the catalog's rows
            assert found in catalog.by_id[claim.paper].results
            assert (found.task, found.method, found.setting) == (row["task"], row["method"], row.get("setting"))
    first = evaluate(claims[0], catalog.by_id, results)
    assert [found.value for _, found in first.paper_numbers] == [97.0, 76.7]  # Coconut Table 1, ProsQA
    # the short runs of results/ are of another suite: none of them counts
    assert all(g is None for g in first.ours.values())


def test_shortened_runs_never_refute_a_claim(catalog):
    """The same numbers refute a claim at the suite's budget, and are inconclusive when shortened."""
    from baselines.results import Result

    [claim] = [c for c in read_claims(CLAIMS, catalog.by_id) if c.id == "icot-beats-no-cot-mult4"]
    base = Result.model_validate_json((REPO / "tests" / "fixtures" / "results" / "multiplication" / "cot"
                                       / "cot-s0.json").read_text())
    assert base.task["name"] == "multiplication" and base.task["options"] == {"digits": 4}

    def run(method: str, seed: int, steps: int) -> Result:
        test = base.eval[-1].model_copy(update={"accuracy": 0.0})
        budget = base.budget.model_copy(update={"optimizer_steps": steps, "batch_size": 128,
                                                "examples_seen": steps * 128})
        return base.model_copy(update={"run_id": f"{method}-{seed}", "method": method, "seed": seed,
                                       "suite": "mult4-repro", "budget": budget, "eval": [*base.eval[:-1], test]})

    full = [run(m, s, 20000) for m in ("icot", "no_cot") for s in range(3)]
    short = [run(m, s, 2000) for m in ("icot", "no_cot") for s in range(3)]
    assert evaluate(claim, catalog.by_id, full).verdict == FAILS
    assert evaluate(claim, catalog.by_id, short).verdict == INCONCLUSIVE


@pytest.mark.parametrize("edit, field", [
    (lambda c: c.pop("metric"), "field `metric`: missing"),
    (lambda c: c.update(rule={"kind": "greater"}), "field `rule`"),
    (lambda c: c.update(a="transformer"), "field `a`: method 'transformer' is not in suite prosqa-repro"),
    (lambda c: c.update(paper_rows=[{"task": "prosqa", "method": "nope"}]), "field `paper_rows[0]`"),
    (lambda c: c.update(paper="nope2024"), "field `paper`"),
])
def test_a_malformed_claim_names_the_file_and_field(catalog, tmp_path, edit, field):
    import yaml

    data = yaml.safe_load(CLAIMS.read_text(encoding="utf-8"))
    edit(data["claims"][0])
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_claims(path, catalog.by_id)
    assert str(path) in str(info.value) and "coconut-beats-no-cot-prosqa" in str(info.value)
    assert field in str(info.value)


@pytest.mark.slow
def test_real_repository_builds_the_claims_page(tmp_path):
    proc = build_site(tmp_path / "out", REPO / "catalog" / "papers", REPO / "results")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "out" / "results" / "claims" / "index.html").read_text(encoding="utf-8")
    for claim_id in ("coconut-beats-no-cot-prosqa", "icot-beats-no-cot-mult4", "cot-tokens-vs-icot-prosqa"):
        assert f'id="{claim_id}"' in html
    assert html.count("<strong>not run yet</strong>") == 5
    assert "coconut 97.0 (accuracy on prosqa" in html and "(pause as thought) 96.6" in html
    assert 'href="claims/"' in (tmp_path / "out" / "results" / "index.html").read_text(encoding="utf-8")


def test_a_malformed_claims_file_fails_the_build(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "claims.yaml").write_text("claims:\n  - id: broken\n    statement: x\n", encoding="utf-8")
    proc = build_site(tmp_path / "out", REPO / "catalog" / "papers", results)
    assert proc.returncode != 0
    assert "claims.yaml: claim 'broken' (claims[0]): field `paper`: missing" in proc.stderr
    assert "Traceback" not in proc.stderr
