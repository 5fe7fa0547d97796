"""`latent check`: validate every catalog file and report all problems at once.

Each problem names the file, the line and the field (`catalog/papers/x.yaml:12: authors[2]: ...`).
Checks, per paper file: YAML syntax and shape (yamlsource), the schema (catalog/model.py), `TODO`
placeholders, the id against the file name, taxonomy nodes, tags and baselines against their
vocabularies; across files: duplicate ids, arXiv ids, DOIs and (near-)identical titles; and
taxonomy.yaml and tags.yaml themselves.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import gc
import multiprocessing
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from catalog import METHODS_DIR, PAPERS_DIR, TAGS_FILE, TAXONOMY_FILE
from catalog.ids import normalize_title
from catalog.methods import known_methods
from catalog.model import PLACEHOLDER, Paper
from catalog.problems import Problem, Severity, display_path
from catalog.schema_errors import format_loc, schema_problems
from catalog.similar import similar_pairs
from catalog.yamlsource import Source, parse_bytes, read_yaml

__all__ = ["Problem", "Report", "check", "check_bytes", "inspect", "schema_problems"]

_TODO = re.compile(rf"\b{PLACEHOLDER}\b")
UNIQUE_KEYS = ("id", "arxiv", "doi", "title")
PARALLEL_MIN_FILES = 1000  # below this, starting worker processes costs more than it saves
CHUNK_FILES = 250
MAX_WORKERS = 8


@dataclass
class Report:
    """Everything `inspect` found: the valid papers (sorted) and the problems."""

    problems: list[Problem]
    papers: list[Paper]
    taxonomy: Any = None  # Taxonomy | None
    tags: Any = None  # dict[str, Tag] | None
    files: int = 0
    methods: set[str] = field(default_factory=set)


def check(
    papers_dir: str | os.PathLike[str] = PAPERS_DIR,
    taxonomy_file: str | os.PathLike[str] = TAXONOMY_FILE,
    tags_file: str | os.PathLike[str] = TAGS_FILE,
    methods_dir: str | os.PathLike[str] = METHODS_DIR,
) -> list[Problem]:
    """All problems in the catalog (errors and warnings), sorted by file and line."""
    return inspect(papers_dir, taxonomy_file, tags_file, methods_dir, keep_papers=False).problems


def inspect(
    papers_dir: str | os.PathLike[str] = PAPERS_DIR,
    taxonomy_file: str | os.PathLike[str] = TAXONOMY_FILE,
    tags_file: str | os.PathLike[str] = TAGS_FILE,
    methods_dir: str | os.PathLike[str] = METHODS_DIR,
    progress: bool = False,
    keep_papers: bool = True,
) -> Report:
    """Check everything; the Report holds the problems and (unless `keep_papers` is False) the
    valid papers, newest first."""
    from catalog.tags import read_tags
    from catalog.taxonomy import read_taxonomy

    taxonomy, problems = read_taxonomy(taxonomy_file)
    tags, tag_problems = read_tags(tags_file)
    problems += tag_problems
    methods = known_methods(methods_dir)
    planned: set[str] = set()
    if taxonomy is not None:
        planned = taxonomy.baselines() - methods
        problems += _planned_baseline_warnings(taxonomy_file, planned)

    papers_dir = Path(papers_dir)
    if not papers_dir.is_dir():
        problems.append(Problem(papers_dir, 1, "", "papers folder not found"))
        return Report(sorted(problems, key=Problem.sort_key), [], taxonomy, tags, 0, methods)
    paths = sorted(p for p in papers_dir.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("."))
    vocab = _Vocabulary(
        nodes=set(taxonomy.nodes) if taxonomy else None,
        tags=set(tags) if tags else None,
        methods=methods,
        planned=planned,
    )
    with _gc_paused():
        results = _check_paths(paths, vocab, progress, keep_papers)
        for result in results:
            problems += result.problems
        problems += cross_checks(results)
        problems += excluded_checks(results, Path(taxonomy_file).with_name("excluded.yaml"))
    papers = sorted((r.paper for r in results if r.paper is not None), key=lambda p: (-p.date.toordinal(), p.id))
    return Report(sorted(problems, key=Problem.sort_key), papers, taxonomy, tags, len(paths), methods)


@dataclass
class FileResult:
    """What one paper file contributes: its Paper (if valid), its own problems, and the values
    (with their lines) that must be unique across the catalog."""

    path: Path
    paper: Paper | None
    problems: list[Problem]
    keys: dict[str, tuple[str, int]]  # id / arxiv / doi / title -> (value, line)


def check_path(path: Path, vocab: _Vocabulary, keep_paper: bool = True) -> FileResult:
    source = read_yaml(path)
    paper, problems = check_source(source, vocab)
    if not keep_paper:
        paper = None
    keys = {}
    if isinstance(source.data, dict):
        for key in UNIQUE_KEYS:
            value = source.data.get(key)
            if isinstance(value, str) and value and not _TODO.search(value):
                keys[key] = (value, source.line_of((key,)))
    return FileResult(path, paper, problems, keys)


def _check_chunk(paths: list[Path], vocab: _Vocabulary, keep_papers: bool) -> list[FileResult]:
    with _gc_paused():
        return [check_path(path, vocab, keep_papers) for path in paths]


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: parsing thousands of files allocates millions of
    small, acyclic objects, and the collections it would trigger cost a third of the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_paths(paths: list[Path], vocab: _Vocabulary, progress: bool, keep_papers: bool) -> list[FileResult]:
    """Check every file, on several processes for large catalogs (parsing is CPU-bound)."""
    bar = None
    if progress and len(paths) >= 200:
        from tqdm import tqdm

        bar = tqdm(total=len(paths), desc="checking", unit="file", leave=False)
    workers = min(_usable_cpus(), MAX_WORKERS)
    use_pool = len(paths) >= PARALLEL_MIN_FILES and workers > 1 and _can_fork()
    size = CHUNK_FILES if use_pool else len(paths) or 1
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    results: list[FileResult] = []
    if use_pool:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for chunk_results in pool.map(_check_chunk, chunks, [vocab] * len(chunks), [keep_papers] * len(chunks)):
                results += chunk_results
                if bar is not None:
                    bar.update(len(chunk_results))
    else:
        for path in paths:
            results.append(check_path(path, vocab, keep_papers))
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    return results


def _usable_cpus() -> int:
    """CPUs this process may run on (respects taskset and container CPU sets)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _can_fork() -> bool:
    """Forking is fast (no re-imports) but unsafe once other threads run; fall back then."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


@dataclass
class _Vocabulary:
    nodes: set[str] | None  # None when taxonomy.yaml itself is broken: skip that check
    tags: set[str] | None
    methods: set[str]
    planned: set[str]


def _planned_baseline_warnings(taxonomy_file: str | os.PathLike[str], planned: set[str]) -> list[Problem]:
    if not planned:
        return []
    source = read_yaml(taxonomy_file)
    first_line: dict[str, int] = {}
    for value, pos, _ in _walk(source.data, source.pos, ()):
        if isinstance(value, dict) and value.get("baseline") in planned and pos.keys and "baseline" in pos.keys:
            first_line.setdefault(value["baseline"], pos.keys["baseline"][0])
    return [
        Problem(taxonomy_file, line, "baseline",
                f"'{name}' is planned: baselines/methods/{name}.py does not exist yet", "warning")  # fmt: skip
        for name, line in sorted(first_line.items(), key=lambda kv: kv[1])
    ]


def check_bytes(
    raw: bytes,
    path: str | os.PathLike[str] = "paper.yaml",
    taxonomy_file: str | os.PathLike[str] = TAXONOMY_FILE,
    tags_file: str | os.PathLike[str] = TAGS_FILE,
    methods_dir: str | os.PathLike[str] = METHODS_DIR,
) -> list[Problem]:
    """The problems of one paper given as bytes (as if it were the file `path`), on its own."""
    vocab = _vocabulary(*(_stamp(p) for p in (taxonomy_file, tags_file, methods_dir)))
    source = parse_bytes(raw, Source(Path(path)))
    return sorted(check_source(source, vocab)[1], key=Problem.sort_key)


def _stamp(path: str | os.PathLike[str]) -> tuple[str, int]:
    try:
        return str(path), Path(path).stat().st_mtime_ns
    except OSError:
        return str(path), 0


@functools.lru_cache(maxsize=8)
def _vocabulary(taxonomy_file: tuple[str, int], tags_file: tuple[str, int], methods_dir: tuple[str, int]) -> _Vocabulary:
    """The vocabularies from these files (cached while their modification times stay the same)."""
    from catalog.tags import read_tags
    from catalog.taxonomy import read_taxonomy

    taxonomy, _ = read_taxonomy(taxonomy_file[0])
    tags, _ = read_tags(tags_file[0])
    methods = known_methods(methods_dir[0])
    planned = taxonomy.baselines() - methods if taxonomy else set()
    return _Vocabulary(set(taxonomy.nodes) if taxonomy else None, set(tags) if tags else None, methods, planned)


def check_source(source: Source, vocab: _Vocabulary) -> tuple[Paper | None, list[Problem]]:
    """Problems of one paper file on its own; the Paper when it is valid."""
    path = source.path
    problems = list(source.problems)
    if path.suffix != ".yaml":
        problems.append(Problem(path, 1, "", f"paper files end in .yaml; rename to {path.stem}.yaml"))
    data = source.data
    if data is None:
        return None, problems
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        line = source.pos.line if source.pos else 1
        problems.append(Problem(path, line, "", f"expected a mapping of fields (key: value), found {kind}"))
        return None, problems

    paper = None
    try:
        paper = Paper.model_validate(data)
    except ValidationError as exc:
        problems += schema_problems(exc, source, Paper)
    if PLACEHOLDER in source.text:
        problems += _placeholder_problems(source)
    problems += _vocabulary_problems(source, vocab)
    problems += month_precision_problems(source)
    paper_id = data.get("id")
    if isinstance(paper_id, str) and paper_id != path.stem:
        problems.append(
            Problem(path, source.line_of(("id",)), "id",
                    f"id '{paper_id}' differs from the file name '{path.name}'; they must be equal")  # fmt: skip
        )
    if any(p.is_error for p in problems):
        paper = None
    return paper, problems


# An arXiv entry keeps `date_precision: month` only with a reason in `date_note` (arXiv gives the
# day of every first version). "warning" while entries are still being brought in line; set it to
# "error" once every entry of the catalog complies (`latent check` then shows no such warning).
MONTH_PRECISION_SEVERITY: Severity = "error"


def month_precision_problems(source: Source) -> list[Problem]:
    """An arXiv entry with `date_precision: month` and no (or an empty) `date_note`."""
    data = source.data
    if not isinstance(data, dict) or not data.get("arxiv") or data.get("date_precision") != "month":
        return []
    if str(data.get("date_note") or "").strip():
        return []
    line = source.line_of(("date_precision",))
    message = ("month precision for an arXiv paper needs a date_note saying why the day of the first "
               "version is not known (arXiv gives it: prefer the day)")  # fmt: skip
    return [Problem(source.path, line, "date_note", message, MONTH_PRECISION_SEVERITY)]


def _walk(value: Any, pos: Any, loc: tuple[str | int, ...]):
    """(value, pos, loc) for every value in a parsed tree, parents first; no recursion."""
    stack = [(value, pos, loc)]
    while stack:
        value, pos, loc = stack.pop()
        yield value, pos, loc
        if pos is None:
            continue
        if isinstance(value, dict) and pos.keys is not None:
            stack.extend((value[k], pos.keys[k][1], (*loc, k)) for k in reversed(list(value)) if k in pos.keys)
        elif isinstance(value, list) and pos.items is not None:
            stack.extend((v, p, (*loc, i)) for i, (v, p) in reversed(list(enumerate(zip(value, pos.items)))))


def _placeholder_problems(source: Source) -> list[Problem]:
    return [
        Problem(source.path, pos.line, format_loc(loc), f"still to fill in ({PLACEHOLDER} placeholder)")
        for value, pos, loc in _walk(source.data, source.pos, ())
        if isinstance(value, str) and _TODO.search(value)
    ]


def _vocabulary_problems(source: Source, vocab: _Vocabulary) -> list[Problem]:
    problems = []
    data = source.data

    def items(key: str) -> list[tuple[int, str]]:
        values = data.get(key)
        return [(i, v) for i, v in enumerate(values) if isinstance(v, str)] if isinstance(values, list) else []

    if vocab.nodes is not None:
        for i, node in items("taxonomy"):
            if node not in vocab.nodes and not _TODO.search(node):
                message = f"unknown taxonomy node '{node}'"
                problems.append(_unknown(source, ("taxonomy", i), message, node, vocab.nodes, "catalog/taxonomy.yaml"))
    if vocab.tags is not None:
        for i, tag in items("tags"):
            if tag not in vocab.tags and not _TODO.search(tag):
                problems.append(_unknown(source, ("tags", i), f"unknown tag '{tag}'", tag, vocab.tags, "catalog/tags.yaml"))
    for i, name in items("baselines"):
        if name in vocab.methods:
            continue
        if name in vocab.planned:
            problems.append(
                Problem(source.path, source.line_of(("baselines", i)), f"baselines[{i}]",
                        f"baseline '{name}' is planned but not implemented yet (no baselines/methods/{name}.py)", "warning")
            )  # fmt: skip
        else:
            known = vocab.methods | vocab.planned
            problems.append(_unknown(source, ("baselines", i), f"unknown baseline '{name}'", name, known, "baselines/methods/"))
    for key in ("taxonomy", "tags", "baselines"):
        seen: set[str] = set()
        for i, value in items(key):
            if value in seen:
                problems.append(Problem(source.path, source.line_of((key, i)), f"{key}[{i}]", f"'{value}' listed twice"))
            seen.add(value)
    return problems


def _unknown(source: Source, loc: tuple[str | int, ...], message: str, value: str, known: set[str], where: str) -> Problem:
    close = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" (see {where})"
    return Problem(source.path, source.line_of(loc), format_loc(loc), message + hint)


def cross_checks(results: list[FileResult]) -> list[Problem]:
    """Duplicates across files: ids, arXiv ids, DOIs, identical and near-identical titles."""
    problems: list[Problem] = []
    seen: dict[tuple[str, str], Path] = {}
    titles: dict[str, tuple[Path, int]] = {}  # normalized title -> first file and its title line
    for result in results:
        for key, label in (("id", "id"), ("arxiv", "arXiv id"), ("doi", "DOI")):
            if key not in result.keys:
                continue
            value, line = result.keys[key]
            first = seen.setdefault((key, value.lower()), result.path)
            if first is not result.path:
                problems.append(
                    Problem(result.path, line, key, f"{label} '{value}' is also used by {_rel(first)}: the same paper twice?")
                )
        if "title" in result.keys:
            title, line = result.keys["title"]
            norm = normalize_title(title)
            if not norm:
                continue
            first_title = titles.setdefault(norm, (result.path, line))
            if first_title[0] is not result.path:
                problems.append(
                    Problem(result.path, line, "title", f"same title as {_rel(first_title[0])}: the same paper twice?")
                )
    unique = list(titles.items())
    for i, j, ratio in similar_pairs([norm for norm, _ in unique]):
        (first, _), (second, line) = sorted((unique[i][1], unique[j][1]))
        problems.append(
            Problem(second, line, "title",
                    f"title is {ratio:.1%} similar to {_rel(first)}'s: the same paper twice?", "warning")
        )  # fmt: skip
    return problems


def excluded_checks(results: list[FileResult], excluded_file: Path) -> list[Problem]:
    """Entries whose arXiv id catalog/excluded.yaml lists as off-topic or not a paper.

    Duplicate rows are not reported: their arXiv id may well be the catalogued paper's own.
    """
    if not excluded_file.is_file():
        return []
    try:
        records = yaml.safe_load(excluded_file.read_text(encoding="utf-8")) or []
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return [Problem(excluded_file, 1, "", f"cannot read the list of excluded records: {exc}")]
    if not isinstance(records, list):
        return [Problem(excluded_file, 1, "", "expected a list of {title, arxiv, reason} records")]
    left_out = {}
    for record in records:
        if isinstance(record, dict) and isinstance(record.get("arxiv"), str):
            reason = str(record.get("reason", ""))
            if reason.startswith(("off-topic", "not a paper")):
                left_out[record["arxiv"]] = reason
    problems = []
    for result in results:
        if "arxiv" in result.keys and result.keys["arxiv"][0] in left_out:
            value, line = result.keys["arxiv"]
            problems.append(
                Problem(result.path, line, "arxiv",
                        f"arXiv id '{value}' is left out on purpose in {_rel(excluded_file)} "
                        f"({left_out[value]}); remove it there in the same change if it belongs in the catalog")
            )  # fmt: skip
    return problems


def _rel(path: Path) -> str:
    return display_path(path)
