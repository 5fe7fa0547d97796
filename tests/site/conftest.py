"""Fixtures for the site tests: the site built once per session from the fixture catalog and
results (tests/fixtures/site_papers, tests/fixtures/results), with `mkdocs build --strict` in a
fresh process, the way `make site` runs it."""

from __future__ import annotations

import pytest
from site_fixture import FIXTURE_PAPERS, FIXTURE_RESULTS, BuiltSite, build_site


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    base = tmp_path_factory.mktemp("site")
    bench = base / "benchmarks"
    bench.mkdir()
    (bench / "site_build.json").write_text(
        '{"title": "Site build time", "machine": "fixture", '
        '"rows": [{"case": "<b>fixture</b>", "papers": 9, "wall_s": 1.5}]}\n',
        encoding="utf-8",
    )
    proc = build_site(base / "out", FIXTURE_PAPERS, FIXTURE_RESULTS, bench)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    return BuiltSite(base / "out", output)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter) -> None:
    """Say plainly when the browser tests did not run, and how to get them."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "test_site_browser" in r.nodeid]
    if skipped:
        terminalreporter.write_line(
            f"NOTE: {len(skipped)} browser test(s) were SKIPPED (no Chromium): run scripts/install_chromium.sh "
            "as root, or `apt-get install chromium`, then run them again.",
            yellow=True,
        )
