"""Helpers for the site tests: where the fixtures are, and building the site from them."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SITE_SRC = REPO / "site"
FIXTURE_PAPERS = REPO / "tests" / "fixtures" / "site_papers"
FIXTURE_RESULTS = REPO / "tests" / "fixtures" / "results"
FIXTURE_REPO_URL = "https://github.com/example/latent-atlas"  # the repository the fixture site links to

# The `atlas` package next to site/hooks.py (site/ itself is not a package: it would shadow `site`).
if str(SITE_SRC) not in sys.path:
    sys.path.insert(0, str(SITE_SRC))


@dataclass
class BuiltSite:
    root: Path  # the built site folder
    output: str  # everything mkdocs printed

    def page(self, url: str) -> str:
        """The HTML of the page at the directory URL `url` ('' for the home page, 'papers/x/')."""
        return (self.root / url / "index.html").read_text(encoding="utf-8")

    def html_files(self) -> list[Path]:
        return sorted(self.root.rglob("*.html"))


def build_site(out_dir: Path, papers: Path, results: Path, benchmarks: Path | None = None) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of the repository's mkdocs.yml into `out_dir`, with the inputs given."""
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "LATENT_PAPERS_DIR": str(papers),
        "LATENT_RESULTS_DIR": str(results),
        "LATENT_BENCHMARKS_DIR": str(benchmarks or out_dir.parent / "no-benchmarks"),
        "REPO_URL": FIXTURE_REPO_URL,
    }
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out_dir)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
