"""benchmarks/gpu_repro.sh on the CPU with a tiny budget: one process per (suite, method, seed),
results and logs packed into two archives, and a summary table that names every run."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

from baselines.results import Result

REPO = Path(__file__).resolve().parents[2]


def test_gpu_repro_script_runs_each_method_and_seed_and_packs_the_results(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "DEVICE": "cpu", "SUITES": "mult4-repro", "METHODS": "no_cot,cot", "SEEDS": "0 1",
           "STEPS": "2", "EXTRA": "--evals 1 --valid-n 4 --test-n 4 --train-n 64 --model-size tiny --latency-n 1",
           "OUT": str(out), "PYTHON": sys.executable, "STAGGER_S": "0", "LATENT_GIT_COMMIT": "0" * 40,
           "HF_HUB_OFFLINE": "1", "DEADLINE_S": "300"}
    done = subprocess.run(["bash", "benchmarks/gpu_repro.sh"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["logs.tgz", "results.tgz", "summary.txt"]
    with tarfile.open(out / "results.tgz") as archive:
        files = [m for m in archive.getmembers() if m.name.endswith(".json")]
        results = [Result.model_validate_json(archive.extractfile(m).read()) for m in files]
    summary = (out / "summary.txt").read_text()
    assert sorted((r.method, r.seed) for r in results) == [("cot", 0), ("cot", 1), ("no_cot", 0), ("no_cot", 1)], summary
    assert all(r.status == "completed" and r.suite == "mult4-repro" and r.budget.optimizer_steps == 2
               and r.environment.git_commit == "0" * 40 for r in results)
    with tarfile.open(out / "logs.tgz") as archive:
        assert len([m for m in archive.getmembers() if m.name.endswith(".log")]) == 4
    for method in ("no_cot", "cot"):
        for seed in (0, 1):
            assert f"mult4-repro-{method}-s{seed} exit 0" in summary
            assert f"mult4-repro\t{method}\ts{seed}\tcompleted\tsteps 2" in summary
