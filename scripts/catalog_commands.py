"""`latent check`, `latent export`, `latent stats`: thin wrappers over the catalog package."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from catalog import METHODS_DIR, PAPERS_DIR, REPO_ROOT, TAGS_FILE, TAXONOMY_FILE
from catalog.problems import display_path, errors, summary

DEFAULT_EXPORT_DIR = REPO_ROOT / "build" / "export"


def register(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser(
        "check",
        help="validate every catalog file and report all problems",
        description="Validate catalog/papers/*.yaml, taxonomy.yaml and tags.yaml. Every problem is "
        "printed as file:line: field: message; the exit status is 1 when there is any error.",
    )
    _add_paths(check)
    check.add_argument(
        "--format", choices=["text", "github"], default="text",
        help="text (default) or github: ::error annotations for GitHub Actions",
    )  # fmt: skip
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument("--quiet", "-q", action="store_true", help="print errors and the summary only, no warnings")
    check.add_argument(
        "--write-schema", action="store_true",
        help="regenerate catalog/schema.json and catalog/taxonomy.schema.json from the models, then check",
    )  # fmt: skip
    check.set_defaults(func=_pipe_safe(run_check))

    export = subparsers.add_parser(
        "export",
        help="write catalog.json, catalog.csv and catalog.bib",
        description="Validate the catalog, then write catalog.json, catalog.csv and catalog.bib.",
    )
    _add_paths(export)
    export.add_argument(
        "--out", type=Path, default=DEFAULT_EXPORT_DIR, help=f"output folder (default: {display_path(DEFAULT_EXPORT_DIR)})"
    )
    export.set_defaults(func=_pipe_safe(run_export))

    stats = subparsers.add_parser(
        "stats",
        help="count papers per taxonomy node, year and tag",
        description="Counts per taxonomy node, per top-level family, per year and per tag, and how many papers have code.",
    )
    _add_paths(stats)
    stats.add_argument("--json", action="store_true", help="print the counts as JSON")
    stats.set_defaults(func=_pipe_safe(run_stats))


def _pipe_safe(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Stop quietly when the reader of our output goes away (`latent stats | head`)."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            return 141

    return run


def _add_paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--papers-dir", type=Path, default=PAPERS_DIR, help="folder of paper YAML files")
    parser.add_argument("--taxonomy", type=Path, default=TAXONOMY_FILE, help="taxonomy file")
    parser.add_argument("--tags", type=Path, default=TAGS_FILE, help="tag vocabulary file")
    parser.add_argument("--methods-dir", type=Path, default=METHODS_DIR, help="folder of baseline methods")


def run_check(args: argparse.Namespace) -> int:
    from catalog.validate import inspect

    if args.write_schema:
        from catalog.schema import write_schemas

        for path in write_schemas():
            print(f"wrote {display_path(path)}")
    report = inspect(args.papers_dir, args.taxonomy, args.tags, args.methods_dir, progress=sys.stderr.isatty())
    problems = report.problems
    if args.strict:
        problems = [p if p.is_error else type(p)(p.file, p.line, p.field, p.message, "error") for p in problems]
    shown = errors(problems) if args.quiet else problems
    for problem in shown:
        print(problem.github() if args.format == "github" else str(problem))
    print(summary(problems, report.files + 2), file=sys.stderr if args.format == "github" else sys.stdout)
    if errors(problems) and args.format == "text":
        print("fix each error at the file:line shown (the schema is in catalog/model.py; vocabularies in "
              "catalog/taxonomy.yaml and catalog/tags.yaml), then run `latent check` again")
    return 1 if errors(problems) else 0


def _load(args: argparse.Namespace):
    from catalog.load import CatalogError, load_catalog

    try:
        return load_catalog(args.papers_dir, args.taxonomy, args.tags, args.methods_dir)
    except CatalogError as exc:
        for problem in errors(exc.problems):
            print(problem, file=sys.stderr)
        print(f"the catalog has {len(errors(exc.problems))} error(s); run `latent check` for details", file=sys.stderr)
        return None


def run_export(args: argparse.Namespace) -> int:
    from catalog.exports import write_exports

    catalog = _load(args)
    if catalog is None:
        return 1
    for path in write_exports(catalog, args.out):
        print(f"wrote {display_path(path)}")
    print(f"{len(catalog.papers)} papers exported")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from catalog.stats import stats

    catalog = _load(args)
    if catalog is None:
        return 1
    counts = stats(catalog)
    if args.json:
        print(json.dumps(counts, indent=2))
        return 0
    print(f"{counts['papers']} papers, {counts['with_code']} with code, {counts['without_code']} without")
    print("\nper taxonomy node (direct / including sub-nodes):")
    for node_id in catalog.taxonomy.nodes:
        depth = len(catalog.taxonomy.path(node_id)) - 1
        direct, total = counts["per_node"][node_id], counts["per_node_total"][node_id]
        print(f"  {'  ' * depth}{node_id:<{40 - 2 * depth}} {direct:>5} {total:>5}")
    print("\nper top-level node (a paper once per top-level node):")
    for root, n in counts["per_top_level"].items():
        print(f"  {root:<40} {n:>5}")
    print("\nper year:")
    for year, n in counts["per_year"].items():
        print(f"  {year:<40} {n:>5}")
    print("\nper tag:")
    for tag, n in sorted(counts["per_tag"].items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {tag:<40} {n:>5}")
    return 0
