"""Write papers as canonical YAML, and write files atomically.

The canonical form is the one of catalog/papers/hao2024training.yaml: the schema comment line,
fields in model order, empty optional fields left out, the arXiv id quoted, short lists in flow
style, the tldr as a folded block, and one flow mapping per reported result.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from catalog.model import Paper

HEADER = "# yaml-language-server: $schema=../schema.json"
WIDTH = 98  # wrap the tldr block at this many columns
_NO_WRAP = 1_000_000_000


def _flow(value: Any) -> str:
    """`value` in YAML flow style on one line (quoted only where YAML needs it)."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, allow_unicode=True, width=_NO_WRAP)
    return text.removesuffix("\n...\n").rstrip("\n")


def _item(value: Any) -> str:
    """A scalar for a flow context (inside [...] or {...})."""
    return _flow([value])[1:-1]  # a list wrapper makes YAML quote what a flow context needs


def _scalar(value: Any) -> str:
    """A scalar for a block context (`key: value`, `- value`), on one line."""
    text = yaml.safe_dump(value, allow_unicode=True, width=_NO_WRAP)
    return text.removesuffix("\n...\n").rstrip("\n")


def _block_text(text: str, indent: str = "  ") -> str | None:
    """A folded block scalar for prose, or None when the text cannot be written that way."""
    if not text or not text.isprintable() or text != text.strip() or "  " in text:
        return None
    lines = textwrap.wrap(text, width=WIDTH - len(indent), break_long_words=False, break_on_hyphens=False)
    if " ".join(lines) != text:
        return None
    return ">-\n" + "\n".join(indent + line for line in lines)


def _short_list(key: str, values: list[str]) -> str:
    line = f"{key}: {_flow(values)}"
    if len(line) <= WIDTH:
        return line
    return f"{key}:\n" + "\n".join(f"  - {_scalar(v)}" for v in values)


def _is_default(paper: Paper, name: str, value: Any) -> bool:
    info = type(paper).model_fields[name]
    if info.is_required():
        return False
    return value is None or value == [] or value == {} or value == info.get_default(call_default_factory=True)


def _field_lines(name: str, value: Any) -> list[str]:
    """`name: value` in the canonical layout for this field (or a generic one for new fields)."""
    if name == "arxiv":
        return [f'arxiv: "{value}"']  # quoted: unquoted, YAML would read 2412.10 as a number
    if name == "tldr":
        return [f"tldr: {_block_text(value) or _scalar(value)}"]
    if name == "date":
        return [f"date: {value.isoformat()}"]
    if name == "code":
        return ["code:"] + [
            line
            for repo in value
            for line in (f"  - url: {_scalar(repo.url)}", f"    official: {'true' if repo.official else 'false'}")
        ]
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return [f"{name}:"] + [f"  - {_flow(item.model_dump(mode='json', exclude_none=True))}" for item in value]
    if isinstance(value, list) and name == "authors":
        return [f"{name}:"] + [f"  - {_scalar(v)}" for v in value]
    if isinstance(value, list):
        return [_short_list(name, value)]
    if isinstance(value, BaseModel):
        return [f"{name}: {_flow(value.model_dump(mode='json', exclude_none=True))}"]
    return [f"{name}: {_scalar(value)}"]


def dump_paper(paper: Paper) -> str:
    """The canonical YAML text of `paper` (ends with a newline): fields in model order, optional
    fields left out when empty or at their default."""
    out = [HEADER]
    for name in type(paper).model_fields:
        value = getattr(paper, name)
        if not _is_default(paper, name, value):
            out += _field_lines(name, value)
    return "\n".join(out) + "\n"


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path` via a temporary file in the same folder and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_paper(paper: Paper, papers_dir: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Write `paper` to `<papers_dir>/<id>.yaml` atomically; refuses to replace a file unless told."""
    path = Path(papers_dir) / f"{paper.id}.yaml"
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists (pass overwrite=True to replace it)")
    return atomic_write_text(path, dump_paper(paper))
