"""Render the generated pages (Markdown, from site/templates) and the downloadable files.

The jinja2 environment autoescapes, and its `finalize` passes every `{{ value }}` through
`md_escape` (unless the value is already Markup): a catalog string can only ever appear as text.
Links between generated pages are relative `.md` paths, so MkDocs checks them in strict mode.
"""

from __future__ import annotations

import functools
import html
import re
import tempfile
from dataclasses import dataclass
from urllib.parse import quote
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from atlas import charts as atlas_charts
from atlas import benchmarks, tables
from atlas.inputs import Inputs, Study
from atlas.model import SiteModel
from atlas.claims import evaluate
from atlas.results import headline, is_too_short, measured, reproduce, shortened, task_key
from atlas.studies import study_page
from atlas.results_text import SHORT_NOTE, accuracy_cell, interval_cell, knob_words, leaderboard_bars, shortened_note
from atlas.text import (
    code_fence,
    doc_inline,
    doc_markdown,
    doi_url,
    md_escape,
    number,
    page_url,
    safe_url,
    short_authors,
    show_date,
    url_prefix,
)
from catalog.exports import to_bibtex, write_exports

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
HOME_LATEST = 10
BENCHMARK_SCRIPTS = TEMPLATES_DIR.parents[1] / "benchmarks"
TAXONOMY_SOURCE = "catalog/taxonomy.yaml"
TAGS_SOURCE = "catalog/tags.yaml"


BLOCK_RE = re.compile(r"<!--atlas-block:(\d+)-->")


class Blocks:
    """`{% call block(index=True) %}<html>{% endcall %}` in a template: the HTML is kept aside and
    a placeholder comment goes into the Markdown. Large generated HTML thus skips the Markdown
    parser (it is escaped HTML already), and blocks with index=False skip the search index too."""

    def __init__(self) -> None:
        self.items: list[tuple[bool, str]] = []

    def __call__(self, index: bool = True, caller=None) -> Markup:
        self.items.append((index, str(caller()).strip()))
        return Markup(f"\n\n<!--atlas-block:{len(self.items) - 1}-->\n\n")


def insert_blocks(html: str, blocks: list[tuple[bool, str]], indexed: bool) -> str:
    """Replace the placeholders of the blocks whose `index` flag equals `indexed`."""

    def replace(match: re.Match) -> str:
        index, block = blocks[int(match.group(1))]
        return block if index == indexed else match.group(0)

    return BLOCK_RE.sub(replace, html)


class Links:
    """HTML links from pages whose URL is `prefix` away from the site root, each built once."""

    def __init__(self, model: SiteModel, prefix: str, target_url) -> None:
        self.model = model
        self.prefix = prefix
        self.target_url = target_url
        self.memo: dict[tuple[str, str], Markup] = {}

    def href(self, target_src: str) -> Markup:
        return Markup(self.prefix + self.target_url(target_src) or "./")

    def _a(self, kind: str, key: str, target_src: str, label: str, cls: str = "") -> Markup:
        if (kind, key) not in self.memo:
            attr = f' class="{cls}"' if cls else ""
            self.memo[(kind, key)] = Markup(f'<a{attr} href="{self.href(target_src)}">{md_escape(label)}</a>')
        return self.memo[(kind, key)]

    def paper(self, paper) -> Markup:
        return self._a("paper", paper.id, f"papers/{paper.id}.md", paper.title)

    def node(self, node_id: str) -> Markup:
        return self._a("node", node_id, f"taxonomy/{node_id}/index.md", self.model.taxonomy.nodes[node_id].name)

    def tag(self, tag: str) -> Markup:
        return self._a("tag", tag, f"tags/{tag}.md", tag, cls="atlas-tag")

    def tags(self, tags: list[str]) -> Markup:
        return Markup(" ").join(self.tag(t) for t in tags)

    def related(self, rows: list[tuple]) -> Markup:
        """The related-papers list: [(paper, shared nodes, shared tags, method link)] (a hot loop:
        plain Python)."""
        items = []
        for other, nodes, tags, linked in rows:
            shared = [self.node(n) for n in nodes] + [self.tag(t) for t in tags]
            why = [Markup("shares {}").format(Markup(" ").join(shared))] if shared else []
            if linked:
                why.insert(0, Markup("compared with it through a method (reported in a paper or run here)"))
            extra = Markup("<br><small>{}</small>").format(Markup("; ").join(why)) if why else ""
            items.append(
                Markup("<li>{} ({}, {}){}</li>").format(self.paper(other), short_authors(other.authors), other.year, extra)
            )
        return Markup('<ul class="atlas-related">\n{}\n</ul>').format(Markup("\n").join(items))

    def node_path(self, node_id: str) -> Markup:
        """'Taxonomy › Family › ... › node' as links."""
        crumbs = [Markup(f'<a href="{self.href("taxonomy/index.md")}">Taxonomy</a>')]
        crumbs += [self.node(n.id) for n in self.model.taxonomy.path(node_id)]
        return Markup(" › ").join(crumbs)

    def method(self, name: str) -> Markup:
        """A link to the page of the module that defines method `name` (variants included)."""
        stem = self.model.method_pages.get(name)
        if stem is None:
            return md_escape(f"{name} (planned)" if name in self.model.planned_methods() else name)
        return self._a("method", name, f"baselines/{stem}.md", name)


def _finalize(value: object) -> object:
    return value if isinstance(value, Markup) else md_escape(value)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["path"] = lambda value: Markup(quote(str(value), safe="/-_.~"))
    env.globals.update(
        short_authors=short_authors,
        show_date=show_date,
        number=number,
        url=safe_url,
        doi_url=doi_url,
        fence=code_fence,
        chart=atlas_charts,
        spaces=lambda depth: Markup("    " * depth),
        measured=measured,
        headline=headline,
        sweep_legend=lambda series: [(s.name, atlas_charts.color(i)) for i, s in enumerate(series)],
        code=lambda text: Markup(html.escape(str(text), quote=False)),
        spaces_nb=lambda depth: Markup("&#160;&#160;" * depth),
        accuracy_cell=accuracy_cell,
        interval_cell=interval_cell,
        short_note=SHORT_NOTE,
        is_too_short=is_too_short,
        reproduce=reproduce,
        doc_markdown=doc_markdown,
        doc_inline=doc_inline,
        knob_words=knob_words,
        leaderboard_bars=leaderboard_bars,
    )
    return env


@dataclass
class Rendered:
    pages: dict[str, str]  # path under docs_dir -> Markdown
    blocks: dict[str, list[tuple[bool, str]]]  # path -> [(indexed, html)] for `insert_blocks`
    sources: dict[str, str]  # path -> the repository file a reader edits to change the page
    descriptions: dict[str, str]  # path -> the page's meta description (plain text)
    search_keys: dict[str, list[str]]  # path -> words the search ranks the page first for


def paper_search_keys(paper) -> list[str]:
    """Identifiers a reader types to find this paper, given to the search index as the page's
    tags (the field it weighs most): the arXiv id and the names of the methods that implement
    it. Not author names nor the catalog id (which starts with one): the search matches the
    last word typed as a prefix, so a family name such as "You" or "Long" would outrank the
    title words of other papers; the page boost ranks authors well enough."""
    keys = [paper.arxiv, *paper.baselines]
    return list(dict.fromkeys(k for k in keys if k))


def render_pages(model: SiteModel, directory_urls: bool = True) -> Rendered:
    """Every generated page, its HTML blocks and the file it is generated from."""
    env = environment()
    pages: dict[str, str] = {}
    blocks: dict[str, list[tuple[bool, str]]] = {}
    sources: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    search_keys: dict[str, list[str]] = {}

    memo: dict[tuple, Markup] = {}

    def remember(key: tuple, macro, *args: object) -> Markup:
        """`macro(*args)`, rendered once per key (e.g. a table row per paper and link prefix)."""
        if key not in memo:
            memo[key] = macro(*args)
        return memo[key]

    @functools.lru_cache(maxsize=None)
    def target_url(target_src: str) -> str:
        return quote(page_url(target_src, directory_urls), safe="/.-_~#")

    links: dict[str, Links] = {}

    def render(src: str, template: str, source: str | None = None, description: str | None = None, **context: object) -> None:
        sources[src] = source or f"site/templates/{template}"
        if description:
            descriptions[src] = " ".join(description.split())
        root = Markup("../" * src.count("/"))
        prefix = url_prefix(src, directory_urls)
        link = links.setdefault(prefix, Links(model, prefix, target_url))
        block = Blocks()
        pages[src] = env.get_template(template).render(
            table_row=table_row,
            table_facets=table_facets,
            site=model, root=root, prefix=prefix, href=link.href, link=link, block=block, remember=remember, **context
        )
        if block.items:
            blocks[src] = block.items

    row_attrs: dict[str, dict[str, str]] = {}

    def table_row(paper) -> dict[str, str]:
        if paper.id not in row_attrs:
            row_attrs[paper.id] = tables.row_attrs(model, paper)
        return row_attrs[paper.id]

    def table_facets(papers) -> tables.Facets:
        return tables.facets(model, papers)

    taxonomy = model.taxonomy
    render("index.md", "home.md.j2", latest=model.papers[:HOME_LATEST])
    render("taxonomy/index.md", "taxonomy_index.md.j2")
    for node in taxonomy.nodes.values():
        render(f"taxonomy/{node.id}/index.md", "taxonomy_node.md.j2", TAXONOMY_SOURCE, node.description, node=node, baseline=model.node_baseline(node.id))
    render("papers/index.md", "papers_index.md.j2")
    for paper in model.papers:
        search_keys[f"papers/{paper.id}.md"] = paper_search_keys(paper)
        render(f"papers/{paper.id}.md", "paper.md.j2", f"catalog/papers/{paper.id}.yaml", paper.tldr, paper=paper, bibtex=to_bibtex([paper]), run=model.run_it(paper))
    render("tags/index.md", "tags_index.md.j2")
    for tag in model.catalog.tags.values():
        render(f"tags/{tag.id}.md", "tag.md.j2", TAGS_SOURCE, f"Papers tagged {tag.id}: {tag.description}", tag=tag)
    months, series = model.timeline()
    legend = [(name, atlas_charts.color(i)) for i, (name, _) in enumerate(series)]
    render("timeline.md", "timeline.md.j2", months=months, series=series, legend=legend)
    render("downloads.md", "downloads.md.j2")
    render("contribute.md", "contribute.md.j2")
    render("baselines/index.md", "baselines_index.md.j2")
    for method in model.methods.values():
        render(f"baselines/{method.name}.md", "baseline.md.j2", f"baselines/methods/{method.name}.py", method=method)
    studies = [study_page(study) for study in model.inputs.studies]
    render("results/index.md", "results_index.md.j2", studies=studies)
    for study in studies:
        readme = f"results/studies/{study.study.name}/README.md" if study.study.readme else None
        render(study.src, "results_study.md.j2", readme, re.sub(r"[*`]", "", study.description), page=study)
    claims = [evaluate(claim, model.inputs.catalog.by_id, model.inputs.results) for claim in model.inputs.claims]
    render("results/claims.md", "results_claims.md.j2", "results/claims.yaml",
           "Published claims tested by the reproduction suites, with the papers' numbers, ours and a verdict",
           claims=claims, task_key=task_key, shortened=shortened, shortened_note=shortened_note)
    for task in model.results.values():
        render(f"results/{task.key}.md", "results_task.md.j2", task=task)
    sections = [
        benchmarks.section(name, data, (BENCHMARK_SCRIPTS / f"{name}.py").is_file()) for name, data in model.inputs.benchmarks
    ]
    render("benchmarks.md", "benchmarks.md.j2", benchmarks=sections, max_rows=benchmarks.MAX_ROWS)
    return Rendered(pages, blocks, sources, descriptions, search_keys)


def download_files(inputs: Inputs) -> dict[str, bytes]:
    """catalog.json/.csv/.bib and the paper JSON Schema, as {path under docs_dir: bytes}."""
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="atlas-exports-") as tmp:
        for path in write_exports(inputs.catalog, tmp):
            out[f"downloads/{path.name}"] = path.read_bytes()
    out["downloads/schema.json"] = inputs.schema_json.encode("utf-8")
    return out


def study_files(studies: list[Study]) -> dict[str, bytes]:
    """The plots and JSON files of each study, copied beside its page (results/studies/<study>/):
    {path under docs_dir: bytes}."""
    out: dict[str, bytes] = {}
    for study in studies:
        for name in [*study.plots, *study.data_files]:
            out[f"results/studies/{study.name}/{name}"] = (study.folder / name).read_bytes()
    return out
