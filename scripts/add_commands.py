"""`latent add` and `latent refresh`: catalog entries from arXiv."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from catalog import PAPERS_DIR

ADD_EPILOG = """\
examples:
  latent add 2412.06769
  latent add https://arxiv.org/abs/2502.05171v2 --taxonomy architectural-recurrence \\
      --tag recurrent-depth --tag test-time-scaling --tldr "..."
  latent add arXiv:2410.13080 cs/0601001 --dry-run

Several ids are fetched and checked first and then written together: either every entry is
written or none is. Without --taxonomy / --tldr those fields are written as TODO; fill them in
and run `latent check`.

The API address comes from --api-url, else the LATENT_ARXIV_API environment variable, else
https://export.arxiv.org/api/query. Requests are spaced at least 3 s apart (arXiv's terms of use);
timeouts, connection errors, HTTP 429 and 5xx are retried with exponential backoff, honouring
Retry-After.
"""

REFRESH_EPILOG = """\
Updates only venue (when arXiv names a published venue, together with venue_source, which says
whether it came from the journal reference or the comment, and venue_checked, today), doi (added
or corrected, never removed) and arxiv_version. Title, authors, tldr, taxonomy, tags, code,
baselines and results are never touched; the rest of each file, comments included, stays as it is.

Every entry it could not verify is listed at the end as `not verified: <file>: <reason>` (no
arXiv id, no record on arXiv, a file that cannot be read or updated), and the exit status is 1.
--offline makes no request: it lists the entries refresh cannot verify at all and those whose
venue has never been verified (no venue_checked).

examples:
  latent refresh                      # every entry
  latent refresh hao2024training      # by catalog id ...
  latent refresh 2412.06769 --dry-run # ... or by arXiv id; show the diffs, write nothing
  latent refresh --offline            # what needs a person, without the network
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    add = subparsers.add_parser(
        "add",
        help="add papers to the catalog from their arXiv ids",
        description="Fetch papers from the arXiv API and write one catalog entry per paper\n"
        "(catalog/papers/<id>.yaml). Refuses papers already in the catalog.",
        epilog=ADD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("ids", nargs="+", metavar="ID", help="arXiv id or URL (2412.06769, arXiv:2412.06769v2, "
                     "https://arxiv.org/pdf/2412.06769v2.pdf, cs/0601001, math.GT/0309136)")  # fmt: skip
    add.add_argument("--taxonomy", action="append", metavar="NODE", help="taxonomy node id (repeatable); see catalog/taxonomy.yaml")
    add.add_argument("--tag", action="append", metavar="TAG", help="tag (repeatable); see catalog/tags.yaml")
    add.add_argument("--tldr", metavar="TEXT", help="one or two sentences in our own words (only with a single ID)")
    add.add_argument("--allow-similar-title", action="store_true",
                     help="add even if an entry has a near-identical title (e.g. a part II); the same arXiv id is always refused")  # fmt: skip
    add.add_argument("--dry-run", action="store_true", help="print the YAML that would be written; write nothing")
    _common(add)
    add.set_defaults(func=run_add)

    refresh = subparsers.add_parser(
        "refresh",
        help="update venue, DOI and arXiv version of entries from arXiv",
        description="Re-read existing entries' arXiv records and update what arXiv knows better.",
        epilog=REFRESH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    refresh.add_argument("ids", nargs="*", metavar="ID", help="catalog ids or arXiv ids (default: every entry with an arXiv id)")
    refresh.add_argument("--dry-run", action="store_true", help="show a unified diff per file; write nothing")
    refresh.add_argument("--offline", action="store_true",
                         help="make no request: list the entries refresh cannot verify and those whose venue was never verified")  # fmt: skip
    _common(refresh)
    refresh.set_defaults(func=run_refresh)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--papers-dir", type=Path, default=PAPERS_DIR, metavar="DIR", help="folder of paper files (default: catalog/papers)")
    parser.add_argument("--api-url", metavar="URL", help="arXiv API query URL (default: $LATENT_ARXIV_API or https://export.arxiv.org/api/query)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="per-request timeout (default: 30)")
    parser.add_argument("--retries", type=int, default=4, metavar="N", help="retries after a failed request (default: 4)")


def make_client(args: argparse.Namespace):
    from catalog.arxiv_client import ArxivClient, default_api_url

    return ArxivClient(api_url=args.api_url or default_api_url(), timeout=args.timeout, max_retries=max(0, args.retries))


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _show(path: Path) -> str:
    from catalog.problems import display_path

    return display_path(path)


def run_add(args: argparse.Namespace) -> int:
    from catalog.arxiv_client import ArxivError
    from catalog.arxiv_import import AddError, check_vocabulary, plan_additions, write_additions
    from catalog.problems import CatalogError

    if args.tldr is not None and len(args.ids) > 1:
        return _fail("--tldr describes one paper: give a single ID with it")
    if not args.papers_dir.is_dir():
        return _fail(f"papers folder {args.papers_dir} does not exist")
    try:
        check_vocabulary(args.taxonomy or [], args.tag or [])
        additions = plan_additions(
            args.ids, args.papers_dir, make_client(args), args.taxonomy, args.tag, args.tldr,
            allow_similar_title=args.allow_similar_title,
        )  # fmt: skip
        if args.dry_run:
            for addition in additions:
                print(f"# {_show(addition.path)} (dry run: not written)")
                print(addition.yaml, end="" if addition.yaml.endswith("\n") else "\n")
            return 0
        write_additions(additions, args.papers_dir)
    except (ValueError, AddError, ArxivError, CatalogError, OSError) as exc:
        return _fail(f"{exc}\nnothing was written")
    for addition in additions:
        print(f"wrote {_show(addition.path)}  ({addition.paper.title})")
        if addition.todo:
            print(f"  still to fill in (marked TODO): {', '.join(addition.todo)}")
        if not addition.paper.tags:
            print("  no tags yet: add some from catalog/tags.yaml")
    todo = " and fill in what is marked TODO" if any(a.todo for a in additions) else ""
    print(f"next: review the new entries{todo}, then run `latent check`")
    return 0


def _shown(value: object) -> str:
    """A changed value as the file writes it: strings quoted, dates as YYYY-MM-DD."""
    import datetime as dt

    return value.isoformat() if isinstance(value, dt.date) else repr(value)


def run_refresh(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from catalog.arxiv_client import ArxivError
    from catalog.arxiv_import import AddError, apply_refresh, plan_refresh, select_entries, unverified_venues, unverifiable

    if not args.papers_dir.is_dir():
        return _fail(f"papers folder {args.papers_dir} does not exist")
    try:
        entries = select_entries(args.ids, args.papers_dir)
    except AddError as exc:
        return _fail(f"{exc}\nnothing was written")
    if args.offline:
        cannot, never = unverifiable(entries), unverified_venues(entries)
        for line in cannot:
            print(f"not verified: {line}")
        for line in never:
            print(f"venue never verified: {line}")
        print(f"{len(cannot)} of {len(entries)} entries cannot be verified by refresh; "
              f"{len(never)} have no venue_checked (offline: nothing was requested)", file=sys.stderr)  # fmt: skip
        return 0
    try:
        n_ids = len({e.arxiv for e in entries if e.arxiv})
        with tqdm(total=n_ids, desc="arXiv", unit="paper", file=sys.stderr, disable=None) as bar:
            refreshes, problems = plan_refresh(entries, make_client(args), progress=bar.update)
    except (AddError, ArxivError) as exc:
        print(f"not verified: none of the {len(entries)} selected entries", file=sys.stderr)
        return _fail(f"{exc}\nnothing was written")
    warnings = []
    for refresh in refreshes:
        if args.dry_run:
            print(refresh.diff(_show(refresh.path)), end="")
            continue
        try:
            apply_refresh(refresh)
        except OSError as exc:
            warnings.append(f"{_show(refresh.path)}: could not write ({exc}); left unchanged")
            continue
        changed = ", ".join(f"{key}: {_shown(old)} -> {_shown(new)}" for key, (old, new) in refresh.changes.items())
        print(f"updated {_show(refresh.path)}: {changed}")
    for problem in problems:
        print(f"not verified: {problem}", file=sys.stderr)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    verb = "would change" if args.dry_run else "changed"
    print(f"{verb} {len(refreshes)} of {len(entries)} entries; {len(problems)} not verified", file=sys.stderr)
    return 1 if problems or warnings else 0
