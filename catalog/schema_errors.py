"""Pydantic validation errors turned into Problems at the line of the offending key or item."""

from __future__ import annotations

import difflib
import re
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from catalog.problems import Problem
from catalog.yamlsource import Source


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
    "url": "expected an http(s):// address without spaces, angle brackets or quotes (percent-encode them: %3C %3E %22 %27)",
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
