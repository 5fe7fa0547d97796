"""How long `latent check` takes on a large catalog.

Generates N valid paper files (default 5,000, shaped like real entries: several authors, a few
tags, a two-sentence tldr, some with code and reported results) in a temporary folder, times
`catalog.validate.check` on them, prints a table and writes benchmarks/results/catalog_validate.json.

    .venv/bin/python benchmarks/catalog_validate.py [--papers 5000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from catalog import REPO_ROOT
from catalog.ids import make_id
from catalog.io import atomic_write_text, dump_paper
from catalog.model import Paper
from catalog.tags import load_tags
from catalog.taxonomy import load_taxonomy
from catalog import validate
from catalog.validate import check

RESULT_FILE = REPO_ROOT / "benchmarks" / "results" / "catalog_validate.json"
SYLLABLES = "ka lo mi ne ru ta vi so pe da zu fo ri na te gu sha lin wen hao chen xu yan ber tor ".split()


def word(rng: random.Random, n: int = 3) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, n)))


def generate(n: int, seed: int = 0) -> list[Paper]:
    """`n` valid, distinct papers (no shared ids, arXiv ids or similar titles)."""
    rng = random.Random(seed)
    nodes = list(load_taxonomy().nodes)
    tags = list(load_tags())
    ids: set[str] = set()
    papers = []
    for i in range(n):
        authors = [f"{word(rng).title()} {word(rng).title()}" for _ in range(rng.randint(1, 8))]
        title = " ".join(word(rng, 4).title() for _ in range(rng.randint(4, 10)))
        date = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randint(0, 2400))
        paper_id = make_id(authors, date.year, title, ids)
        ids.add(paper_id)
        data = {
            "id": paper_id,
            "title": title,
            "authors": authors,
            "date": date,
            "venue": rng.choice(["arXiv", "ICLR 2025", "NeurIPS 2024", "TMLR", "ACL 2025"]),
            "arxiv": f"{date:%y%m}.{i:05d}",
            "code": [{"url": f"https://github.com/{word(rng)}/{word(rng)}", "official": True}] if rng.random() < 0.5 else [],
            "taxonomy": rng.sample(nodes, rng.randint(1, 2)),
            "tags": rng.sample(tags, rng.randint(2, 5)),
            "tldr": " ".join(word(rng) for _ in range(rng.randint(30, 60))) + ".",
            "results": [
                {"task": "gsm8k", "metric": "accuracy", "value": round(rng.uniform(0, 100), 1), "method": "coconut",
                 "model": "gpt2", "source": "Table 1"}  # fmt: skip
                for _ in range(rng.choice([0, 0, 0, 2, 4]))
            ],
        }
        papers.append(Paper.model_validate(data))
    return papers


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=5000, help="number of generated papers (default 5000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the median is reported (default 3)")
    parser.add_argument("--out", type=Path, default=RESULT_FILE, help="where to write the JSON result")
    parser.add_argument("--serial", action="store_true", help="check in this process only (no worker processes)")
    args = parser.parse_args(argv)
    if args.serial:
        validate.PARALLEL_MIN_FILES = 10**9

    papers = generate(args.papers)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        total_bytes = 0
        for paper in papers:
            text = dump_paper(paper)
            total_bytes += len(text.encode("utf-8"))
            (folder / f"{paper.id}.yaml").write_text(text, encoding="utf-8")
        check(folder)  # warm-up: imports, regex compilation
        times, cpu_times, problems = [], [], []
        for _ in range(args.repeats):
            start, start_cpu = time.perf_counter(), _cpu_seconds()
            problems = check(folder)
            times.append(time.perf_counter() - start)
            cpu_times.append(_cpu_seconds() - start_cpu)
    paper_errors = [p for p in problems if p.is_error and Path(p.file).parent == folder]
    if paper_errors:
        print("generated papers should be valid, but:", *map(str, paper_errors[:5]), sep="\n", file=sys.stderr)
        return 1

    median = statistics.median(times)
    serial = args.serial or args.papers < validate.PARALLEL_MIN_FILES
    mode = "serial" if serial else f"parallel ({validate._usable_cpus()} usable CPUs)"
    result = {
        "benchmark": "catalog_validate",
        "mode": mode,
        "papers": args.papers,
        "megabytes": round(total_bytes / 1e6, 2),
        "repeats": args.repeats,
        "seconds_median": round(median, 3),
        "seconds_all": [round(t, 3) for t in times],
        "papers_per_second": round(args.papers / median),
        "cpu_seconds_median": round(statistics.median(cpu_times), 3),  # this process and its workers
        "target_seconds": 2.0,
        "cpu_count": os.cpu_count(),
        "usable_cpus": validate._usable_cpus(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.date.today().isoformat(),
    }
    print(f"mode: {result['mode']}; 1-minute load average {result['load_average_1min']} on {os.cpu_count()} CPUs")
    print(f"{'papers':>8} {'MB':>6} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7} {'papers/s':>9} {'target s':>9}")
    print(f"{args.papers:>8} {result['megabytes']:>6} {median:>9.3f} {min(times):>7.3f} {max(times):>7.3f} "
          f"{result['cpu_seconds_median']:>7.3f} {result['papers_per_second']:>9} {2.0:>9.1f}")  # fmt: skip
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
