"""The site built from the fixture catalog: strict build, pages, links, offline, escaping."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from site_fixture import FIXTURE_PAPERS, FIXTURE_RESULTS, REPO, BuiltSite, build_site

XSS_ID = "xss2024script"


class Elements(HTMLParser):
    """Every start tag of a document as (tag, {attribute: value}), plus the text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)

    @property
    def plain(self) -> str:
        """The document's text, whitespace collapsed (code split into highlighted spans reads whole)."""
        return " ".join("".join(self.text).split())


def test_build_is_strict_and_quiet(built_site: BuiltSite):
    assert "WARNING" not in built_site.output
    assert "generated" in built_site.output  # the hook ran


def test_every_page_kind_is_generated(built_site: BuiltSite):
    expected = [
        "", "taxonomy/", "taxonomy/pause-tokens/", "taxonomy/token-level/", "papers/", f"papers/{XSS_ID}/",
        "papers/hao2024training/", "tags/", "tags/safety/", "timeline/", "downloads/", "contribute/",
        "baselines/", "baselines/coconut/", "results/", "results/prosqa/", "results/multiplication-digits-4/",
        "benchmarks/",
    ]  # fmt: skip
    missing = [url for url in expected if not (built_site.root / url / "index.html").is_file()]
    assert not missing


def test_no_request_leaves_the_site(built_site: BuiltSite):
    """No script, stylesheet, image or font is loaded from another host."""
    external = []
    for path in built_site.html_files():
        for tag, attrs in Elements(path.read_text(encoding="utf-8")).elements:
            for attr in ("src", "href") if tag in ("script", "link", "img", "iframe", "source") else ():
                if tag == "link" and attrs.get("rel") in ("canonical",):
                    continue
                if re.match(r"^(https?:)?//", attrs.get(attr, "")):
                    external.append(f"{path.relative_to(built_site.root)}: <{tag} {attr}={attrs[attr]}>")
    for css in (built_site.root / "assets").rglob("*.css"):
        for url in re.findall(r"url\(([^)]*)\)|@import\s+['\"]([^'\"]+)", css.read_text(encoding="utf-8")):
            target = (url[0] or url[1]).strip("'\" ")
            if re.match(r"^(https?:)?//", target):
                external.append(f"{css.name}: {target}")
    assert not external


def test_internal_links_resolve(built_site: BuiltSite):
    """Generated pages link to each other with raw HTML in places: every relative link must exist."""
    broken = []
    for path in built_site.html_files():
        for tag, attrs in Elements(path.read_text(encoding="utf-8")).elements:
            link = attrs.get("href") if tag in ("a", "link") else attrs.get("src") if tag in ("script", "img") else None
            if not link or urlsplit(link).scheme or link.startswith(("#", "//", "mailto:")):
                continue
            base = built_site.root if link.startswith("/") else path.parent  # 404.html uses absolute URLs
            target = (base / unquote(urlsplit(link).path).lstrip("/")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(built_site.root)} -> {link}")
    assert not broken


def test_xss_fixture_renders_as_text(built_site: BuiltSite):
    html = built_site.page(f"papers/{XSS_ID}/")
    doc = Elements(html)
    text = doc.plain
    for payload in (
        "<script>alert('title')</script>",
        "<img src=x onerror=alert('img')>",
        "[x](javascript:alert('link'))",
        "{: onclick=\"alert('attr')\"}",
        "<script>alert('venue')</script>",
        "<img src=x onerror=alert('author')> Zed",
        "<script>alert('tldr')</script>",
        "<!--atlas-block:1-->",
    ):
        assert payload in text, payload
    # nothing from the catalog became markup
    assert not any(tag == "img" for tag, _ in doc.elements)
    assert not [s for s in doc.scripts if "alert" in s]
    for tag, attrs in doc.elements:
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        assert not attrs.get("href", "").lower().startswith("javascript:"), (tag, attrs)
    # the hostile code URL stays one (percent-encoded) attribute value
    assert any(a.get("href", "").startswith("https://example.org/repo?q=%5Bx%5D%28javascript:alert%281%29%29") for _, a in doc.elements)


def test_no_page_has_script_handlers_or_javascript_links(built_site: BuiltSite):
    for path in built_site.html_files():
        doc = Elements(path.read_text(encoding="utf-8"))
        for tag, attrs in doc.elements:
            assert not [k for k in attrs if k.startswith("on")], (path, tag, attrs)
            assert not attrs.get("href", "").lower().startswith("javascript:"), (path, tag, attrs)
        assert not [s for s in doc.scripts if "alert(" in s], path


def test_search_index_holds_papers_and_no_markup_from_the_catalog(built_site: BuiltSite):
    index = json.loads((built_site.root / "search" / "search_index.json").read_text(encoding="utf-8"))
    docs = index["docs"]
    paper = [d for d in docs if d["location"].startswith("papers/hochreiter1997long/")]
    joined = " ".join(d["title"] + " " + d["text"] for d in paper)
    for needle in ("Long Short-Term Memory", "Schmidhuber", "hochreiter1997long", "hidden-state-recurrence"):
        assert needle in joined
    # the search UI renders these strings as HTML: catalog markup must arrive escaped
    xss = " ".join(d["title"] + " " + d["text"] for d in docs if d["location"].startswith(f"papers/{XSS_ID}/"))
    assert "alert(" in xss and "<script" not in xss and "<img" not in xss
    # list pages that repeat the paper pages are not indexed
    assert not [d for d in docs if d["location"].startswith("tags/safety/")]


def test_paper_page(built_site: BuiltSite):
    html = built_site.page("papers/hao2024training/")
    doc = Elements(html)
    text = doc.plain
    hrefs = [a.get("href", "") for tag, a in doc.elements if tag == "a"]
    assert "https://arxiv.org/abs/2412.06769" in hrefs and "https://arxiv.org/pdf/2412.06769" in hrefs
    assert "https://github.com/facebookresearch/coconut" in hrefs
    assert "@" in text and "hao2024training," in text  # the BibTeX block
    assert "Shibo Hao" in text and "Yuandong Tian" in text and "COLM 2025" in text
    assert "latent bench run --method coconut --task prosqa" in text
    assert "../../taxonomy/continuous-thought/" in hrefs and "../../tags/curriculum/" in hrefs
    # our measured coconut numbers beside the paper's on the task it reports (fixture: mean of 2 seeds at 6 thoughts)
    assert "../../results/prosqa/" in hrefs
    assert re.search(r"<td>85\.5 ± 0\.7</td>", html)  # mean ± std over the two seeds
    assert "tiny (1.2 M parameters, from scratch)" in text  # our setting is shown beside the paper's
    # related papers: the other continuous-thought / curriculum papers of the fixture
    assert "../../papers/deng2024explicit/" in hrefs


def test_run_it_walks_up_to_a_planned_baseline_or_says_none(built_site: BuiltSite):
    from baselines import registry

    looped = Elements(built_site.page("papers/bae2024relaxed/")).plain
    if "looped" in registry.methods():  # the family baseline exists: its command is shown
        assert "latent bench run --method looped" in looped
    else:  # planned: named, with nothing to run
        assert "Planned baseline: looped" in looped and "latent bench run" not in looped
    analysis = Elements(built_site.page("papers/biran2024hopping/")).plain
    assert "No runnable baseline" in analysis


def test_month_precision_date_and_doi(built_site: BuiltSite):
    doc = Elements(built_site.page("papers/hochreiter1997long/"))
    text = doc.plain
    assert "1997-11" in text and "1997-11-01" not in text
    assert any(a.get("href") == "https://doi.org/10.1162/neco.1997.9.8.1735" for _, a in doc.elements)


def test_taxonomy_page_lists_its_papers_newest_first(built_site: BuiltSite):
    html = built_site.page("taxonomy/pause-tokens/")
    order = [m for m in re.findall(r'href="../../papers/([a-z0-9]+)/"', html)]
    assert order.index(XSS_ID) < order.index("goyal2023think")  # 2024 before 2023
    assert "pause" in Elements(html).plain  # its baseline
    parent = built_site.page("taxonomy/token-level/")
    assert "../../papers/hao2024training/" in parent and 'href="../pause-tokens/"' in parent


def test_tag_pages(built_site: BuiltSite):
    index = Elements(built_site.page("tags/")).plain
    assert "Mechanism" in index and "pause-tokens" in index
    assert f"../../papers/{XSS_ID}/" in built_site.page("tags/safety/")


def test_timeline_chart(built_site: BuiltSite):
    html = built_site.page("timeline/")
    counts = [int(n) for n in re.findall(r"<rect [^>]*><title>[^<]*: (\d+)</title></rect>", html)]
    assert sum(counts) == 9  # every fixture paper is in one bar segment
    # the 1997 paper is more than 96 months before the newest: summed into a first "before" bar
    assert "before 2017" in html and "Token-level latent computation" in html


def test_results_pages(built_site: BuiltSite):
    html = built_site.page("results/prosqa/")
    text = Elements(html).plain
    # leaderboard: coconut at its trained 6 thoughts, mean of two seeds (0.85, 0.86), first row
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    assert "coconut" in rows[1] and "<strong>85.5 ± 0.7</strong>" in rows[1]
    assert re.search(r"<td>\d+\.\d–\d+\.\d</td>", rows[1])  # its 95% interval over seeds
    assert "chance 50%" in html and 'class="atlas-interval"' in html  # ProsQA declares chance 0.5
    assert "|---|" not in text  # every Markdown table was rendered
    assert "non-finite loss at step 112" in text  # the failed run
    assert "<polyline" in html  # the accuracy-vs-compute plot has lines (coconut and pause sweeps)
    board = built_site.page("results/multiplication-digits-4/")
    assert "99.0" in board and "multiplication (digits=4)" in Elements(board).plain
    # short-suite runs are labelled wherever they appear; no chance level is made up
    assert "Too short to mean anything" in board and "too short to mean anything" in board
    # multiplication declares chance 0 (Task.chance): the line is drawn at 0%
    assert 'class="atlas-chance"' in board
    assert "too short to mean anything" in built_site.page("results/")


def test_baseline_pages(built_site: BuiltSite):
    html = built_site.page("baselines/coconut/")
    prose = re.sub(r"<pre.*?</pre>", "", html.split('<article', 1)[1], flags=re.S)
    assert "`" not in re.sub(r"<[^>]+>", "", prose)  # docstrings rendered: `names` became code, not backticks
    assert "<code>thoughts</code>" in prose and "continuous thoughts per replaced reasoning step" in prose  # field description
    assert "`" not in re.sub(r"<[^>]+>", "", built_site.page("baselines/").split("<article", 1)[1])
    text = Elements(html).plain
    assert "latent bench run --method coconut --task prosqa --model-size tiny" in text  # a recorded run's command
    assert "continuous thought" in text.lower()  # from the module docstring, read without importing it
    assert "coconut_pause_as_thought" in text  # a registered variant
    assert "latent bench sweep --method coconut --task prosqa --knob-values" in text
    assert "thoughts" in text


def test_downloads(built_site: BuiltSite):
    data = json.loads((built_site.root / "downloads" / "catalog.json").read_text(encoding="utf-8"))
    assert data["count"] == 9 and len(data["papers"]) == 9
    bib = (built_site.root / "downloads" / "catalog.bib").read_text(encoding="utf-8")
    assert "{hao2024training," in bib and "{hochreiter1997long," in bib
    assert (built_site.root / "downloads" / "catalog.csv").read_text(encoding="utf-8").startswith("id,")
    schema = json.loads((built_site.root / "downloads" / "schema.json").read_text(encoding="utf-8"))
    assert "title" in schema["properties"]


def test_benchmarks_page(built_site: BuiltSite):
    html = built_site.page("benchmarks/")
    text = Elements(html).plain
    assert "Site build time" in text and "<b>fixture</b>" in text and "|---|" not in text
    assert re.search(r"<td>&#60;b&#62;fixture&#60;/b&#62;</td>\s*<td>9</td>", html)


def test_invalid_catalog_fails_the_build_with_the_file_named(tmp_path: Path):
    papers = tmp_path / "papers"
    papers.mkdir()
    good = (FIXTURE_PAPERS / "goyal2023think.yaml").read_text(encoding="utf-8")
    (papers / "goyal2023think.yaml").write_text(good.replace("taxonomy: [pause-tokens]", "taxonomy: [no-such-node]"), encoding="utf-8")
    proc = build_site(tmp_path / "out", papers, FIXTURE_RESULTS)
    assert proc.returncode != 0
    assert "goyal2023think.yaml:" in proc.stderr and "no-such-node" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_invalid_result_fails_the_build_with_the_file_named(tmp_path: Path):
    results = tmp_path / "results" / "prosqa" / "cot"
    results.mkdir(parents=True)
    (results / "broken.json").write_text('{"run_id": "x"}', encoding="utf-8")
    proc = build_site(tmp_path / "out", FIXTURE_PAPERS, tmp_path / "results")
    assert proc.returncode != 0
    assert "broken.json: not a valid result" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_real_catalog_builds_strictly(tmp_path: Path):
    proc = build_site(tmp_path / "out", REPO / "catalog" / "papers", REPO / "results")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" not in proc.stdout + proc.stderr


def test_table_library_loads_only_on_pages_with_a_papers_table(built_site: BuiltSite):
    for url in ("papers/", "tags/safety/", "taxonomy/pause-tokens/"):
        html = built_site.page(url)
        assert "assets/vendor/tabulator/tabulator.min.js" in html and "assets/atlas-table.js" in html, url
    for url in ("papers/hao2024training/", "", "results/prosqa/"):
        assert "tabulator" not in built_site.page(url), url  # a paper page carries none of its weight
    assert (built_site.root / "assets" / "vendor" / "tabulator" / "LICENSE").is_file()


def test_meta_description_is_the_summary_and_stays_one_attribute(built_site: BuiltSite):
    hao = built_site.page("papers/hao2024training/")
    assert re.search(r'<meta name="description" content="Coconut replaces chain-of-thought tokens', hao)
    hostile = built_site.page(f"papers/{XSS_ID}/")
    content = re.search(r'<meta name="description" content="([^"]*)">', hostile).group(1)
    assert "&lt;script&gt;alert(&#x27;tldr&#x27;)&lt;/script&gt;" in content and "<" not in content


def test_study_pages(built_site: BuiltSite):
    """The fixture studies: a complete one (two seeds somewhere: incomplete) and one not run yet."""
    html = built_site.page("results/studies/toy-ladder/")
    text = Elements(html).plain
    assert "Toy ladder: looped against dense" in text and "Incomplete: fewer than 3 seeds" in text
    assert "A fixture study for the site tests" in text and "What runs" in text  # the README, rendered
    # the SVG of a plot rather than its PNG, a PNG where there is no SVG: copied beside the page
    assert re.search(r'<img alt="test accuracy against effective depth, chance dashed." src="ladder.svg"', html)
    assert 'src="loss.png"' in html and 'src="ladder.png"' not in html
    folder = built_site.root / "results" / "studies" / "toy-ladder"
    assert (folder / "ladder.svg").read_bytes().startswith(b"<svg") and (folder / "loss.png").is_file()
    assert (folder / "summary.json").is_file() and not (folder / "runs").exists()
    assert "<td>0.50 ± 0.10</td>" in html  # table.md
    for needle in ("Fixture GPU 80GB", "0123456789abcdef0123456789abcdef01234567", "bf16-autocast",
                   "the best of 4 validation evaluations", "optimizer_steps: 1000", "python -m scripts.depth_ladder run <all>"):
        assert needle in text, needle  # fmt: skip
    assert "<script>alert" not in html and "&#60;script&#62;alert" in html  # the summary's note, as text
    planned = Elements(built_site.page("results/studies/toy-planned/")).plain
    assert "Not run yet" in planned and "A fixture study that has not run yet." in planned
    index = built_site.page("results/")
    assert re.search(r'<a href="studies/toy-ladder/">Toy ladder: looped against dense</a></td>\s*'
                     r"<td>A fixture study for the site tests: looped and dense models side by side, two seeds only.</td>\s*"
                     r"<td>incomplete \(2 seeds\)</td>", unescape(index))  # fmt: skip
    assert re.search(r'<a href="studies/toy-planned/">Toy planned study</a></td>\s*<td>[^<]*</td>\s*<td>not run yet</td>', index)


def test_study_pages_rank_below_paper_pages_in_search(built_site: BuiltSite):
    docs = json.loads((built_site.root / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    study = [d for d in docs if d["location"].startswith("results/studies/toy-ladder/")]
    paper = [d for d in docs if d["location"].startswith("papers/hao2024training/")]
    assert study and study[0]["title"] == "Toy ladder: looped against dense"  # searchable, under its title
    assert max(d.get("boost", 1) for d in study) < min(d.get("boost", 1) for d in paper)


@pytest.mark.slow
def test_real_site_has_a_page_per_study_with_its_plots(tmp_path: Path):
    """Every folder of results/studies gets a page; each plot is copied into the site and shown."""
    proc = build_site(tmp_path / "out", REPO / "catalog" / "papers", REPO / "results")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    studies = sorted(p for p in (REPO / "results" / "studies").iterdir() if p.is_dir())
    assert studies
    index = (tmp_path / "out" / "results" / "index.html").read_text(encoding="utf-8")
    plots_seen = 0
    for folder in studies:
        built = tmp_path / "out" / "results" / "studies" / folder.name
        html = (built / "index.html").read_text(encoding="utf-8")
        assert f'href="studies/{folder.name}/"' in index, folder.name
        svgs = {p.stem for p in folder.glob("*.svg")}
        for plot in [*folder.glob("*.svg"), *(p for p in folder.glob("*.png") if p.stem not in svgs)]:
            assert (built / plot.name).read_bytes() == plot.read_bytes(), plot
            assert re.search(rf'<img alt="[^"]+" src="{re.escape(plot.name)}"', html), plot
            plots_seen += 1
        if not (folder / "summary.json").is_file() and not (folder / "runs").is_dir() and not list(folder.glob("*.json")):
            assert "Not run yet" in html, folder.name
    assert plots_seen
