"""The built fixture site in headless Chromium, served from 127.0.0.1.

Every request the pages make is recorded: none may leave 127.0.0.1. Console errors, page errors
and dialogs (alert) fail the test. A handful of pages only, so this runs in seconds.
"""

from __future__ import annotations

import functools
import os
import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from site_fixture import FIXTURE_PAPERS, FIXTURE_REPO_URL, BuiltSite  # also puts site/ on sys.path

from atlas.inputs import METHODS_DIR, read_methods  # isort: skip

from catalog.load import load_catalog

# Debian's package by default; LATENT_CHROMIUM names another Chromium-based browser binary.
CHROMIUM = Path(os.environ.get("LATENT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"browser tests skipped: {CHROMIUM} is missing (scripts/install_chromium.sh, or apt-get install chromium as root)",
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server(built_site: BuiltSite) -> Iterator[str]:
    """The built site on http://127.0.0.1:<random port>/."""
    handler = functools.partial(_QuietHandler, directory=str(built_site.root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@dataclass
class Watch:
    """What the browser did: every request, console errors, uncaught errors, dialogs."""

    origin: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def outside(self) -> list[str]:
        local = ("data:", "blob:", "about:", self.origin)
        return [url for url in self.requests if not url.startswith(local)]


@pytest.fixture(scope="module")
def browser():
    if shutil.which(str(CHROMIUM)) is None:
        pytest.skip(f"{CHROMIUM} is not executable")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def tab(browser, server: str):
    """A fresh page at desktop width, watched; fails the test on errors, dialogs or outside requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watch(origin=server.rstrip("/"))
    page.on("request", lambda request: watch.requests.append(request.url))
    page.on("console", lambda msg: watch.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))

    def on_dialog(dialog) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield page, watch, server
    context.close()
    assert not watch.dialogs, f"a dialog opened: {watch.dialogs}"
    assert not watch.errors, f"console errors: {watch.errors}"
    assert not watch.outside(), f"requests outside 127.0.0.1: {watch.outside()}"
    assert watch.requests, "no request was recorded at all"


def search(page, query: str) -> list[tuple[str, str]]:
    """Type `query` into the header search box; (href, text) of each result."""
    button = page.locator("label.md-header__button[for='__search']")
    if button.is_visible():  # narrow screens: the search box opens from an icon
        button.click()
    # Typed like a person (the search box reacts to key events); the index loads in a worker
    # after the page, so a query typed too early is typed again until results show.
    box = page.locator("input.md-search__input")
    for _ in range(10):
        box.click()
        box.press("Control+a")
        page.keyboard.type(query)
        try:
            page.wait_for_selector(".md-search-result__item", timeout=3_000)
            break
        except playwright_api.TimeoutError:
            continue
    else:
        raise AssertionError(f"no search results for {query!r}: {page.inner_text('.md-search-result')}")
    return page.eval_on_selector_all(
        ".md-search-result__item a", "els => els.map(e => [e.getAttribute('href'), e.innerText])"
    )


def test_search_finds_a_paper_by_title_and_by_author(tab):
    page, _, server = tab
    page.goto(server)
    results = search(page, "Long Short-Term Memory")
    assert any("papers/hochreiter1997long/" in href for href, _ in results), results
    page.goto(server)
    results = search(page, "Schmidhuber")
    assert any("papers/hochreiter1997long/" in href for href, _ in results), results


def test_paper_page_shows_bibtex_and_links(tab):
    page, _, server = tab
    page.goto(server + "papers/hao2024training/")
    bibtex = page.inner_text("pre.atlas-bibtex code")
    assert bibtex.startswith("@") and "hao2024training," in bibtex and "Shibo Hao" in bibtex
    assert page.locator("pre.atlas-bibtex .md-code__button, pre.atlas-bibtex button").count() >= 1  # copy button
    hrefs = page.eval_on_selector_all("article a", "els => els.map(e => e.href)")
    assert "https://arxiv.org/abs/2412.06769" in hrefs and "https://arxiv.org/pdf/2412.06769" in hrefs
    assert "latent bench run --method coconut --task prosqa" in page.inner_text("article")


def table_ids(page) -> list[str]:
    """The paper ids of the rows the papers table shows, top to bottom."""
    page.wait_for_selector(".atlas-tabulator .tabulator-row")
    hrefs = page.eval_on_selector_all(
        ".atlas-tabulator .tabulator-row .tabulator-cell:first-child > a", "els => els.map(e => e.href)"
    )
    return [href.rstrip("/").rsplit("/", 1)[-1] for href in hrefs]


def test_taxonomy_page_lists_its_papers(tab):
    page, _, server = tab
    page.goto(server + "taxonomy/pause-tokens/")
    assert table_ids(page) == ["arefin2024seq", "xss2024script", "goyal2023think"]  # the fixture's pause-token papers, newest first


def test_hostile_entry_is_shown_as_text_and_runs_nothing(tab):
    page, watch, server = tab
    page.goto(server + f"papers/xss2024script/")
    page.wait_for_load_state("load")
    title = page.inner_text("article h1")
    assert "<script>alert('title')</script>" in title and "<img src=x onerror=alert('img')>" in title
    assert page.title().startswith("<script>alert('title')</script>")
    article = page.inner_text("article")
    assert "[x](javascript:alert('tldr-link'))" in article and "<img src=x onerror=alert('author')> Zed" in article
    assert page.locator("article img").count() == 0
    assert page.evaluate("() => [...document.scripts].filter(s => s.text.includes('alert')).length") == 0
    assert page.evaluate("() => [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length") == 0
    # the same strings through the search box: the result list must show them as text too
    results = search(page, "Mallory")
    assert any("papers/xss2024script/" in href for href, _ in results), results
    assert page.locator(".md-search-result img").count() == 0
    assert re.search(r"alert", " ".join(text for _, text in results))
    assert not watch.dialogs


# -- browsing like a database --------------------------------------------------------------------


def test_papers_table_filters_by_year_and_tag_and_the_url_keeps_the_view(tab, browser):
    page, _, server = tab
    catalog = load_catalog(FIXTURE_PAPERS)
    page.goto(server + "papers/")
    assert len(table_ids(page)) == len(catalog.papers)
    page.select_option("form.atlas-filters select[name=year]", "2024")
    page.select_option("form.atlas-filters select[name=tag]", "pause-tokens")
    expected = [p.id for p in catalog.papers if p.year == 2024 and "pause-tokens" in p.tags]  # newest first
    assert expected and len(expected) < len(catalog.papers)
    page.wait_for_function(f"() => document.querySelectorAll('.atlas-tabulator .tabulator-row').length === {len(expected)}")
    assert table_ids(page) == expected
    assert page.inner_text(".atlas-shown") == f"{len(expected)} of {len(catalog.papers)} papers"
    shared = page.url
    assert "year=2024" in shared and "tag=pause-tokens" in shared
    # the shared address, opened elsewhere, shows the same view
    other = browser.new_context().new_page()
    try:
        other.goto(shared)
        assert table_ids(other) == expected
        assert other.input_value("form.atlas-filters select[name=year]") == "2024"
        assert other.input_value("form.atlas-filters select[name=tag]") == "pause-tokens"
    finally:
        other.context.close()


def test_papers_table_sorts_filters_as_you_type_and_shows_summaries(tab):
    page, _, server = tab
    catalog = load_catalog(FIXTURE_PAPERS)
    page.goto(server + "papers/")
    table_ids(page)
    page.click(".atlas-tabulator .tabulator-col[tabulator-field=date] .tabulator-col-title")
    oldest_first = [p.id for p in sorted(catalog.papers, key=lambda p: p.date)]
    page.wait_for_function(f"() => location.search.includes('sort=date')")
    assert table_ids(page) == oldest_first and "dir=asc" in page.url
    page.fill("form.atlas-filters input[name=q]", "2412.06769")  # an arXiv id, typed
    page.wait_for_function("() => document.querySelectorAll('.atlas-tabulator .tabulator-row').length === 1")
    assert table_ids(page) == ["hao2024training"] and "q=2412.06769" in page.url
    summary = page.locator(".atlas-tabulator details.atlas-summary").first
    assert not summary.locator(".atlas-summary-text").is_visible()
    summary.locator("summary").click()
    assert "Coconut" in summary.locator(".atlas-summary-text").inner_text()


# -- search ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["2412.06769", "Training Large Language Models to Reason in a Continuous Latent Space", "Shibo Hao", "coconut"],
    ids=["arxiv-id", "title", "first-author", "method-name"],
)
def test_search_puts_the_paper_first(tab, query: str):
    page, _, server = tab
    page.goto(server)
    results = search(page, query)
    assert "papers/hao2024training/" in results[0][0], results
    if query == "coconut":  # the baseline's page, long and technical, comes after the paper
        assert any("baselines/coconut/" in href for href, _ in results[1:]), results


# -- results and baselines ---------------------------------------------------------------------------


def test_no_page_offers_a_command_for_a_method_that_does_not_exist(tab, built_site: BuiltSite):
    implemented = {path.stem for path in METHODS_DIR.glob("*.py") if not path.stem.startswith("_") and path.stem != "base"}
    implemented |= {name for info in read_methods().values() for name in info.variants}
    commands = re.compile(r"latent bench (?:run|sweep) --method ([A-Za-z0-9_]+)")
    offered = {}
    for path in built_site.html_files():
        for name in commands.findall(path.read_text(encoding="utf-8")):
            offered.setdefault(name, path.relative_to(built_site.root).as_posix())
    missing = {name: where for name, where in offered.items() if name not in implemented}
    assert offered and not missing, f"commands for methods that do not exist: {missing}"
    # a paper of the looped family offers its family baseline's command once it exists, and says
    # "planned" with no command while it does not
    page, _, server = tab
    page.goto(server + "papers/bae2024relaxed/")
    article = page.inner_text("article")
    if "looped" in implemented:
        assert "latent bench run --method looped" in article and "Planned baseline" not in article
    else:
        assert "Planned baseline" in article and "latent bench run" not in article


def test_results_chart_draws_chance_level_and_intervals(tab):
    page, _, server = tab
    page.goto(server + "results/prosqa/")
    chance = page.locator(".atlas-chart svg .atlas-chance").first
    assert chance.is_visible() and "chance 50%" in chance.text_content()
    assert page.locator(".atlas-chart svg .atlas-interval").count() >= 1  # two seeds: intervals drawn


def test_generated_pages_link_to_their_source_on_the_repository(tab):
    page, _, server = tab
    page.goto(server + "papers/hao2024training/")
    edit = page.locator("a.md-content__button").first.get_attribute("href")
    assert edit == FIXTURE_REPO_URL + "/edit/main/catalog/papers/hao2024training.yaml"
    page.goto(server + "baselines/coconut/")
    hrefs = page.eval_on_selector_all("article a", "els => els.map(e => e.href)")
    assert FIXTURE_REPO_URL + "/blob/main/baselines/methods/coconut.py" in hrefs


def test_study_page_shows_its_plots(tab):
    """The fixture study's SVG plot and its PNG-only plot load (decoded, with a width) and are seen."""
    page, watch, server = tab
    page.goto(server + "results/studies/toy-ladder/")
    page.wait_for_load_state("load")
    for src, width in (("ladder.svg", 240), ("loss.png", 16)):
        img = page.locator(f'article img[src="{src}"]')
        assert img.is_visible(), src
        assert img.get_attribute("alt"), src
        assert img.evaluate("el => el.complete && el.naturalWidth") == width, src
    assert any(url.endswith("/results/studies/toy-ladder/ladder.svg") for url in watch.requests)
    assert page.locator(".admonition-title", has_text="Incomplete: fewer than 3 seeds").is_visible()
