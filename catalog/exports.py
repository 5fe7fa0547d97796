"""Exports of the catalog: JSON (everything), CSV (one row per paper) and BibTeX.

BibTeX entry types follow the venue: `@inproceedings` for conferences and workshops, `@article`
for journals, `@misc` for arXiv preprints (with eprint and archivePrefix). Keys are paper ids.
Non-ASCII characters are kept as UTF-8 (biber and modern bibtex read them); LaTeX's special
characters are escaped.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from catalog.io import atomic_write_text
from catalog.model import Paper

if TYPE_CHECKING:
    from catalog.load import Catalog

JSON_VERSION = 1
CSV_COLUMNS = [
    "id", "title", "authors", "year", "date", "venue", "arxiv", "doi", "url", "code",
    "official_code", "taxonomy", "tags", "baselines", "tldr",
]  # fmt: skip

# Venue words that make an entry a conference paper, or a journal article (matched as words,
# case-insensitively, anywhere in the venue string).
CONFERENCES = (
    "ICLR NeurIPS NIPS ICML ACL EMNLP NAACL EACL AACL COLING COLM CoNLL AAAI IJCAI CVPR ICCV ECCV "
    "WACV KDD WWW SIGIR CIKM WSDM RecSys UAI AISTATS COLT ALT ICASSP INTERSPEECH LREC ICRA IROS "
    "CoRL RSS MLSys SODA STOC FOCS LICS Findings Workshop Conference Symposium Proceedings"
).split()
JOURNALS = "TMLR JMLR TACL TPAMI Nature Science PNAS Journal Transactions Letters Review Neurocomputing".split()
_CONFERENCE_RE = re.compile(r"\b(" + "|".join(map(re.escape, CONFERENCES)) + r")\b", re.IGNORECASE)
_JOURNAL_RE = re.compile(r"\b(" + "|".join(map(re.escape, JOURNALS)) + r")\b", re.IGNORECASE)

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIAL))


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters; everything else (UTF-8 included) is kept as is."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group()], text)


def paper_record(paper: Paper) -> dict:
    """A paper as JSON-ready data: the model's fields plus a few derived ones."""
    record = paper.model_dump(mode="json")
    record["year"] = paper.year
    record["arxiv_url"] = paper.arxiv_url
    record["official_code"] = paper.official_code
    return record


def to_json(papers: Iterable[Paper]) -> str:
    """`{"version": 1, "count": n, "papers": [...]}`, pretty-printed, UTF-8 kept."""
    records = [paper_record(p) for p in papers]
    payload = {"version": JSON_VERSION, "count": len(records), "papers": records}
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


# A cell starting with one of these is read as a formula by spreadsheets (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """`value`, with a leading apostrophe when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(papers: Iterable[Paper]) -> str:
    """One row per paper; lists are joined with '; ' (authors, taxonomy, tags, ...). Cells that
    a spreadsheet would run as a formula (starting with =, +, -, @) get a leading apostrophe."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for p in papers:
        row = {
            "id": p.id,
            "title": p.title,
            "authors": "; ".join(p.authors),
            "year": p.year,
            "date": p.date.isoformat(),
            "venue": p.venue,
            "arxiv": p.arxiv or "",
            "doi": p.doi or "",
            "url": p.url or "",
            "code": "; ".join(c.url for c in p.code),
            "official_code": p.official_code or "",
            "taxonomy": "; ".join(p.taxonomy),
            "tags": "; ".join(p.tags),
            "baselines": "; ".join(p.baselines),
            "tldr": p.tldr,
        }
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
    return buffer.getvalue()


def bibtex_type(venue: str) -> str:
    """'inproceedings', 'article' or 'misc' for a venue string."""
    if re.match(r"^\s*(arxiv|preprint|corr)\b", venue, re.IGNORECASE):
        return "misc"
    if _JOURNAL_RE.search(venue) and not re.search(r"\bworkshop\b", venue, re.IGNORECASE):
        return "article"
    if _CONFERENCE_RE.search(venue):
        return "inproceedings"
    return "misc"


def bibtex_entry(paper: Paper) -> str:
    kind = bibtex_type(paper.venue)
    fields: list[tuple[str, str]] = [
        ("title", paper.title),
        ("author", " and ".join(paper.authors)),
        ("year", str(paper.year)),
    ]
    if kind == "inproceedings":
        fields.append(("booktitle", paper.venue))
    elif kind == "article":
        fields.append(("journal", paper.venue))
    elif not re.match(r"^\s*arxiv\b", paper.venue, re.IGNORECASE):
        fields.append(("howpublished", paper.venue))
    if paper.arxiv:
        fields += [("eprint", paper.arxiv), ("archiveprefix", "arXiv")]
    if paper.doi:
        fields.append(("doi", paper.doi))
    url = paper.url or paper.arxiv_url or (f"https://doi.org/{paper.doi}" if paper.doi else None)
    if url:
        fields.append(("url", url))
    body = ",\n".join(f"  {name} = {{{_bib_value(name, value)}}}" for name, value in fields)
    return f"@{kind}{{{paper.id},\n{body}\n}}\n"


def _bib_value(name: str, value: str) -> str:
    # URLs and DOIs are read verbatim by the url package and biber: escape only braces there.
    if name in ("url", "doi", "eprint"):
        return value.replace("{", "%7B").replace("}", "%7D")
    return latex_escape(value)


def to_bibtex(papers: Iterable[Paper]) -> str:
    return "\n".join(bibtex_entry(p) for p in papers)


def write_exports(catalog: "Catalog", out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write catalog.json, catalog.csv and catalog.bib into `out_dir` (each atomically)."""
    out = Path(out_dir)
    return [
        atomic_write_text(out / "catalog.json", to_json(catalog.papers)),
        atomic_write_text(out / "catalog.csv", to_csv(catalog.papers)),
        atomic_write_text(out / "catalog.bib", to_bibtex(catalog.papers)),
    ]
