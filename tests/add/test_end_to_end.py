"""The real `latent` command in a subprocess against a recorded arXiv API on 127.0.0.1, then
`latent check`, then (where the site exists) the site build finds the new paper's page."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from recorded_arxiv import RecordedArxiv

from catalog import REPO_ROOT

LATENT = REPO_ROOT / ".venv" / "bin" / "latent"
MKDOCS = REPO_ROOT / ".venv" / "bin" / "mkdocs"
TLDR = (
    "A decoder whose middle block is iterated a variable number of times, so test-time compute grows "
    "in depth instead of in written tokens; accuracy on reasoning benchmarks rises with the iterations."
)


def latent(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(LATENT)] if LATENT.exists() else [sys.executable, "-m", "scripts.latent"]
    full_env = {key: value for key, value in os.environ.items() if key != "LATENT_ARXIV_API"}
    full_env.update({"HF_HUB_OFFLINE": "1", **(env or {})})
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, env=full_env, cwd=REPO_ROOT)


@pytest.fixture
def api() -> Iterator[RecordedArxiv]:
    with RecordedArxiv() as server:  # real clock: a single request, nothing to wait for
        yield server


def test_add_then_check_passes(api: RecordedArxiv, papers: Path) -> None:
    added = latent("add", "https://arxiv.org/abs/2502.05171v1", "--api-url", api.url, "--papers-dir", str(papers),
                   "--taxonomy", "architectural-recurrence", "--tag", "recurrent-depth", "--tag", "test-time-scaling",
                   "--tag", "pretraining", "--tldr", TLDR)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "geiping2025scaling.yaml" in added.stdout
    assert [r.params["id_list"] for r in api.requests] == ["2502.05171"]
    entry = yaml.safe_load((papers / "geiping2025scaling.yaml").read_text(encoding="utf-8"))
    assert entry["title"] == "Scaling up Test-Time Compute with Latent Reasoning: A Recurrent Depth Approach"
    assert entry["tldr"] == TLDR

    checked = latent("check", "--papers-dir", str(papers))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 errors" in checked.stdout or "no problems" in checked.stdout


def test_add_from_environment_url_then_check_reports_todo(api: RecordedArxiv, papers: Path) -> None:
    added = latent("add", "2005.14165", "--papers-dir", str(papers), env={"LATENT_ARXIV_API": api.url})
    assert added.returncode == 0, added.stderr
    assert "still to fill in (marked TODO): taxonomy, tldr" in added.stdout

    checked = latent("check", "--papers-dir", str(papers), "--format", "github")
    assert checked.returncode == 1
    todo = [line for line in checked.stdout.splitlines() if "still to fill in" in line]
    assert len(todo) == 2 and all(line.startswith("::error file=") and "brown2020language.yaml" in line for line in todo)


def test_failure_exits_non_zero_without_traceback(api: RecordedArxiv, papers: Path) -> None:
    added = latent("add", "2412.99999", "--api-url", api.url, "--papers-dir", str(papers))
    assert added.returncode == 1
    assert "arXiv has no record for 2412.99999" in added.stderr and "Traceback" not in added.stderr
    assert list(papers.iterdir()) == []


@pytest.mark.slow
def test_added_paper_gets_a_site_page(api: RecordedArxiv, papers: Path, tmp_path: Path) -> None:
    if not (REPO_ROOT / "mkdocs.yml").is_file():
        pytest.skip("mkdocs.yml is not in the repository yet: the site build cannot be tested")
    added = latent("add", "2502.05171", "--api-url", api.url, "--papers-dir", str(papers),
                   "--taxonomy", "architectural-recurrence", "--tag", "recurrent-depth", "--tldr", TLDR)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert latent("check", "--papers-dir", str(papers)).returncode == 0

    site_dir = tmp_path / "site"
    # a catalog of its own, so no results either: the repository's claims name papers it lacks
    results = tmp_path / "results"
    results.mkdir()
    env = {**os.environ, "LATENT_PAPERS_DIR": str(papers), "LATENT_RESULTS_DIR": str(results), "HF_HUB_OFFLINE": "1",
           "NO_MKDOCS_2_WARNING": "1"}
    mkdocs = [str(MKDOCS)] if MKDOCS.exists() else [sys.executable, "-m", "mkdocs"]
    built = subprocess.run([*mkdocs, "build", "--strict", "-q", "-d", str(site_dir)], cwd=REPO_ROOT, env=env,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    pages = [p for p in site_dir.rglob("*.html") if "geiping2025scaling" in p.relative_to(site_dir).as_posix()]
    assert pages, "no page for geiping2025scaling in the built site"
    html = pages[0].read_text(encoding="utf-8")
    assert "Scaling up Test-Time Compute with Latent Reasoning" in html
    assert "https://github.com/seal-rg/recurrent-pretraining" in html
