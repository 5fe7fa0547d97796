"""What a result records about the code and machine that produced it."""

from __future__ import annotations

import torch

from baselines import ddp, environment


def _ctx():
    return ddp.Context(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))


def test_stated_commit_wins_over_the_copy_s_own_git(monkeypatch):
    # a tree copied to another machine may carry a stale .git: the sender's statement is what counts
    monkeypatch.setenv(environment.COMMIT_ENV, "f" * 40)
    env = environment.describe(_ctx(), "fp32")
    assert env.git_commit == "f" * 40 and env.git_dirty is None


def test_checkout_commit_without_the_variable(monkeypatch):
    monkeypatch.delenv(environment.COMMIT_ENV, raising=False)
    monkeypatch.setattr(environment, "_git", lambda *args: "a" * 40 if args[0] == "rev-parse" else "")
    env = environment.describe(_ctx(), "fp32")
    assert env.git_commit == "a" * 40 and env.git_dirty is False
