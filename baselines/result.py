"""The Result schema: one JSON file per harness run under results/.

This module imports no torch: the site reads results with it. The harness writes results only
through `write_result` (atomic: a results file is never half-written). Files are never edited
by hand; a change of meaning bumps SCHEMA_VERSION.

Layout: results/<task>/<method>/<run_id>.json, plus results/index.json (a small list of runs
with their headline numbers, rebuilt by `latent bench report`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Budget(_Strict):
    """The training budget rule, identical for every method: optimizer steps x batch size."""

    optimizer_steps: int
    batch_size: int  # global batch (all ranks)
    examples_seen: int  # optimizer_steps * batch_size
    train_flops: float  # analytic training FLOPs actually spent (compute.py)


class Metrics(_Strict):
    """Evaluation on one split, averaged per example."""

    split: str
    n_examples: int
    accuracy: float  # fraction in [0, 1]
    generated_tokens: float  # tokens sampled from the vocabulary per example
    latent_steps: float  # latent steps per example (thoughts, pauses, loops, diffusion steps)
    forward_passes: float  # sequential backbone passes per example
    inference_flops: float  # analytic FLOPs per example
    latency_ms_batch1: float | None = None  # wall-clock per example at batch size 1
    latency_ms_batchN: float | None = None  # wall-clock per example at the eval batch size
    eval_batch_size: int | None = None
    peak_memory_mb: float | None = None  # peak accelerator memory during evaluation


class Environment(_Strict):
    git_commit: str | None
    git_dirty: bool | None
    device: str  # e.g. "NVIDIA H100 80GB HBM3" or "cpu"
    world_size: int = 1
    precision: str  # "bf16-autocast" or "fp32"
    versions: dict[str, str]  # python, torch, transformers, tokenizers, latent-atlas


class Result(_Strict):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    status: Literal["completed", "failed"]
    failure: str | None = None  # the reason when status == "failed" (e.g. non-finite loss at step 812)
    method: str
    method_config: dict
    knob: str | None = None  # name of the test-time compute knob
    knob_value: int | float | None = None  # its value at evaluation (a float for a threshold)
    paper: str | None = None  # catalog id of the paper the method implements
    task: dict  # name, version, options
    model: dict  # backbone: name/size, n_params, pretrained path or null
    seed: int
    budget: Budget
    train: dict = Field(default_factory=dict)  # final loss, loss curve (subsampled), time_s, stages
    eval: list[Metrics] = Field(default_factory=list)
    environment: Environment
    started_at: str  # ISO 8601
    finished_at: str | None = None
    suite: str | None = None  # e.g. "smoke" or "prosqa-short"


def write_result(result: Result, root: str | Path) -> Path:
    """Write `result` to root/<task>/<method>/<run_id>.json atomically and return the path."""
    path = Path(root) / result.task["name"] / result.method / f"{result.run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = result.model_dump_json(indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_results(root: str | Path) -> list[Result]:
    """Every result under `root` (index.json and dot-files skipped), sorted by path."""
    out = []
    for path in sorted(Path(root).glob("*/*/*.json")):
        if path.name.startswith("."):
            continue
        out.append(Result.model_validate(json.loads(path.read_text(encoding="utf-8"))))
    return out
