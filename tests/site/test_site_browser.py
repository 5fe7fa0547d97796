"""The built fixture site in headless Chromium, served from 127.0.0.1.

Every request the pages make is recorded: none may leave 127.0.0.1. Console errors, page errors
and dialogs (alert) fail the test. A handful of pages only, so this runs in seconds.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from site_fixture import BuiltSite

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"),
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


def test_taxonomy_page_lists_its_papers(tab):
    page, _, server = tab
    page.goto(server + "taxonomy/pause-tokens/")
    rows = page.eval_on_selector_all(".atlas-papers tbody tr td:first-child a", "els => els.map(e => e.href)")
    ids = [href.rstrip("/").rsplit("/", 1)[-1] for href in rows]
    assert ids == ["arefin2024seq", "xss2024script", "goyal2023think"]  # the fixture's pause-token papers, newest first


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
