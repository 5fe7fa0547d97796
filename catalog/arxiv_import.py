"""Catalog entries from arXiv records: `latent add` and `latent refresh`.

`plan_additions` fetches every requested paper and builds every entry first; `write_additions`
then writes them all, or, if any write fails, removes the ones it wrote: a call adds all of its
papers or none. `plan_refresh` works out what arXiv knows better than a person (venue, DOI,
latest version) as in-place edits of those lines only, so hand-written formatting and comments
stay as they are; `apply_refresh` then replaces each file atomically.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import arxiv
import yaml
from pydantic import ValidationError

from catalog.arxiv_client import (
    UNPUBLISHED,
    ArxivClient,
    check_not_withdrawn,
    code_links,
    first_doi,
    parse_arxiv_id,
    venue_and_source,
    venue_from,
    version_of,
    versionless,
)
from catalog.ids import make_id, normalize_title
from catalog.io import atomic_write_text, dump_paper, write_paper
from catalog.model import PLACEHOLDER, Paper
from catalog.problems import display_path
from catalog.similar import similar_pairs
from catalog.tags import load_tags
from catalog.taxonomy import load_taxonomy


class AddError(Exception):
    """A paper cannot be added or refreshed; the message names the paper and the reason."""


class DuplicateError(AddError):
    """The paper is already in the catalog (same arXiv id or the same title)."""


# --- entries -----------------------------------------------------------------------------------


def paper_from_result(
    result: arxiv.Result,
    existing_ids: set[str],
    taxonomy: list[str] | None = None,
    tags: list[str] | None = None,
    tldr: str | None = None,
) -> Paper:
    """A catalog entry for an arXiv record; taxonomy and tldr default to the TODO placeholder."""
    title = " ".join(result.title.split())
    authors = [" ".join(a.name.split()) for a in result.authors]
    year = result.published.year
    aid = versionless(result.entry_id)
    data: dict[str, Any] = {
        "id": make_id(authors, year, title, existing_ids),
        "title": title,
        "authors": authors,
        "date": result.published.date(),
        "venue": venue_from(result.comment, result.journal_ref, result.updated.year),
        "arxiv": aid,
        "arxiv_version": version_of(result.entry_id),
        "doi": first_doi(result.doi),
        "code": code_links(result.summary, result.comment),
        "taxonomy": list(taxonomy) if taxonomy else [PLACEHOLDER],
        "tags": list(tags or []),
        "tldr": tldr if tldr else PLACEHOLDER,
    }
    try:
        return Paper.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors())
        raise AddError(f"arXiv:{aid} does not make a valid entry: {details}") from None


def todo_fields(paper: Paper) -> list[str]:
    """Fields still holding the placeholder, for the 'still to fill in' message."""
    todo = [name for name in ("title", "venue", "tldr") if getattr(paper, name) == PLACEHOLDER]
    if PLACEHOLDER in paper.taxonomy:
        todo.append("taxonomy")
    return sorted(todo, key=["title", "venue", "taxonomy", "tldr"].index)


# --- what is already in the catalog ------------------------------------------------------------


@dataclass
class Existing:
    path: Path
    id: str
    arxiv: str | None
    title: str | None


def existing_entries(papers_dir: Path) -> list[Existing]:
    """Every entry file's id (file name), arXiv id and title; files that do not parse are still
    counted for their id (`latent check` reports what is wrong with them)."""
    entries = []
    for path in sorted(p for p in Path(papers_dir).glob("*.y*ml") if p.suffix in (".yaml", ".yml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError, OSError):
            data = None
        data = data if isinstance(data, dict) else {}
        try:
            arxiv_id = parse_arxiv_id(str(data["arxiv"])).id if data.get("arxiv") else None
        except ValueError:
            arxiv_id = None  # malformed: `latent check` says so
        title = data.get("title")
        entries.append(Existing(path, path.stem, arxiv_id, str(title) if title else None))
    return entries


def find_duplicate(
    arxiv_id: str | None, title: str | None, entries: list[Existing], similar: bool = True
) -> Existing | None:
    """An entry with the same arXiv id, or the same (normalised) title; with `similar`, also a
    near-identical one (the threshold `latent check` warns at)."""
    key = normalize_title(title) if title else ""
    for entry in entries:
        if arxiv_id and entry.arxiv == arxiv_id:
            return entry
        if key and entry.title and normalize_title(entry.title) == key:
            return entry
    if key and similar:
        titled = [e for e in entries if e.title]
        pairs = similar_pairs([key] + [normalize_title(e.title or "") for e in titled])
        close = [j for i, j, _ in pairs if i == 0]
        if close:
            return titled[min(close) - 1]
    return None


def check_vocabulary(taxonomy: list[str], tags: list[str]) -> None:
    """Raise AddError for taxonomy nodes or tags that catalog/taxonomy.yaml / tags.yaml lack."""
    unknown = []
    if taxonomy:
        nodes = sorted(load_taxonomy().nodes)
        unknown += [_unknown("taxonomy node", n, nodes, "catalog/taxonomy.yaml") for n in taxonomy if n not in nodes]
    if tags:
        known = sorted(load_tags())
        unknown += [_unknown("tag", t, known, "catalog/tags.yaml") for t in tags if t not in known]
    if unknown:
        raise AddError("; ".join(unknown))


def _unknown(what: str, value: str, known: list[str], where: str) -> str:
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"see {where}"
    return f"unknown {what} '{value}' ({hint})"


# --- add ---------------------------------------------------------------------------------------


@dataclass
class Addition:
    paper: Paper
    path: Path
    todo: list[str] = field(default_factory=list)

    @property
    def yaml(self) -> str:
        return dump_paper(self.paper)


def plan_additions(
    raw_ids: list[str],
    papers_dir: Path,
    client: ArxivClient,
    taxonomy: list[str] | None = None,
    tags: list[str] | None = None,
    tldr: str | None = None,
    allow_similar_title: bool = False,
) -> list[Addition]:
    """Fetch and build every entry; raises (ValueError, AddError, ArxivError) on the first
    problem, before anything is written."""
    ids = list(dict.fromkeys(parse_arxiv_id(raw).id for raw in raw_ids))
    entries = existing_entries(papers_dir)
    for aid in ids:
        if dup := find_duplicate(aid, None, entries):
            raise DuplicateError(f"arXiv:{aid} is already in the catalog: {display_path(dup.path)}")
    records = client.fetch(ids)
    taken = {e.id for e in entries}
    additions: list[Addition] = []
    for aid in ids:
        result = records[aid]
        check_not_withdrawn(result)
        paper = paper_from_result(result, taken, taxonomy, tags, tldr)
        if dup := find_duplicate(None, paper.title, entries, similar=False):
            raise DuplicateError(f"arXiv:{aid} has the same title as {display_path(dup.path)}: {dup.title!r}")
        if not allow_similar_title and (dup := find_duplicate(None, paper.title, entries)):
            raise DuplicateError(
                f"arXiv:{aid} ({paper.title!r}) has a near-identical title to {display_path(dup.path)} ({dup.title!r}); "
                "if it is a different paper, use --allow-similar-title"
            )
        taken.add(paper.id)
        entries.append(Existing(Path(papers_dir) / f"{paper.id}.yaml", paper.id, aid, paper.title))
        additions.append(Addition(paper, Path(papers_dir) / f"{paper.id}.yaml", todo_fields(paper)))
    return additions


def write_additions(additions: list[Addition], papers_dir: Path) -> list[Path]:
    """Write every entry (each atomically); if one fails, remove those already written."""
    written: list[Path] = []
    try:
        for addition in additions:
            if addition.path.exists():
                raise DuplicateError(f"{display_path(addition.path)} already exists")
            write_paper(addition.paper, papers_dir)
            written.append(addition.path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written


# --- refresh -----------------------------------------------------------------------------------


@dataclass
class Refresh:
    """What refreshing one entry would change: new file text and the changed fields."""

    path: Path
    old_text: str
    new_text: str
    changes: dict[str, tuple[Any, Any]]

    def diff(self, label: str | None = None) -> str:
        name = label or self.path.as_posix()
        lines = difflib.unified_diff(
            self.old_text.splitlines(keepends=True),
            self.new_text.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
        return "".join(lines)


def refreshed_fields(data: dict[str, Any], result: arxiv.Result, today: dt.date | None = None) -> dict[str, Any]:
    """The fields arXiv knows better: latest version, DOI (only added or corrected, never
    removed) and venue (only when arXiv names a published venue different from ours). A venue
    taken from the record comes with `venue_source` (`arxiv-journal-ref` or `arxiv-comment`)
    and `venue_checked` (`today`), so that it reads as verified."""
    updates: dict[str, Any] = {}
    version = version_of(result.entry_id)
    if version and data.get("arxiv_version") != version:
        updates["arxiv_version"] = version
    doi = first_doi(result.doi)
    if doi and data.get("doi") != doi:
        updates["doi"] = doi
    venue, source = venue_and_source(result.comment, result.journal_ref, result.updated.year)
    if venue != UNPUBLISHED and venue != data.get("venue"):
        updates["venue"] = venue
        updates["venue_source"] = source
        updates["venue_checked"] = today or dt.date.today()
    return updates


# Where a missing key goes: after the first of these keys that the file has (the model's order).
_INSERT_AFTER = {
    "arxiv_version": ["arxiv"],
    "doi": ["arxiv_version", "arxiv"],
    "venue": ["date_note", "date_precision", "date"],
    "venue_source": ["venue"],
    "venue_checked": ["venue_source", "venue"],
}


def _key_block(lines: list[str], key: str) -> tuple[int, int] | None:
    """Line range of a top-level key and its indented continuation lines."""
    for i, line in enumerate(lines):
        if re.match(rf"{re.escape(key)}\s*:", line):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                j += 1
            while j > i + 1 and not lines[j - 1].strip():  # leave blank lines where they are
                j -= 1
            return i, j
    return None


def set_top_level(text: str, key: str, value: Any) -> str:
    """`text` with the top-level `key` set to `value`, every other line untouched."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    new_line = yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False, width=10_000)
    if block := _key_block(lines, key):
        start, end = block
    else:
        anchor = next((b for k in _INSERT_AFTER.get(key, []) if (b := _key_block(lines, k))), None)
        start = end = anchor[1] if anchor else len(lines)
    return "".join(lines[:start] + [new_line] + lines[end:])


def select_entries(selectors: list[str], papers_dir: Path) -> list[Existing]:
    """Every entry, or those named by catalog id or arXiv id. Entries without an arXiv id are
    kept, so that `plan_refresh` can report them as not verifiable."""
    entries = existing_entries(papers_dir)
    if not selectors:
        return entries
    chosen: list[Existing] = []
    for selector in selectors:
        matches = [e for e in entries if e.id == selector]
        if not matches:
            try:
                aid = parse_arxiv_id(selector).id
            except ValueError:
                aid = None
            matches = [e for e in entries if aid and e.arxiv == aid]
        if not matches:
            raise AddError(f"{selector!r} is neither the id nor the arXiv id of an entry in {papers_dir}")
        chosen += [e for e in matches if e not in chosen]
    return chosen


def unverifiable(entries: list[Existing]) -> list[str]:
    """Offline, before any request: entries `latent refresh` cannot check against arXiv at all
    (no arXiv id), each as `path: reason`. Their venue must be verified by hand."""
    return [
        f"{display_path(e.path)}: no arXiv id; verify its venue by hand (venue_source, venue_checked)"
        for e in entries
        if not e.arxiv
    ]


def unverified_venues(entries: list[Existing]) -> list[str]:
    """Offline: entries whose venue has never been verified (no `venue_checked`), as
    `path: venue`. Files that cannot be read are left to `latent check`."""
    lines = []
    for entry in entries:
        try:
            data = yaml.safe_load(entry.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and not data.get("venue_checked"):
            lines.append(f"{display_path(entry.path)}: venue {data.get('venue')!r} has no venue_checked")
    return lines


def plan_refresh(
    entries: list[Existing],
    client: ArxivClient,
    progress: Callable[[int], None] | None = None,
    today: dt.date | None = None,
) -> tuple[list[Refresh], list[str]]:
    """Fetch the entries' records (`page_size` ids per request; `progress(n)` after each) and
    work out the changes. Returns (refreshes that change something, problems: entries that
    could not be verified, as `path: reason`). Nothing is written. Entries without an arXiv id
    are problems found offline, before any request; an error of the API itself (unreachable,
    bad answer) is raised."""
    problems = unverifiable(entries)
    entries = [e for e in entries if e.arxiv]
    ids = list(dict.fromkeys(e.arxiv for e in entries if e.arxiv))
    found: dict[str, arxiv.Result] = {}
    for start in range(0, len(ids), client.page_size):
        batch = ids[start : start + client.page_size]
        found.update(client.fetch_batch(batch))
        if progress:
            progress(len(batch))
    refreshes = []
    for entry in entries:
        result = found.get(entry.arxiv or "")
        if result is None:
            problems.append(f"{display_path(entry.path)}: arXiv has no record for {entry.arxiv}")
            continue
        try:
            refresh = _refresh_one(entry.path, result, today)
        except AddError as exc:
            problems.append(str(exc))
            continue
        if refresh.changes:
            refreshes.append(refresh)
    return refreshes, problems


def _refresh_one(path: Path, result: arxiv.Result, today: dt.date | None = None) -> Refresh:
    where = display_path(path)
    try:
        old_text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(old_text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise AddError(f"{where}: cannot be read ({type(exc).__name__}); run `latent check`") from None
    if not isinstance(data, dict):
        raise AddError(f"{where}: not a YAML mapping; run `latent check`")
    updates = refreshed_fields(data, result, today)
    if not updates:
        return Refresh(path, old_text, old_text, {})
    new_text = old_text
    for key, value in updates.items():
        new_text = set_top_level(new_text, key, value)
    # The edit must change exactly the intended keys, and leave a valid entry.
    new_data = yaml.safe_load(new_text)
    if new_data != {**data, **updates}:
        raise AddError(f"{where}: could not update {', '.join(updates)} in place; edit it by hand")
    try:
        Paper.model_validate(new_data)
    except ValidationError as exc:
        raise AddError(f"{where}: not valid after refresh ({exc.error_count()} errors); run `latent check`") from None
    changes = {key: (data.get(key), value) for key, value in updates.items()}
    return Refresh(path, old_text, new_text, changes)


def apply_refresh(refresh: Refresh) -> None:
    """Replace one file with its refreshed text, atomically."""
    atomic_write_text(refresh.path, refresh.new_text)
