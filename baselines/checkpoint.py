"""Training checkpoints: one file per run, replaced atomically, so a run killed at any moment
resumes from its last checkpoint (`latent bench run ... --resume`).

A checkpoint holds everything the next step depends on: model, optimizer and scheduler states,
random states, the optimizer step, the curriculum stage, the data position (step x global batch;
baselines.batching.batch_indices derives the data order from it), and the bookkeeping so far (loss
curve, FLOPs, time). The folder is named by a hash of every setting that shapes training, so
`--resume` never picks up another run's state; the tokenizer is saved beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from pathlib import Path

import torch

FILE = "checkpoint.pt"


def run_key(identity: dict) -> str:
    """A short stable hash of the settings that define a training run."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def rng_state() -> dict:
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(folder: Path, state: dict) -> Path:
    """Write `state` to folder/checkpoint.pt atomically (temp file in the folder, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pt")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, folder / FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return folder / FILE


def load(folder: Path) -> dict | None:
    """The saved state, or None when the folder has no checkpoint."""
    path = folder / FILE
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a checkpoint is only ever replaced whole; this means outside damage
        raise RuntimeError(f"{path}: cannot read the checkpoint ({exc}); delete it to start over") from None


def save_tokenizer(folder: Path, tokenizer) -> None:
    """Save the tokenizer to folder/tokenizer once (written to a temp folder, then renamed)."""
    target = folder / "tokenizer"
    if target.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".tmp-tokenizer-"))
    tokenizer.save_pretrained(str(tmp))
    try:
        os.replace(tmp, target)
    except OSError:  # another process got there first
        for child in tmp.iterdir():
            child.unlink()
        tmp.rmdir()
