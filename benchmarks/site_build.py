"""How long the site takes to build: the real catalog, and a generated catalog of 5,000 papers.

Each case runs `mkdocs build --strict` in a fresh process (what `make site` does) into a
temporary folder and records wall-clock and CPU seconds. The generated catalog uses the real
taxonomy and tag vocabulary with random titles, authors, dates, tags and reported results, so
every page type is exercised at scale.

    python benchmarks/site_build.py                  # both cases, writes benchmarks/results/site_build.json
    python benchmarks/site_build.py --papers 1000    # a smaller generated catalog
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalog.model import Paper  # noqa: E402
from catalog.tags import load_tags  # noqa: E402
from catalog.taxonomy import load_taxonomy  # noqa: E402

OUT_FILE = ROOT / "benchmarks" / "results" / "site_build.json"
FIXTURE_RESULTS = ROOT / "tests" / "fixtures" / "results"
TARGETS = {"full catalog": 10.0, "generated": 60.0}  # seconds, on a 2-core machine

WORDS = (
    "latent reasoning continuous thought looped transformer recurrent depth pause token diffusion "
    "language model chain implicit hidden state planning curriculum distillation scaling test-time "
    "compute adaptive halting memory superposition graph search arithmetic multi-hop probing "
    "expressivity parallel decoding energy fixed-point equilibrium compression abstraction"
).split()
GIVEN = "Ada Bo Chen Dara Eli Fatima Goran Hiro Ines Jun Kofi Lena Mateo Nia Omar Priya Quinn Rosa Sven Tao".split()
FAMILY = "Hao Geiping Saunshi Deng Shen Zhu Wang Li Zhang Chen Kim Nguyen Garcia Smith Müller Rossi Sato Okafor".split()
VENUES = ["arXiv", "ICLR 2025", "NeurIPS 2024", "ICML 2025", "COLM 2025", "ACL 2025", "EMNLP 2024", "TMLR"]
TASKS = ["prosqa", "prontoqa", "gsm8k", "multiplication-4x4"]
METHODS = ["coconut", "cot", "no_cot", "icot", "pause", "looped"]


def _vocabulary(rng: random.Random, n: int = 4000) -> list[str]:
    """Field words plus made-up ones, so titles are as varied as real ones."""
    syllables = "ka lo mi ne ru sa ti vo ze qua bri dex fen gor hal jin mor pel tra vex".split()
    made_up = {"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(n)}
    return WORDS + sorted(made_up)


def generate_catalog(n: int, out_dir: Path, seed: int = 0) -> None:
    """Write `n` valid, random paper files into `out_dir`."""
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng)
    nodes = list(load_taxonomy().nodes)
    tags = list(load_tags())
    start = dt.date(2016, 1, 1)
    span = (dt.date(2025, 6, 30) - start).days
    out_dir.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        date = start + dt.timedelta(days=rng.randrange(span))
        words = rng.sample(WORDS, rng.randint(2, 4)) + rng.sample(vocabulary, rng.randint(2, 6))
        rng.shuffle(words)
        family = rng.choice(FAMILY).lower().replace("ü", "u")
        paper = {
            "id": f"{family}{date.year}{words[0].replace('-', '')}{i}",
            "title": " ".join(words).capitalize(),
            "authors": [f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}" for _ in range(rng.randint(1, 9))],
            "date": date,
            "venue": rng.choice(VENUES),
            "arxiv": f"{date.strftime('%y%m')}.{10000 + i:05d}",
            "code": [{"url": f"https://github.com/example/repo{i}", "official": True}] if rng.random() < 0.5 else [],
            "taxonomy": rng.sample(nodes, rng.randint(1, 2)),
            "tags": rng.sample(tags, rng.randint(1, 6)),
            "tldr": " ".join(rng.choices(WORDS, k=rng.randint(20, 45))).capitalize() + ".",
            "results": [
                {"task": rng.choice(TASKS), "metric": "accuracy", "value": round(rng.uniform(10, 99), 1),
                 "method": rng.choice(METHODS), "model": "gpt2", "source": "Table 1"}
                for _ in range(rng.choice([0, 0, 2, 4]))
            ],  # fmt: skip
        }
        Paper.model_validate(paper)  # fail here, loudly, rather than in the build
        path = out_dir / f"{paper['id']}.yaml"
        path.write_text(yaml.safe_dump(paper, sort_keys=False, allow_unicode=True), encoding="utf-8")


def build(site_dir: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Run `mkdocs build --strict` once; (wall seconds, CPU seconds, pages built)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"mkdocs build failed:\n{proc.stdout}\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    pages = sum(1 for _ in site_dir.rglob("index.html"))
    return wall, cpu, pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=5000, help="papers in the generated catalog (default: 5000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated catalog (default: 0)")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help=f"where to write the figures (default: {OUT_FILE.relative_to(ROOT)})")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)

    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("LATENT_PAPERS_DIR", None)
    env.pop("LATENT_RESULTS_DIR", None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="site-build-bench-") as tmp:
        tmp_path = Path(tmp)
        n_real = sum(1 for _ in (ROOT / "catalog" / "papers").glob("*.yaml"))
        wall, cpu, pages = build(tmp_path / "full", env)
        rows.append(_row("full catalog", n_real, pages, wall, cpu))
        print(f"generating {args.papers} papers ...", file=sys.stderr)
        papers_dir = tmp_path / "papers"
        generate_catalog(args.papers, papers_dir, args.seed)
        gen_env = {**env, "LATENT_PAPERS_DIR": str(papers_dir), "LATENT_RESULTS_DIR": str(FIXTURE_RESULTS)}
        wall, cpu, pages = build(tmp_path / "generated", gen_env)
        rows.append(_row("generated", args.papers, pages, wall, cpu))

    print(f"{'case':<14} {'papers':>7} {'pages':>7} {'wall s':>8} {'cpu s':>7} {'target s':>9}  ok")
    for r in rows:
        print(f"{r['case']:<14} {r['papers']:>7} {r['pages']:>7} {r['wall_s']:>8.1f} {r['cpu_s']:>7.1f} {r['target_s']:>9.0f}  {'yes' if r['within_target'] else 'NO'}")
    if not args.no_write:
        record = {
            "title": "Site build time",
            "description": "mkdocs build --strict of the real catalog and of a generated catalog, in a fresh process each.",
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "rows": rows,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=args.out.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(record, indent=2) + "\n")
        os.replace(tmp_name, args.out)
        print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


def _row(case: str, papers: int, pages: int, wall: float, cpu: float) -> dict:
    target = TARGETS["full catalog" if case == "full catalog" else "generated"]
    return {
        "case": case, "papers": papers, "pages": pages, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        "target_s": target, "within_target": wall <= target,
    }  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
