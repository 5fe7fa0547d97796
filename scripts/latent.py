"""`latent`: one command for the catalog, the site's inputs and the harness.

Each group of subcommands lives in its own module with a `register(subparsers)` function;
this file only assembles them. Harness commands import torch lazily, so the catalog commands
work in an install without the harness extra.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, what it provides) — a module that cannot be imported (e.g. torch missing for the
# harness) still registers its commands, which then explain how to install what they need.
COMMAND_MODULES = [
    "scripts.catalog_commands",  # check, export, stats
    "scripts.add_commands",  # add, refresh
    "scripts.bench_commands",  # bench run|ls|sweep|report|validate
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="latent",
        description="Latent Reasoning Atlas: validate and export the paper catalog, add papers "
        "from arXiv, and run the baselines harness.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("scripts."):
                continue  # that group of commands is not part of this checkout
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
