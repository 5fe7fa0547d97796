"""Everything the site is generated from, read without importing torch.

- the catalog (catalog.load.load_catalog),
- the baseline methods and tasks: modules in baselines/methods and baselines/tasks, read with
  `ast` (docstring, class attributes, the config dataclass), never imported,
- the harness results (results/<task>/<method>/<run_id>.json, baselines/result.py schema),
- recorded benchmark figures (benchmarks/results/*.json).

`load_inputs()` reads the repository (its folders can be pointed elsewhere with
LATENT_PAPERS_DIR, LATENT_RESULTS_DIR and LATENT_BENCHMARKS_DIR); `read_inputs` takes the folders
and the source of the methods as arguments, and tests can also build an `Inputs` themselves.
"""

from __future__ import annotations

import ast
import json
import os
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from baselines.result import Result
from catalog import METHODS_DIR, PAPERS_DIR, REPO_ROOT, RESULTS_DIR, SCHEMA_FILE
from catalog.load import Catalog, load_catalog
from catalog.methods import NOT_METHODS

TASKS_DIR = REPO_ROOT / "baselines" / "tasks"
BENCHMARKS_DIR = REPO_ROOT / "benchmarks" / "results"
EXAMPLE_PAPER = PAPERS_DIR / "hao2024training.yaml"


class InputError(Exception):
    """An input file the site cannot use; the message names the file and what is wrong."""


@dataclass
class ConfigField:
    name: str
    type: str
    default: str
    description: str = ""  # the comment after the field (and comment lines right under it)


@dataclass
class ModuleInfo:
    """A method or task module, as read from its source."""

    name: str  # file stem
    path: Path
    doc: str  # module docstring ('' when missing)
    attrs: dict[str, object] = field(default_factory=dict)  # constant class attributes (name, paper, knob, ...)
    config: list[ConfigField] = field(default_factory=list)  # the config dataclass fields (methods)
    variants: dict[str, str] = field(default_factory=dict)  # other registered names -> docstring

    @property
    def summary(self) -> str:
        """The docstring's first paragraph."""
        return self.doc.strip().split("\n\n", 1)[0].replace("\n", " ") if self.doc else ""


@dataclass
class Inputs:
    catalog: Catalog
    methods: dict[str, ModuleInfo]
    tasks: dict[str, ModuleInfo]
    results: list[Result]
    benchmarks: list[tuple[str, dict]]  # (file stem, content)
    example_yaml: str
    schema_json: str
    watch: list[Path]  # folders `mkdocs serve` should watch


def env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def read_methods() -> dict[str, ModuleInfo]:
    """The implemented methods, keyed by module name. The one place that says where they come
    from: today the source files of baselines/methods, read with `ast`."""
    return read_modules(METHODS_DIR, base="base")


def read_tasks() -> dict[str, ModuleInfo]:
    """The tasks, keyed by module name, from the source files of baselines/tasks."""
    return read_modules(TASKS_DIR, base="base")


def load_inputs() -> Inputs:
    """The repository's inputs; LATENT_PAPERS_DIR, LATENT_RESULTS_DIR and LATENT_BENCHMARKS_DIR
    point the site at other folders."""
    return read_inputs(
        papers_dir=env_path("LATENT_PAPERS_DIR", PAPERS_DIR),
        results_dir=env_path("LATENT_RESULTS_DIR", RESULTS_DIR),
        benchmarks_dir=env_path("LATENT_BENCHMARKS_DIR", BENCHMARKS_DIR),
    )


def read_inputs(papers_dir: Path, results_dir: Path, benchmarks_dir: Path, methods=read_methods, tasks=read_tasks) -> Inputs:
    """Every input read from the folders given; `methods()` and `tasks()` list the implemented
    methods and tasks."""
    catalog = load_catalog(papers_dir, methods_dir=METHODS_DIR)
    if SCHEMA_FILE.is_file():
        schema_json = SCHEMA_FILE.read_text(encoding="utf-8")
    else:
        from catalog.model import Paper

        schema_json = json.dumps(Paper.model_json_schema(), indent=2) + "\n"
    return Inputs(
        catalog=catalog,
        methods=methods(),
        tasks=tasks(),
        results=read_results(results_dir),
        benchmarks=read_benchmarks(benchmarks_dir),
        example_yaml=EXAMPLE_PAPER.read_text(encoding="utf-8") if EXAMPLE_PAPER.is_file() else "",
        schema_json=schema_json,
        watch=[p for p in (papers_dir, results_dir, benchmarks_dir, METHODS_DIR, TASKS_DIR) if p.is_dir()],
    )


def read_modules(folder: Path, base: str) -> dict[str, ModuleInfo]:
    """Each module of `folder` (base.py, __init__.py and _private.py skipped), keyed by file stem.

    `base` is the interface module's stem (`base` for both folders); its config dataclass fields
    are shown with each module's own."""
    out: dict[str, ModuleInfo] = {}
    if not folder.is_dir():
        return out
    base_path = folder / f"{base}.py"
    shared_classes = _classes(base_path, _parse(base_path)) if base_path.is_file() else {}
    for path in sorted(folder.glob("*.py")):
        if path.stem in NOT_METHODS or path.stem.startswith("_"):
            continue
        out[path.stem] = _module_info(path, _parse(path), shared_classes)
    return out


def _classes(path: Path, tree: ast.Module) -> dict[str, tuple[ast.ClassDef, dict[int, tuple[str, bool]]]]:
    """The module's classes, each with the comments of the module's lines ({line: text})."""
    comments = _comments(path)
    return {node.name: (node, comments) for node in tree.body if isinstance(node, ast.ClassDef)}


def _comments(path: Path) -> dict[int, tuple[str, bool]]:
    """{line number: (comment text without '#', alone on its line)} of a source file."""
    out = {}
    with path.open("rb") as handle:
        for token in tokenize.tokenize(handle.readline):
            if token.type == tokenize.COMMENT:
                out[token.start[0]] = (token.string.lstrip("#").strip(), token.line.lstrip().startswith("#"))
    return out


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise InputError(f"{path}:{exc.lineno}: cannot parse: {exc.msg}") from None


def _module_info(path: Path, tree: ast.Module, shared: dict[str, tuple[ast.ClassDef, dict[int, tuple[str, bool]]]]) -> ModuleInfo:
    """The module's main class is the one whose `name` attribute is the file stem (else the first
    class with a `name`); other classes with a `name` are registered variants of it."""
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    named = [(c, _constant_attrs(c)) for c in classes.values()]
    named = [(c, attrs) for c, attrs in named if isinstance(attrs.get("name"), str)]
    main = next(((c, a) for c, a in named if a["name"] == path.stem), named[0] if named else None)
    attrs = dict(main[1]) if main else {}
    config: list[ConfigField] = []
    if main:
        config_name = next(
            (stmt.value.id for stmt in main[0].body
             if _assigned_name(stmt) == "Config" and isinstance(stmt.value, ast.Name)),
            None,
        )  # fmt: skip
        if config_name:
            config = _config_fields(config_name, {**shared, **_classes(path, tree)})
    variants = {a["name"]: (ast.get_docstring(c) or "") for c, a in named if main and c is not main[0]}
    return ModuleInfo(
        name=path.stem, path=path, doc=ast.get_docstring(tree) or "", attrs=attrs, config=config, variants=variants
    )


def _assigned_name(stmt: ast.stmt) -> str | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        return stmt.target.id
    return None


def _constant_attrs(cls: ast.ClassDef) -> dict[str, object]:
    out: dict[str, object] = {}
    for stmt in cls.body:
        name = _assigned_name(stmt)
        if name and isinstance(stmt.value, ast.Constant):
            out[name] = stmt.value.value
    return out


def _config_fields(name: str, classes: dict[str, tuple[ast.ClassDef, dict[int, tuple[str, bool]]]], seen: frozenset = frozenset()) -> list[ConfigField]:
    """Fields of the dataclass `name`, inherited ones first (bases found among `classes`)."""
    if name not in classes or name in seen:
        return []
    cls, comments = classes[name]
    fields: dict[str, ConfigField] = {}
    for base in cls.bases:
        if isinstance(base, ast.Name):
            for f in _config_fields(base.id, classes, seen | {name}):
                fields[f.name] = f
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            annotation = ast.unparse(stmt.annotation)
            if not annotation.startswith("ClassVar"):
                default = ast.unparse(stmt.value) if stmt.value else ""
                fields[stmt.target.id] = ConfigField(stmt.target.id, annotation, default, _field_comment(stmt, comments))
    return list(fields.values())


def _field_comment(stmt: ast.stmt, comments: dict[int, tuple[str, bool]]) -> str:
    """The comment on the field's last line, continued by comment-only lines right below it."""
    line = stmt.end_lineno or stmt.lineno
    if line not in comments or comments[line][1]:
        return ""
    parts = [comments[line][0]]
    while line + 1 in comments and comments[line + 1][1]:
        line += 1
        parts.append(comments[line][0])
    return " ".join(p for p in parts if p)


def read_results(root: Path) -> list[Result]:
    """Every run under root/<task>/<method>/*.json; a file that is not a valid Result is an error."""
    out = []
    if not root.is_dir():
        return out
    for path in sorted(root.glob("*/*/*.json")):
        if path.name.startswith("."):
            continue
        try:
            out.append(Result.model_validate_json(path.read_text(encoding="utf-8")))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(top level)"
            raise InputError(f"{path}: not a valid result ({exc.error_count()} problem(s)); {where}: {first['msg']}") from None
    return out


def read_benchmarks(folder: Path) -> list[tuple[str, dict]]:
    out = []
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected a JSON object at the top level")
        out.append((path.stem, data))
    return out
