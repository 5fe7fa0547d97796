"""Everything the site is generated from, read without importing torch.

- the catalog (catalog.load.load_catalog),
- the baseline methods and tasks: modules in baselines/methods and baselines/tasks, read with
  `ast` (docstring, class attributes, the config dataclass), never imported,
- the harness results (results/<task>/<method>/<run_id>.json, read with baselines/results.py),
- recorded benchmark figures (benchmarks/results/*.json),
- the studies (results/studies/<study>/: README, summary.json, plots, table.md).

`load_inputs()` reads the repository (its folders can be pointed elsewhere with
LATENT_PAPERS_DIR, LATENT_RESULTS_DIR and LATENT_BENCHMARKS_DIR); `read_inputs` takes the folders
and the source of the methods as arguments, and tests can also build an `Inputs` themselves.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from baselines import registry
from baselines.registry import ConfigField, Module as ModuleInfo  # noqa: F401 (what the pages read)
from baselines.results import Result, ResultError, read_result
from catalog import METHODS_DIR, PAPERS_DIR, REPO_ROOT, RESULTS_DIR, SCHEMA_FILE
from catalog.load import Catalog, load_catalog

CLAIMS_FILE = "claims.yaml"  # under the results folder: the published claims the suites test
STUDIES_DIR = "studies"  # under the results folder: results/studies/<study>/
TASKS_DIR = REPO_ROOT / "baselines" / "tasks"
BENCHMARKS_DIR = REPO_ROOT / "benchmarks" / "results"
EXAMPLE_PAPER = PAPERS_DIR / "hao2024training.yaml"


class InputError(Exception):
    """An input file the site cannot use; the message names the file and what is wrong."""


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
    studies: list[Study] = field(default_factory=list)
    claims: list = field(default_factory=list)  # atlas.claims.Claim, from results/claims.yaml


@dataclass
class Study:
    """One folder of results/studies/: what it holds, read but not interpreted (atlas/studies.py
    does that)."""

    name: str  # the folder name
    folder: Path
    readme: str  # README.md, "" when there is none
    plots: list[str]  # file names: the SVG of each plot, the PNG where there is no SVG
    table: str  # table.md, "" when there is none
    summary: dict | None  # summary.json, None when there is none
    data_files: list[str]  # the JSON files at the top of the folder (summary.json included)
    run_files: int  # per-run Result files under runs/

    @property
    def has_results(self) -> bool:
        """A summary, run files or other data: the study has been run (at least in part)."""
        return self.summary is not None or self.run_files > 0 or bool(self.data_files)


def env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def read_methods() -> dict[str, ModuleInfo]:
    """The implemented methods, keyed by module name: the registry's reading of the method files
    (baselines/registry.py, with `ast`; never imported)."""
    return _registry(registry.method_modules)


def read_tasks() -> dict[str, ModuleInfo]:
    """The tasks, keyed by module name, as the registry reads them."""
    return _registry(registry.task_modules)


def read_modules(folder: Path) -> dict[str, ModuleInfo]:
    """The method or task files of one folder, keyed by file stem (baselines/registry.py)."""
    return _registry(registry.method_modules, [folder])


def _registry(read, *args) -> dict[str, ModuleInfo]:
    try:
        return read(*args)
    except registry.RegistryError as exc:
        raise InputError(str(exc)) from None


def load_inputs() -> Inputs:
    """The repository's inputs; LATENT_PAPERS_DIR, LATENT_RESULTS_DIR and LATENT_BENCHMARKS_DIR
    point the site at other folders."""
    return read_inputs(
        papers_dir=env_path("LATENT_PAPERS_DIR", PAPERS_DIR),
        results_dir=env_path("LATENT_RESULTS_DIR", RESULTS_DIR),
        benchmarks_dir=env_path("LATENT_BENCHMARKS_DIR", BENCHMARKS_DIR),
    )


def read_inputs(
    papers_dir: Path, results_dir: Path, benchmarks_dir: Path, methods=read_methods, tasks=read_tasks, studies=None
) -> Inputs:
    """Every input read from the folders given; `methods()` and `tasks()` list the implemented
    methods and tasks, `studies(folder)` reads the studies (default: `read_studies`)."""
    from atlas.claims import read_claims

    studies = studies or read_studies
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
        studies=studies(results_dir / STUDIES_DIR),
        claims=read_claims(results_dir / CLAIMS_FILE, catalog.by_id),
        watch=[p for p in (papers_dir, results_dir, benchmarks_dir, *registry.method_dirs(), *registry.task_dirs())
               if p.is_dir()],
    )


def read_results(root: Path) -> list[Result]:
    """Every run under root/<task>/<method>/*.json (baselines/results.py reads and checks them; study
    summaries under root/studies are not runs); a file that is not a valid Result is an error."""
    from baselines.results import result_files

    out = []
    for path in result_files(root) if root.is_dir() else []:
        try:
            out.append(read_result(path))
        except ResultError as exc:
            raise InputError(f"{path}: not a valid result ({len(exc.problems)} problem(s)); {exc.problems[0]}") from None
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


def read_studies(root: Path) -> list[Study]:
    """Every study folder under root (results/studies), sorted by name; a summary.json that is not
    a JSON object is an InputError naming the file. The runs/ folder is only counted (its Results
    are not rendered one by one)."""
    out = []
    if not root.is_dir():
        return out
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = {p.name: p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}
        svgs = {p.stem for p in files.values() if p.suffix == ".svg"}
        plots = sorted(
            name for name, p in files.items() if p.suffix == ".svg" or (p.suffix == ".png" and p.stem not in svgs)
        )
        summary = None
        if "summary.json" in files:
            summary = _read_json_object(files["summary.json"])
        runs = folder / "runs"
        out.append(
            Study(
                name=folder.name,
                folder=folder,
                readme=_read_text(files["README.md"]) if "README.md" in files else "",
                plots=plots,
                table=_read_text(files["table.md"]) if "table.md" in files else "",
                summary=summary,
                data_files=sorted(name for name, p in files.items() if p.suffix == ".json"),
                run_files=sum(1 for p in runs.rglob("*.json") if not p.name.startswith(".")) if runs.is_dir() else 0,
            )
        )
    return out


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None


def _read_json_object(path: Path) -> dict:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object at the top level")
    return data
