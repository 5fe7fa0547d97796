"""Exports (BibTeX through bibtexparser 2, JSON, CSV), stats, taxonomy and tag loading."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors
from catalog_helpers import VALID, replace

from catalog.exports import bibtex_type, to_bibtex, to_csv, to_json, write_exports
from catalog.io import dump_paper
from catalog.load import CatalogError, load_catalog
from catalog.model import Paper
from catalog.stats import stats
from catalog.taxonomy import load_taxonomy


def paper(**changes) -> Paper:
    base = dict(id="smith2024looped", title="Looped Transformers", authors=["Ada Smith", "Bo Chen"], date=dt.date(2024, 5, 1),
                venue="ICLR 2025", arxiv="2405.01234", taxonomy=["architectural-recurrence"], tldr="Loops.")  # fmt: skip
    return Paper.model_validate({**base, **changes})


SPECIAL = "R&D at 100% for $5: a_b #1 {set} ~x^2 back\\slash"
PAPERS = [
    paper(),
    paper(id="muller2023uber", title="Über Café: naïve Ünïcode", authors=["José Müller", "Łukasz Kaiser"], venue="TMLR",
          date=dt.date(2023, 1, 1), arxiv=None, doi="10.1000/xyz_1"),  # fmt: skip
    paper(id="zed2022special", title=SPECIAL, authors=["A & B Corp", "C_D Lab"], venue="arXiv", date=dt.date(2022, 1, 1), arxiv="2201.00001"),
    paper(id="wu2024workshop", title="A Workshop Paper", venue="NeurIPS 2024 Workshop on Math-AI", arxiv="2410.00002"),
    paper(id="li2021web", title="Only a Web Page", venue="Blog post", date=dt.date(2021, 1, 1), arxiv=None, url="https://example.org/post?a=1&b=2"),
]


@pytest.mark.parametrize(
    "venue,kind",
    [
        ("ICLR 2025", "inproceedings"), ("NeurIPS 2024", "inproceedings"), ("COLM 2025", "inproceedings"),
        ("Findings of EMNLP 2024", "inproceedings"), ("ICML 2024 Workshop on Theory", "inproceedings"),
        ("TMLR", "article"), ("Transactions on Machine Learning Research", "article"), ("Nature", "article"),
        ("JMLR 2023", "article"), ("arXiv", "misc"), ("arXiv preprint", "misc"), ("Blog post", "misc"),
    ],
)  # fmt: skip
def test_bibtex_type(venue, kind):
    assert bibtex_type(venue) == kind


def test_bibtex_round_trips_through_bibtexparser():
    text = to_bibtex(PAPERS)
    assert "Müller" in text and "Über" in text  # non-ASCII kept as UTF-8
    assert r"R\&D at 100\% for \$5: a\_b \#1 \{set\}" in text
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware(), SeparateCoAuthors()])
    assert not library.failed_blocks
    entries = {e.key: e for e in library.entries}
    assert list(entries) == [p.id for p in PAPERS]
    for p in PAPERS:
        entry = entries[p.id]
        # pylatexenc decodes \textasciicircum{} to U+02C6 rather than '^'
        assert entry["title"].replace("\u02c6", "^") == p.title
        assert entry["author"] == p.authors
        assert entry["year"] == str(p.year)
    assert entries["smith2024looped"].entry_type == "inproceedings"
    assert entries["smith2024looped"]["booktitle"] == "ICLR 2025"
    assert entries["muller2023uber"].entry_type == "article"
    assert entries["muller2023uber"]["journal"] == "TMLR"
    misc = entries["zed2022special"]
    assert misc.entry_type == "misc"
    assert (misc["eprint"], misc["archiveprefix"]) == ("2201.00001", "arXiv")
    assert entries["wu2024workshop"].entry_type == "inproceedings"
    # URLs, DOIs and eprints are verbatim fields (not LaTeX): read them without decoding
    raw = {e.key: e for e in bibtexparser.parse_string(text).entries}
    assert raw["li2021web"]["url"] == "https://example.org/post?a=1&b=2"
    assert raw["muller2023uber"]["doi"] == "10.1000/xyz_1"


def test_json_export():
    payload = json.loads(to_json(PAPERS))
    assert payload["version"] == 1 and payload["count"] == len(PAPERS)
    first = payload["papers"][0]
    assert first["id"] == "smith2024looped" and first["date"] == "2024-05-01" and first["year"] == 2024
    assert first["arxiv_url"] == "https://arxiv.org/abs/2405.01234"
    assert payload["papers"][1]["authors"] == ["José Müller", "Łukasz Kaiser"]
    assert [Paper.model_validate({k: v for k, v in r.items() if k in Paper.model_fields}) for r in payload["papers"]] == PAPERS


def test_csv_export():
    rows = list(csv.DictReader(io.StringIO(to_csv(PAPERS))))
    assert [r["id"] for r in rows] == [p.id for p in PAPERS]
    assert rows[0]["authors"] == "Ada Smith; Bo Chen"
    assert rows[2]["title"] == SPECIAL
    assert rows[4]["url"] == "https://example.org/post?a=1&b=2"


def write_catalog(cat, papers: list[Paper]) -> None:
    for p in papers:
        cat.add(f"{p.id}.yaml", dump_paper(p))


def test_load_catalog_sorts_newest_first_and_exports(cat, tmp_path):
    write_catalog(cat, PAPERS)
    catalog = load_catalog(**cat.kwargs())
    assert [p.id for p in catalog.papers] == ["smith2024looped", "wu2024workshop", "muller2023uber", "zed2022special", "li2021web"]
    assert catalog.by_id["li2021web"].url == "https://example.org/post?a=1&b=2"
    written = write_exports(catalog, tmp_path / "out")
    assert sorted(p.name for p in written) == ["catalog.bib", "catalog.csv", "catalog.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["catalog.bib", "catalog.csv", "catalog.json"]
    assert json.loads((tmp_path / "out" / "catalog.json").read_text(encoding="utf-8"))["count"] == 5


def test_load_catalog_raises_with_all_problems(cat):
    cat.add("smith2024looped.yaml", replace(VALID, "venue: ICLR 2025\n", ""))
    cat.add("zhou2023x.yaml", "- a list\n")
    with pytest.raises(CatalogError) as info:
        load_catalog(**cat.kwargs())
    errors = [str(p) for p in info.value.problems if p.is_error]
    assert any(e.startswith("papers/smith2024looped.yaml:1: venue: missing") for e in errors)
    assert any(e.startswith("papers/zhou2023x.yaml:1: expected a mapping") for e in errors)


def test_stats(cat):
    write_catalog(cat, [
        paper(taxonomy=["architectural-recurrence", "recurrence-training"], tags=["math", "looped-transformer"],
              code=[{"url": "https://github.com/a/b", "official": True}]),
        paper(id="b2023x", title="B", arxiv="2301.00001", date=dt.date(2023, 2, 1), taxonomy=["masked-diffusion", "continuous-thought"], tags=["math"]),
        paper(id="c2023y", title="C", arxiv="2301.00002", date=dt.date(2023, 3, 1), taxonomy=["diffusion"]),
    ])  # fmt: skip
    counts = stats(load_catalog(**cat.kwargs()))
    assert counts["papers"] == 3
    assert counts["per_top_level"]["activation-recurrence"] == 1  # once, though in two of its children
    assert counts["per_top_level"]["infinite-depth"] == 2
    assert counts["per_top_level"]["token-level"] == 1
    assert counts["per_top_level"]["interpretability"] == 0
    assert counts["per_node"]["diffusion"] == 1 and counts["per_node_total"]["diffusion"] == 2
    assert counts["per_node"]["architectural-recurrence"] == 1
    assert counts["per_year"] == {2023: 2, 2024: 1}
    assert counts["per_tag"]["math"] == 2 and counts["per_tag"]["looped-transformer"] == 1 and counts["per_tag"]["survey"] == 0
    assert (counts["with_code"], counts["without_code"]) == (1, 2)
    assert json.loads(json.dumps(counts))["per_year"] == {"2023": 2, "2024": 1}


def test_taxonomy_navigation():
    taxonomy = load_taxonomy()
    assert taxonomy.roots[0] == "token-level" and "applications" in taxonomy.roots
    assert [n.id for n in taxonomy.path("masked-diffusion")] == ["infinite-depth", "diffusion", "masked-diffusion"]
    assert taxonomy.top_level("masked-diffusion") == "infinite-depth"
    assert taxonomy.top_level("infinite-depth") == "infinite-depth"
    assert taxonomy.descendants("infinite-depth")[:2] == ["diffusion", "masked-diffusion"]
    assert "optimization-view" in taxonomy.descendants("infinite-depth")
    assert taxonomy.nodes["diffusion"].parent == "infinite-depth"
    assert taxonomy.nodes["diffusion"].children[0] == "masked-diffusion"
    assert taxonomy.nodes["continuous-thought"].survey is None and taxonomy.nodes["continuous-thought"].survey_note
    assert taxonomy.nodes["hidden-state-feedback"].survey == "3.1.2"
    assert taxonomy.nodes["hidden-state-feedback"].parent == "continuous-thought"
    assert taxonomy.nodes["continuous-thought"].baseline == "coconut"
    assert taxonomy.nodes["masked-diffusion-cache"].parent == "masked-diffusion"
