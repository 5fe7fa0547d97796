"""Model selection on the validation split: when to evaluate during training, and which weights
to keep.

The harness evaluates the model on the validation split `evals` times, evenly spaced over the
optimizer steps (the last time at the end of training), and keeps a copy of the weights with the
best validation accuracy (the first of equal ones: a later checkpoint must do strictly better)
among the eligible ones: a staged method's weights are eligible from its final curriculum stage on
(`Method.selectable_from`); earlier evaluations are recorded but never kept.
After training those weights are restored and evaluated on the test split, once. The copy lives
in memory (on the CPU) and in the training checkpoint, so a resumed run selects exactly as an
uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from baselines.results import Metrics


def evaluation_steps(total_steps: int, evals: int) -> list[int]:
    """The optimizer steps (counted after the update, 1..total_steps) after which validation runs:
    `evals` evenly spaced ones ending at `total_steps` (fewer when there are fewer steps)."""
    if total_steps < 1 or evals < 1:
        raise ValueError(f"evaluation_steps: total_steps={total_steps} and evals={evals} must be >= 1")
    return sorted({max(1, round(k * total_steps / evals)) for k in range(1, evals + 1)})


@dataclass
class Selector:
    """The validation evaluations so far and the best weights."""

    steps: list[int]  # from evaluation_steps
    eligible_from: int = 1  # the first step whose weights may be kept (Method.selectable_from)
    evaluations: list[tuple[int, float]] = field(default_factory=list)  # (step, validation accuracy)
    best_step: int | None = None
    best_metrics: Metrics | None = None
    best_state: dict[str, torch.Tensor] | None = None  # CPU copy of the model's state dict

    def due(self, step: int) -> bool:
        """Whether validation runs after optimizer step `step` (counted from 1)."""
        return step in self.steps and all(s != step for s, _ in self.evaluations)

    def offer(self, step: int, metrics: Metrics, model: nn.Module) -> bool:
        """Record the evaluation of the weights after `step`; keep them when they are eligible and
        the best so far."""
        self.evaluations.append((step, metrics.accuracy))
        if step < self.eligible_from:
            return False
        if self.best_metrics is not None and metrics.accuracy <= self.best_metrics.accuracy:
            return False
        self.best_step, self.best_metrics = step, metrics.model_copy(update={"step": step})
        self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        return True

    def restore(self, model: nn.Module) -> None:
        """Load the selected weights into `model`."""
        if self.best_state is None:
            raise RuntimeError("no validation evaluation was made: nothing to select")
        model.load_state_dict(self.best_state)

    # -- checkpointing ------------------------------------------------------------------------------

    def state(self) -> dict:
        return {"steps": list(self.steps), "eligible_from": self.eligible_from, "evaluations": [list(e) for e in self.evaluations],
                "best_step": self.best_step,
                "best_metrics": self.best_metrics.model_dump() if self.best_metrics else None,
                "best_state": self.best_state}

    @classmethod
    def from_state(cls, state: dict) -> "Selector":
        return cls(steps=list(state["steps"]), eligible_from=int(state.get("eligible_from", 1)), evaluations=[(int(s), float(a)) for s, a in state["evaluations"]],
                   best_step=state["best_step"],
                   best_metrics=Metrics.model_validate(state["best_metrics"]) if state["best_metrics"] else None,
                   best_state=state["best_state"])
