"""`latent check`: validate every catalog file and report all problems at once.

Each problem names the file, the line and the field (`catalog/papers/x.yaml:12: authors[2]: ...`).
Checks, per paper file: YAML syntax and shape (yamlsource), the schema (catalog/model.py), `TODO`
placeholders, the id against the file name, taxonomy nodes, tags and baselines against their
vocabularies; across files: duplicate ids, arXiv ids, DOIs and (near-)identical titles; and
taxonomy.yaml and tags.yaml themselves.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from catalog import METHODS_DIR, PAPERS_DIR, TAGS_FILE, TAXONOMY_FILE
from catalog.ids import normalize_title
from catalog.methods import known_methods
from catalog.model import PLACEHOLDER, Paper
from catalog.problems import Problem
from catalog.similar import similar_pairs
from catalog.yamlsource import Source, parse_bytes, read_yaml

__all__ = ["Problem", "Report", "check", "check_bytes", "inspect", "schema_problems"]

_TODO = re.compile(rf"\b{PLACEHOLDER}\b")


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
    return inspect(papers_dir, taxonomy_file, tags_file, methods_dir).problems


def inspect(
    papers_dir: str | os.PathLike[str] = PAPERS_DIR,
    taxonomy_file: str | os.PathLike[str] = TAXONOMY_FILE,
    tags_file: str | os.PathLike[str] = TAGS_FILE,
    methods_dir: str | os.PathLike[str] = METHODS_DIR,
    progress: bool = False,
) -> Report:
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
    entries = []
    for path in _progress(paths, progress):
        source = read_yaml(path)
        paper, file_problems = check_source(source, vocab)
        problems += file_problems
        entries.append((source, paper))
    problems += cross_checks(entries)
    papers = sorted((p for _, p in entries if p is not None), key=lambda p: (-p.date.toordinal(), p.id))
    return Report(sorted(problems, key=Problem.sort_key), papers, taxonomy, tags, len(paths), methods)


def _progress(paths: list[Path], enabled: bool):
    if not enabled or len(paths) < 200:
        return paths
    from tqdm import tqdm

    return tqdm(paths, desc="checking", unit="file", leave=False)


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
        Problem(taxonomy_file, line, "baseline", f"'{name}' is planned: baselines/methods/{name}.py does not exist yet", "warning")
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
        problems.append(Problem(path, source.pos.line if source.pos else 1, "", f"expected a mapping of fields (key: value), found {kind}"))
        return None, problems

    paper = None
    try:
        paper = Paper.model_validate(data)
    except ValidationError as exc:
        problems += schema_problems(exc, source, Paper)
    problems += _placeholder_problems(source)
    problems += _vocabulary_problems(source, vocab)
    paper_id = data.get("id")
    if isinstance(paper_id, str) and paper_id != path.stem:
        problems.append(
            Problem(path, source.line_of(("id",)), "id", f"id '{paper_id}' differs from the file name '{path.name}'; they must be equal")
        )
    if any(p.is_error for p in problems):
        paper = None
    return paper, problems


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
                problems.append(_unknown(source, ("taxonomy", i), f"unknown taxonomy node '{node}'", node, vocab.nodes, "catalog/taxonomy.yaml"))
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


def cross_checks(entries: list[tuple[Source, Paper | None]]) -> list[Problem]:
    """Duplicates across files: ids, arXiv ids, DOIs, identical and near-identical titles."""
    problems: list[Problem] = []
    seen: dict[tuple[str, str], Source] = {}
    titles: list[tuple[Source, str]] = []
    for source, _ in entries:
        data = source.data
        if not isinstance(data, dict):
            continue
        for key, label in (("id", "id"), ("arxiv", "arXiv id"), ("doi", "DOI")):
            value = data.get(key)
            if not isinstance(value, str) or not value or _TODO.search(value):
                continue
            norm = value.lower()
            first = seen.setdefault((key, norm), source)
            if first is not source:
                problems.append(
                    Problem(source.path, source.line_of((key,)), key,
                            f"{label} '{value}' is also used by {_rel(first.path)}: the same paper twice?")
                )  # fmt: skip
        title = data.get("title")
        if isinstance(title, str) and normalize_title(title):
            titles.append((source, normalize_title(title)))

    by_title: dict[str, Source] = {}
    for source, norm in titles:
        first = by_title.setdefault(norm, source)
        if first is not source:
            problems.append(
                Problem(source.path, source.line_of(("title",)), "title",
                        f"same title as {_rel(first.path)}: the same paper twice?")
            )  # fmt: skip
    unique = list(by_title.items())
    for i, j, ratio in similar_pairs([norm for norm, _ in unique]):
        (_, a), (_, b) = unique[i], unique[j]
        first, second = sorted((a, b), key=lambda s: s.path)
        problems.append(
            Problem(second.path, second.line_of(("title",)), "title",
                    f"title is {ratio:.0%} similar to {_rel(first.path)}'s: the same paper twice?", "warning")
        )  # fmt: skip
    return problems


def _rel(path: Path) -> str:
    from catalog.problems import display_path

    return display_path(path)


# --- pydantic errors -> Problems -------------------------------------------------------------


def format_loc(loc: tuple[str | int, ...]) -> str:
    """('code', 0, 'url') -> 'code[0].url'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def schema_problems(exc: ValidationError, source: Source, model: type[BaseModel]) -> list[Problem]:
    """One Problem per pydantic error, at the line of the offending key or item."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if isinstance(p, (str, int)))
        kind = error["type"]
        if kind == "missing":
            parent = loc[:-1]
            line = source.line_of(parent) if parent else 1
        else:
            line = source.line_of(loc, key=kind == "extra_forbidden")
        problems.append(Problem(source.path, line, format_loc(loc), _message(error, loc, model)))
    return problems


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that holds the last key of `loc` (for 'allowed keys' hints)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        candidates = [annotation, *get_args(annotation)]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


_PATTERN_HINTS = {
    "id": "expected lowercase family name + year + title word, e.g. hao2024training",
    "arxiv": "expected e.g. 2412.06769 (or hep-th/9901001 for old ids), without a version suffix",
    "doi": "expected 10.NNNN/suffix, without https://doi.org/",
    "url": "expected an http(s):// address",
    "survey": "expected a section number such as \"3.1.2\"",
    "baseline": "expected a method module name such as looped or hidden_state",
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: dict[str, Any], loc: tuple[str | int, ...], model: type[BaseModel]) -> str:
    kind, value = error["type"], error.get("input")
    last = next((p for p in reversed(loc) if isinstance(p, str)), "")
    if kind == "missing":
        return "missing (required field)"
    if kind == "extra_forbidden":
        holder = _model_at(model, loc)
        allowed = list(holder.model_fields) if holder else []
        close = difflib.get_close_matches(str(last), allowed, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; allowed: {', '.join(allowed)}" if allowed else "")
        return f"unknown key '{last}'{hint}"
    if kind == "string_pattern_mismatch":
        if last == "arxiv" and isinstance(value, str) and re.match(r"^.+v\d+$", value):
            return f"malformed arXiv id {value!r}: drop the version suffix (the version goes in arxiv_version)"
        what = {"arxiv": "arXiv id", "doi": "DOI", "url": "URL", "id": "id"}.get(str(last), str(last))
        return f"malformed {what} {_short(value)}: {_PATTERN_HINTS.get(str(last), 'does not match the required pattern')}"
    if value is None and kind.endswith("_type"):
        return "empty value"
    if kind == "string_type":
        if last in ("arxiv", "survey") and isinstance(value, (int, float)):
            return f"write it as a quoted string, e.g. {last}: \"{value}\" (unquoted, YAML reads a number and may drop digits)"
        return f"expected text, got {type(value).__name__} {_short(value)}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "list_type":
        return f"expected a list (e.g. [a, b] or one '- item' per line), got {type(value).__name__} {_short(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping (key: value), got {type(value).__name__} {_short(value)}"
    if kind.startswith("date") and last == "date":
        return f"expected a date YYYY-MM-DD, got {_short(value)}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{error['msg']} (got {_short(value)})"
