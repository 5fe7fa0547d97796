"""Read one YAML file defensively, keeping the line of every key and item.

Catalog files are parsed into plain Python values plus a parallel tree of line numbers, so that a
schema error at `authors[2]` can be reported at the line where that author is written. Events come
from libyaml's parser (fast, iterative) and are assembled here without recursion, so no input —
deep nesting, aliases ("YAML bombs"), huge numbers, invalid dates, tabs, a BOM, invalid UTF-8,
several documents — can raise: everything wrong becomes a `Problem`.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from catalog.problems import Problem

MAX_BYTES = 1_000_000  # a paper is a few kB; anything larger is a mistake, and is not parsed
MAX_DEPTH = 32  # nesting levels; the schema needs 3
BOM = "\ufeff"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()
_STR, _NULL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null"
_SCALAR_TAGS = {
    _STR,
    _NULL,
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}
_IMPLICIT = frozenset(_resolver.yaml_implicit_resolvers)  # first characters of non-string plain scalars
_PLAIN_TAGS: dict[str, str] = {}  # plain scalar text -> resolved tag (a cache; resolution is slow)
_MAP_TAG, _SEQ_TAG = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


@dataclass(slots=True)
class Pos:
    """Where a value sits: its 1-based line, and for collections the positions of its parts.

    `keys` maps a mapping's key to (line of the key, Pos of the value); `items` lists a
    sequence's item positions.
    """

    line: int
    keys: dict[str, tuple[int, "Pos"]] | None = None
    items: list["Pos"] | None = None


@dataclass
class Source:
    """A parsed file: `data` is None when the file could not be read as YAML at all."""

    path: Path
    text: str = ""  # the decoded text ("" when it could not be read)
    data: Any = None
    pos: Pos | None = None
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, loc: tuple[str | int, ...], key: bool = False) -> int:
        """The line of the value at `loc` (or of its key when `key`); the deepest known one."""
        pos = self.pos
        if pos is None:
            return 1
        line = 1 if not loc else pos.line
        for i, part in enumerate(loc):
            last = i == len(loc) - 1
            if isinstance(part, str) and pos.keys is not None and part in pos.keys:
                key_line, pos = pos.keys[part]
                line = key_line if (key and last) else pos.line
            elif isinstance(part, int) and pos.items is not None and 0 <= part < len(pos.items):
                pos = pos.items[part]
                line = pos.line
            else:
                break
        return line


def read_yaml(path: str | os.PathLike[str]) -> Source:
    """Read and parse `path`. Never raises for bad content; an unreadable file is a Problem too."""
    source = Source(Path(path))
    try:
        size = source.path.stat().st_size
        if size > MAX_BYTES:
            source.problems.append(
                Problem(path, 1, "", f"file is {size:,} bytes, over the {MAX_BYTES:,}-byte limit; not parsed")
            )
            return source
        raw = source.path.read_bytes()
    except OSError as exc:
        source.problems.append(Problem(path, 1, "", f"cannot read the file: {exc.strerror or exc}"))
        return source
    return parse_bytes(raw, source)


def parse_bytes(raw: bytes, source: Source) -> Source:
    path = source.path
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        source.problems.append(
            Problem(path, line, "", f"invalid UTF-8 at byte offset {exc.start} (save the file as UTF-8)")
        )
        return source
    if text.startswith(BOM):
        text = text[1:]  # a UTF-8 byte-order mark is harmless; accept it
    source.text = text
    if not text.strip():
        source.problems.append(Problem(path, 1, "", "empty file"))
        return source
    tab_lines = _tab_indented_lines(text)
    if tab_lines:
        for line in tab_lines:
            source.problems.append(Problem(path, line, "", "tab character in indentation; indent with spaces"))
        return source
    _Builder(source, text).run()
    if source.data is None and not source.problems:
        source.problems.append(Problem(path, 1, "", "empty file (no YAML content)"))
    return source


def _tab_indented_lines(text: str) -> list[int]:
    if "\t" not in text:
        return []
    lines = []
    for number, line in enumerate(text.split("\n"), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            lines.append(number)
    return lines


def _plain_tag(value: str) -> str:
    """The tag YAML gives a plain scalar (str, int, float, bool, null, timestamp), cached."""
    tag = _PLAIN_TAGS.get(value)
    if tag is None:
        tag = _resolver.resolve(yaml.ScalarNode, value, (True, False))
        if len(value) <= 64 and len(_PLAIN_TAGS) < 50_000:
            _PLAIN_TAGS[value] = tag
    return tag


class _Abort(Exception):
    """Stop reading: the problem has been recorded."""


class _Builder:
    """Assembles values and positions from parser events, with an explicit stack."""

    def __init__(self, source: Source, text: str):
        self.source = source
        self.text = text
        # Each frame: [value (dict|list), pos, pending key (str|None), pending key line]
        self.stack: list[list[Any]] = []
        self.documents = 0

    def problem(self, line: int, message: str) -> None:
        self.source.problems.append(Problem(self.source.path, line, "", message))

    def run(self) -> None:
        loader = _Loader(self.text)
        try:
            self.loop(loader.get_event)
        except _Abort:
            pass
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            what = exc.problem or exc.context or "invalid YAML"
            context = f" ({exc.context})" if exc.context and exc.problem else ""
            if "mapping values are not allowed" in what:
                context = " (a value that contains ': ' must be put in quotes)"
            self.problem(line, f"YAML syntax error: {what}{context}")
            self.source.data = None
        except yaml.YAMLError as exc:  # reader errors: control characters and the like
            position = getattr(exc, "position", None)
            line = self.text.count("\n", 0, position) + 1 if isinstance(position, int) else 1
            reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
            self.problem(line, f"YAML error: {reason}")
            self.source.data = None
        except (RecursionError, MemoryError, ValueError) as exc:  # defensive: never a traceback
            self.problem(1, f"cannot parse the file: {type(exc).__name__}")
            self.source.data = None
        finally:
            loader.dispose()

    def loop(self, get_event: Any) -> None:
        """Consume events until the stream ends. One tight loop: this is the hot path of
        `latent check` (a few hundred thousand events for a large catalog)."""
        ScalarEvent, MappingStartEvent, SequenceStartEvent = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
        MappingEndEvent, SequenceEndEvent = yaml.MappingEndEvent, yaml.SequenceEndEvent
        implicit, stack = _IMPLICIT, self.stack
        while True:
            event = get_event()
            kind = event.__class__
            if kind is ScalarEvent:
                value, style = event.value, event.style
                line = event.start_mark.line + 1
                # plain scalars have style '' (libyaml) or None (pure-Python parser)
                if event.tag is None and value and (style == "'" or style == '"' or (not style and value[0] not in implicit)):
                    raw = value  # a string: quoted, or plain text that cannot be a number, date, ...
                elif event.tag is None and value and not style and _plain_tag(value) == _STR:
                    raw = value  # plain text that looked like it might be something else
                else:
                    raw = value
                    if style in ("|", ">") and event.end_mark.line > event.start_mark.line:
                        line += 1  # a block scalar's text starts on the line after its `>-` or `|`
                    value = self.scalar(event, line)
                pos = Pos(line)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                value, pos, _, _ = stack.pop()
                raw = None
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                self.start_collection(event, kind is MappingStartEvent)
                continue
            elif kind is yaml.AliasEvent:
                line = event.start_mark.line + 1
                self.problem(line, f"YAML alias *{event.anchor} is not allowed in catalog files; write the value out")
                value, pos, raw = None, Pos(line), None
            elif kind is yaml.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    self.problem(event.start_mark.line + 1, "more than one YAML document (a second `---`); one paper per file")
                    raise _Abort
                continue
            elif event is None or kind is yaml.StreamEndEvent:
                return
            else:
                continue
            # attach the finished value to its parent (inlined `add` for speed)
            if not stack:
                self.source.data, self.source.pos = value, pos
                continue
            frame = stack[-1]
            container = frame[0]
            if container.__class__ is list:
                container.append(value)
                frame[1].items.append(pos)
            elif frame[2] is None:
                self.set_key(frame, raw, pos)
            else:
                self.set_value(frame, value, pos)

    def start_collection(self, event: Any, is_map: bool) -> None:
        line = event.start_mark.line + 1
        if event.tag not in (None, "!", _MAP_TAG if is_map else _SEQ_TAG):
            self.problem(line, f"unsupported YAML tag {event.tag}")
        if len(self.stack) >= MAX_DEPTH:
            self.problem(line, f"nesting deeper than {MAX_DEPTH} levels; not parsed further")
            self.source.data = None
            raise _Abort
        # frame: [container, Pos, pending key (mappings), line of the pending key]
        if is_map:
            self.stack.append([{}, Pos(line, keys={}), None, 0])
        else:
            self.stack.append([[], Pos(line, items=[]), None, 0])

    def set_key(self, frame: list[Any], raw_key: str | None, pos: Pos) -> None:
        if raw_key is None:
            self.problem(pos.line, "a key must be a plain word, not a list or mapping")
            raw_key = f"<complex key at line {pos.line}>"
        frame[2], frame[3] = raw_key, pos.line

    def set_value(self, frame: list[Any], value: Any, pos: Pos) -> None:
        container, cpos, key, key_line = frame
        frame[2] = None
        if key in container:
            first = cpos.keys[key][0]
            self.problem(key_line, f"duplicate key '{key}' (first at line {first}); the later one is ignored")
            return
        container[key] = value
        cpos.keys[key] = (key_line, pos)

    def scalar(self, event: yaml.ScalarEvent, line: int) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return event.value  # quoted or block scalar: a string
            tag = _plain_tag(event.value)
        if tag == _STR:
            return event.value
        if tag not in _SCALAR_TAGS:
            self.problem(line, f"unsupported YAML tag {tag}")
            return event.value
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = _constructor.yaml_constructors[tag](_constructor, node)
        except (ValueError, OverflowError, TypeError, yaml.YAMLError) as exc:
            what = "date" if tag.endswith("timestamp") else tag.rsplit(":", 1)[-1]
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.problem(line, f"invalid {what} {event.value[:40]!r}: {detail[:120]}")
            return event.value
        if isinstance(value, dt.datetime) and value.time() == dt.time(0) and value.tzinfo is None:
            value = value.date() if "T" not in event.value and " " not in event.value else value
        return value
