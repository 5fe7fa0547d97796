"""The one registry of methods, their variants and knobs, and tasks, read without importing torch.

A method is a file `<name>.py` in a methods folder holding a class whose `name` attribute is
the file's name; other classes of the file with a `name` of their own are its variants (e.g. the
Coconut ablations). A task is a file `<name>.py` in a tasks folder holding a class whose `name`
is the file's name. Files named `__init__`, `base`, or starting with `_` are not registered.

The files are read with `ast`, never imported, so the harness (`latent bench ls`, suites), the
catalog check (`latent check`: which names a paper's `baselines:` may use) and the site all see
the same list, and none of them needs torch to get it. `load_module` imports one file when a
method or task is actually run.

Folders scanned: baselines/methods and baselines/tasks, then the folders named in the
environment variables LATENT_METHOD_DIRS and LATENT_TASK_DIRS (separated by the platform's path
separator, ':' on Linux). A method or task added as one file in any of them appears in
`latent bench ls`, the suites, the conformance tests and the site with no other edit.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parent
METHODS_DIR = PACKAGE_DIR / "methods"
TASKS_DIR = PACKAGE_DIR / "tasks"
METHOD_DIRS_ENV = "LATENT_METHOD_DIRS"
TASK_DIRS_ENV = "LATENT_TASK_DIRS"
NOT_REGISTERED = {"__init__", "base"}


class RegistryError(ValueError):
    """A method or task file the registry cannot use; the message names the file."""


@dataclass(frozen=True)
class ConfigField:
    name: str
    type: str  # the annotation as written
    default: str  # the default as written ('' when there is none)
    description: str = ""  # the comment after the field (and comment-only lines right below it)

    @property
    def value(self):
        """The default as a Python value when it is a literal (numbers, strings, None, ...), else the text."""
        try:
            return ast.literal_eval(self.default)
        except (ValueError, SyntaxError):
            return self.default or None


@dataclass
class Module:
    """One method or task file as read from its source (what the site shows for it)."""

    name: str  # file stem
    path: Path
    doc: str  # module docstring ('' when missing)
    attrs: dict[str, object] = field(default_factory=dict)  # literal class attributes of the main class
    config: list[ConfigField] = field(default_factory=list)  # the main class's config dataclass fields
    variants: dict[str, str] = field(default_factory=dict)  # other registered names -> class docstring
    builtin: bool = True  # in the package's own folder (else a folder from the environment)

    @property
    def summary(self) -> str:
        """The docstring's first paragraph, on one line."""
        return " ".join(self.doc.strip().split("\n\n", 1)[0].split()) if self.doc else ""


@dataclass(frozen=True)
class MethodEntry:
    name: str  # the registered name (file stem, or a variant's name)
    module: str  # file stem of the module that defines it
    path: Path
    paper: str | None  # catalog id of the paper it implements
    knob: str | None  # config field that is the test-time compute knob
    config: tuple[ConfigField, ...]
    summary: str  # first paragraph of the module docstring
    variant_of: str | None = None  # the module's main method, for a variant
    builtin: bool = True

    @property
    def knob_default(self):
        if self.knob is None:
            return None
        return next((f.value for f in self.config if f.name == self.knob), None)

    def defaults(self) -> dict[str, object]:
        return {f.name: f.value for f in self.config}


@dataclass(frozen=True)
class TaskEntry:
    name: str
    module: str
    path: Path
    version: int | None
    description: str
    options: dict  # option name -> default
    chance: object  # accuracy of guessing as declared (a number, or None when the task computes it)
    summary: str
    builtin: bool = True


# -- folders --------------------------------------------------------------------------------------

def _env_dirs(variable: str) -> list[Path]:
    value = os.environ.get(variable, "")
    out = []
    for part in value.split(os.pathsep):
        if part.strip():
            path = Path(part.strip()).expanduser().resolve()
            if not path.is_dir():
                raise RegistryError(f"{variable}: {path} is not a folder")
            out.append(path)
    return out


def method_dirs() -> list[Path]:
    """baselines/methods, then the folders of LATENT_METHOD_DIRS."""
    return [METHODS_DIR, *_env_dirs(METHOD_DIRS_ENV)]


def task_dirs() -> list[Path]:
    """baselines/tasks, then the folders of LATENT_TASK_DIRS."""
    return [TASKS_DIR, *_env_dirs(TASK_DIRS_ENV)]


def module_files(folder: Path) -> list[Path]:
    """The registered files of one folder, sorted."""
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.glob("*.py")) if p.stem not in NOT_REGISTERED and not p.stem.startswith("_")]


# -- reading one file -----------------------------------------------------------------------------

def _parse(path: Path) -> ast.Module:
    """The file's syntax tree; each class node carries `comments`, the file's comments by line
    ({line: (text, alone on its line)}), from which config fields get their descriptions."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise RegistryError(f"{path}:{exc.lineno}: cannot parse: {exc.msg}") from None
    comments = _comments(path)
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            node.comments = comments
    return tree


def _comments(path: Path) -> dict[int, tuple[str, bool]]:
    out = {}
    with path.open("rb") as handle:
        for token in tokenize.tokenize(handle.readline):
            if token.type == tokenize.COMMENT:
                out[token.start[0]] = (token.string.lstrip("#").strip(), token.line.lstrip().startswith("#"))
    return out


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


def _assigned_name(stmt: ast.stmt) -> str | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        return stmt.target.id
    return None


def _own_attrs(cls: ast.ClassDef) -> dict[str, object]:
    """Class attributes assigned a literal (or a class name, kept as text) in the class body."""
    out: dict[str, object] = {}
    for stmt in cls.body:
        name = _assigned_name(stmt)
        if not name:
            continue
        if isinstance(stmt.value, ast.Name):
            out[name] = _ClassRef(stmt.value.id)
            continue
        try:
            out[name] = ast.literal_eval(stmt.value)
        except (ValueError, SyntaxError, TypeError):
            continue
    return out


@dataclass(frozen=True)
class _ClassRef:
    """A class attribute that names a class (`Config = PauseConfig`)."""

    name: str


def _attrs(name: str, classes: dict[str, ast.ClassDef], seen: frozenset = frozenset()) -> dict[str, object]:
    """Attributes of class `name`, inherited ones (from bases defined in the same file) first."""
    cls = classes.get(name)
    if cls is None or name in seen:
        return {}
    out: dict[str, object] = {}
    for base in cls.bases:
        if isinstance(base, ast.Name):
            out.update(_attrs(base.id, classes, seen | {name}))
    out.update(_own_attrs(cls))
    return out


def _config_fields(name: str, classes: dict[str, ast.ClassDef], seen: frozenset = frozenset()) -> list[ConfigField]:
    """Fields of the dataclass `name`, inherited ones first (bases found among `classes`)."""
    cls = classes.get(name)
    if cls is None or name in seen:
        return []
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
                fields[stmt.target.id] = ConfigField(stmt.target.id, annotation, default,
                                                     _field_comment(stmt, getattr(cls, "comments", {})))
    return list(fields.values())


def _shared_classes(folder: Path) -> dict[str, ast.ClassDef]:
    """Classes of the package's base.py (MethodConfig and friends), for inherited config fields."""
    for base in (folder / "base.py", METHODS_DIR / "base.py"):
        if base.is_file():
            return {n.name: n for n in _parse(base).body if isinstance(n, ast.ClassDef)}
    return {}


def read_module(path: Path, builtin: bool = True) -> tuple[Module, dict[str, dict]]:
    """The file as a Module, and the resolved attributes of every registered class by its name.

    The main class is the one whose `name` is the file stem (else the first class with a
    `name`); the other classes with a `name` are variants of it."""
    tree = _parse(path)
    classes = {**_shared_classes(path.parent), **{n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}}
    own = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    named: list[tuple[ast.ClassDef, dict]] = []
    for cls in own:
        if isinstance(_own_attrs(cls).get("name"), str):
            attrs = _attrs(cls.name, classes)
            config_ref = attrs.get("Config")
            attrs["config"] = _config_fields(config_ref.name, classes) if isinstance(config_ref, _ClassRef) else []
            named.append((cls, attrs))
    main = next(((c, a) for c, a in named if a["name"] == path.stem), named[0] if named else None)
    by_name = {a["name"]: a for _, a in named}
    public = {k: v for k, v in main[1].items() if not isinstance(v, _ClassRef) and k != "config"} if main else {}
    module = Module(name=path.stem, path=path, doc=ast.get_docstring(tree) or "", attrs=public,
                    config=list(main[1]["config"]) if main else [],
                    variants={a["name"]: (ast.get_docstring(c) or "") for c, a in named if c is not main[0]} if main else {},
                    builtin=builtin)
    return module, by_name


# -- the registry ---------------------------------------------------------------------------------

def _modules(folders: list[Path], kind: str) -> dict[str, Module]:
    out: dict[str, Module] = {}
    for i, folder in enumerate(folders):
        for path in module_files(folder):
            if path.stem in out:
                raise RegistryError(f"{path}: a {kind} module named {path.stem!r} already exists ({out[path.stem].path})")
            out[path.stem] = read_module(path, builtin=i == 0)[0]
    return out


def method_modules(folders: list[Path] | None = None) -> dict[str, Module]:
    """Every method file, by file stem (sorted)."""
    return _modules(method_dirs() if folders is None else folders, "method")


def task_modules(folders: list[Path] | None = None) -> dict[str, Module]:
    """Every task file, by file stem (sorted)."""
    return _modules(task_dirs() if folders is None else folders, "task")


def methods(folders: list[Path] | None = None) -> dict[str, MethodEntry]:
    """Every registered method, variants included, by name (sorted)."""
    out: dict[str, MethodEntry] = {}
    for i, folder in enumerate(method_dirs() if folders is None else folders):
        for path in module_files(folder):
            module, classes = read_module(path, builtin=i == 0)
            for name, attrs in classes.items():
                if name in out:
                    raise RegistryError(f"{path}: method name {name!r} is already registered by {out[name].path}")
                out[name] = MethodEntry(name=name, module=path.stem, path=path, paper=attrs.get("paper"),
                                        knob=attrs.get("knob"), config=tuple(attrs["config"]), summary=module.summary,
                                        variant_of=None if name == path.stem else path.stem, builtin=i == 0)
    return dict(sorted(out.items()))


def tasks(folders: list[Path] | None = None) -> dict[str, TaskEntry]:
    """Every registered task, by name (sorted)."""
    out: dict[str, TaskEntry] = {}
    for stem, module in task_modules(folders).items():
        attrs = module.attrs
        if attrs.get("name") != stem:
            continue  # not a task file (no class named after the file); loading it says so
        options = attrs.get("defaults", {})
        out[stem] = TaskEntry(name=stem, module=stem, path=module.path, version=attrs.get("version"),
                              description=str(attrs.get("description", "")),
                              options=dict(options) if isinstance(options, dict) else {},
                              chance=attrs.get("chance"), summary=module.summary, builtin=module.builtin)
    return out


def method_names(folders: list[Path] | None = None) -> set[str]:
    """Names a paper's `baselines:` may use: every method file's stem and every registered name."""
    modules = method_modules(folders)
    names = set(modules)
    for module in modules.values():
        names |= {str(module.attrs.get("name", module.name)), *module.variants}
    return names


def method(name: str) -> MethodEntry:
    found = methods()
    if name not in found:
        raise ValueError(f"unknown method {name!r}; available: {', '.join(found)}")
    return found[name]


def task(name: str) -> TaskEntry:
    found = tasks()
    if name not in found:
        raise ValueError(f"unknown task {name!r}; available: {', '.join(found)}")
    return found[name]


# -- importing one file ---------------------------------------------------------------------------

def load_module(path: Path, kind: str) -> ModuleType:
    """Import the method or task file at `path`: a file of the package by its package name (so
    it is the same module everywhere), a file of another folder under `latent_extra.<kind>.<stem>`."""
    path = Path(path).resolve()
    builtin = {"methods": METHODS_DIR, "tasks": TASKS_DIR}[kind]
    if path.parent == builtin:
        return importlib.import_module(f"baselines.{kind}.{path.stem}")
    name = f"latent_extra.{kind}.{path.stem}"
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RegistryError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
