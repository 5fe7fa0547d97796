"""The harness across processes: a run killed with SIGKILL resumes from its last checkpoint, and
two DDP processes (gloo on the CPU, launched by torchrun) train like one process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from baselines import checkpoint
from baselines.harness import RunOptions, execute
from baselines.suites import RunSpec

REPO = Path(__file__).resolve().parents[2]
SPEC = RunSpec(method="no_cot", task="multiplication", task_options={"digits": 2}, steps=60, batch_size=8,
               lr=1e-3, n_positions=64, train_n=64, valid_n=8, test_n=8, eval_batch_size=8, latency_n=1)


def cli(spec: RunSpec, results: Path, checkpoints: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "scripts.latent", "bench", "run", "--method", spec.method, "--task", spec.task,
            "--task-option", "digits=2", "--steps", str(spec.steps), "--batch-size", str(spec.batch_size),
            "--lr", str(spec.lr), "--n-positions", str(spec.n_positions), "--train-n", str(spec.train_n),
            "--valid-n", str(spec.valid_n), "--test-n", str(spec.test_n), "--eval-batch-size", str(spec.eval_batch_size),
            "--latency-n", str(spec.latency_n), "--device", "cpu", "--results-dir", str(results),
            "--checkpoint-dir", str(checkpoints), "--no-progress", *extra]


def env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def only_result(root: Path) -> dict:
    [path] = sorted(root.glob("*/*/*.json"))
    return json.loads(path.read_text())


def saved_step(folder: Path) -> int:
    try:
        state = checkpoint.load(next(folder.iterdir()))
    except (StopIteration, RuntimeError, FileNotFoundError):
        return 0
    return state["record"]["step"] if state else 0


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    ck, results = tmp_path / "ck", tmp_path / "results"
    command = cli(SPEC, results, ck, "--checkpoint-every", "5")
    process = subprocess.Popen(command, cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while saved_step(ck) < 10 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    killed_at = saved_step(ck)
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
    assert 10 <= killed_at < SPEC.steps, "the run must be killed part way"
    assert not list(results.glob("*/*/*.json"))  # nothing written for the killed run
    done = subprocess.run(command + ["--resume"], cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resuming from step {killed_at}" in done.stderr
    resumed = only_result(results)
    torch.set_num_threads(1)
    [reference] = execute(SPEC, RunOptions(device="cpu", results_dir=tmp_path / "ref", checkpoint_dir=tmp_path / "ref-ck",
                                           progress=False, checkpoint_every=0))
    assert resumed["train"]["resumed_from"] == killed_at
    assert [s for s, _ in resumed["train"]["loss_curve"]] == [s for s, _ in reference.train["loss_curve"]]
    for (_, a), (_, b) in zip(resumed["train"]["loss_curve"], reference.train["loss_curve"]):
        assert a == pytest.approx(b, rel=1e-6)
    assert resumed["train"]["param_checksum"] == pytest.approx(reference.train["param_checksum"], rel=1e-9)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_ddp_processes_train_like_one(tmp_path):
    """Global batch 8: two ranks of 4 vs one process of 8. 2-digit products have equal lengths,
    so the gradients are the same up to float summation order; tolerance 1e-4 relative."""
    spec = replace(SPEC, steps=8)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
                "--master-port", str(_free_port())]
    command = torchrun + cli(spec, tmp_path / "ddp", tmp_path / "ddp-ck")[1:]
    done = subprocess.run(command, cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    two = only_result(tmp_path / "ddp")  # rank 0 alone writes
    torch.set_num_threads(1)
    [one] = execute(spec, RunOptions(device="cpu", results_dir=tmp_path / "one", checkpoint_dir=tmp_path / "one-ck",
                                     progress=False))
    assert two["environment"]["world_size"] == 2 and one.environment.world_size == 1
    assert two["train"]["ranks_agree"] is True  # both ranks ended with the same parameters
    assert [s for s, _ in two["train"]["loss_curve"]] == [s for s, _ in one.train["loss_curve"]]
    for (_, a), (_, b) in zip(two["train"]["loss_curve"], one.train["loss_curve"]):
        assert a == pytest.approx(b, rel=1e-4)
    a = checkpoint.load(next((tmp_path / "ddp-ck").iterdir()))["model"]
    b = checkpoint.load(next((tmp_path / "one-ck").iterdir()))["model"]
    for key in a:
        assert torch.allclose(a[key], b[key], rtol=1e-4, atol=1e-5), key
    assert two["eval"][0]["n_examples"] == one.eval[0].n_examples == 8  # evaluation shards summed
    assert two["budget"]["train_flops"] == pytest.approx(one.budget.train_flops)


def _every_method() -> list[str]:
    from baselines.methods import all_methods

    return list(all_methods())


# A gloo rank has aborted at random, twice in many runs and only under a fully loaded machine
# (universal_act once, coconut_pause_as_thought once): "terminate called without an active
# exception", SIGABRT, no Python traceback; the same test passes when run again, and six
# concurrent repeats did not reproduce it. The cause is open (a lead, not a result). Such a run is
# retried once, with a warning, so the check itself (ranks equal, one-process curve) stays strict.
GLOO_ABORT = "terminate called without an active exception"


def _torchrun(spec, tmp_path: Path) -> subprocess.CompletedProcess:
    for attempt in (1, 2):
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr",
                    "127.0.0.1", "--master-port", str(_free_port())]
        out = tmp_path / f"try{attempt}"
        done = subprocess.run(torchrun + cli(spec, out / "ddp", out / "ddp-ck")[1:], cwd=REPO, env=env(),
                              capture_output=True, text=True, timeout=300)
        if done.returncode == 0 or GLOO_ABORT not in done.stderr or attempt == 2:
            for name in ("ddp", "ddp-ck"):
                if (out / name).exists():
                    (out / name).rename(tmp_path / name)
            return done
        warnings.warn(f"{spec.method}: a gloo rank aborted ({GLOO_ABORT!r}); retrying once")
    raise AssertionError("unreachable")


@pytest.mark.slow
@pytest.mark.parametrize("method", _every_method())
def test_every_method_trains_under_ddp_like_one_process(tmp_path, method):
    """Each method (several passes per step included: coconut, codi, icot) under two gloo ranks:
    no unused-parameter error, ranks end equal, the loss curve is the one-process curve (2-digit
    products: every row the same length, so each shard's mean is the global mean's half)."""
    spec = replace(SPEC, method=method, steps=6)
    done = _torchrun(spec, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    two = only_result(tmp_path / "ddp")
    torch.set_num_threads(1)
    [one] = execute(spec, RunOptions(device="cpu", results_dir=tmp_path / "one", checkpoint_dir=tmp_path / "one-ck",
                                     progress=False))
    assert two["status"] == "completed" and two["train"]["ranks_agree"] is True
    assert [s for s, _ in two["train"]["loss_curve"]] == [s for s, _ in one.train["loss_curve"]]
    # recurrent_depth starts its recurrence from a random state drawn per row from the process's
    # generator, so two ranks draw other noise than one process does: its curve agrees less closely
    noisy = method == "recurrent_depth"
    for (_, a), (_, b) in zip(two["train"]["loss_curve"], one.train["loss_curve"]):
        assert a == pytest.approx(b, rel=2e-3 if noisy else 1e-4)
    # CODI divides its distillation loss by the teacher's standard deviation over the rank's own
    # rows, so two ranks compute a slightly different loss than one process (about 3e-5 relative
    # at the first step; with distill_div_std=False the two agree to 1e-7): a looser tolerance
    rel = 1e-4 if method == "codi" else 2e-3 if noisy else 1e-5
    assert two["train"]["param_checksum"] == pytest.approx(one.train["param_checksum"], rel=rel)
