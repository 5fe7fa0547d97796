"""What a result records about where it ran: git commit, device, package versions, times."""

from __future__ import annotations

import platform
import secrets
import os
import subprocess
from datetime import datetime, timezone
from importlib import metadata

import torch

from baselines.data import REPO_ROOT
from baselines.results import Environment

PACKAGES = ("torch", "transformers", "tokenizers", "latent-atlas")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_id(spec) -> str:
    """Sortable and unique: UTC time, method, seed and a random tag."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{spec.method}-s{spec.seed}-{secrets.token_hex(3)}"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


COMMIT_ENV = "LATENT_GIT_COMMIT"


def describe(ctx, precision: str) -> Environment:
    commit = _git("rev-parse", "HEAD")
    # dirty: a tracked file differs from the commit, or code not in git sits in the package
    status = _git("status", "--porcelain", "--untracked-files=no")
    untracked = _git("status", "--porcelain", "--untracked-files=all", "--", "baselines", "scripts")
    if status is not None and untracked is not None:
        status += untracked
    if os.environ.get(COMMIT_ENV):
        # a copy of the tree sent elsewhere (e.g. to a remote GPU machine), whose own .git is
        # missing or stale: the commit it was copied from, as the sender states it; dirtiness
        # is then unknown
        commit, status = os.environ[COMMIT_ENV], None
    device = torch.cuda.get_device_name(ctx.device) if ctx.device.type == "cuda" else "cpu"
    return Environment(git_commit=commit, git_dirty=None if status is None else bool(status), device=device,
                       world_size=ctx.world_size, precision=precision, versions=versions())
