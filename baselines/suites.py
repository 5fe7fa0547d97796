"""What a run is (RunSpec) and the named suites of runs, defined in one place.

A RunSpec holds every setting that shapes training and evaluation; the same budget rule holds
for every method: `steps` optimizer steps of `batch_size` examples (the global batch, over all
processes), so every method sees steps x batch_size training examples.

Suites (`latent bench run --suite NAME`, optionally with --method to run one method of it):
  smoke         every registered method x 2-digit multiplication, tiny model, a few steps, two
                validation evaluations: checks that everything runs end to end (CPU, about a minute)
  prosqa-short  every method x ProsQA (official valid/test when present), 6-layer model
  mult4-short   every method x 4x4 multiplication (official test when present), 6-layer model
The two "short" suites are sized for one GPU: `latent bench run --suite prosqa-short --device cuda`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass
class RunSpec:
    method: str
    task: str
    task_options: dict = field(default_factory=dict)
    method_options: dict = field(default_factory=dict)  # other fields of the method's Config
    knob: int | float | None = None  # the method's compute knob for training and evaluation (None = its default)
    # the budget: optimizer steps x global batch size
    steps: int = 1000
    batch_size: int = 32
    micro_batch_size: int | None = None  # per process; gradient accumulation when < batch_size / processes
    # optimisation
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup_steps: int | None = None  # None = 5% of the steps
    min_lr_ratio: float = 0.1  # the cosine ends at lr * min_lr_ratio
    grad_clip: float = 1.0
    # model and data
    model_size: str = "tiny"
    model: str | None = None  # a pretrained GPT-2 (local folder or hub id) instead of from scratch
    tokenizer: str = "word"  # "word" (built from the task's texts) or a GPT-2 tokenizer folder
    n_positions: int = 1024
    seed: int = 0
    train_n: int | None = 10000  # generated training examples (official train files: the first n; None = all)
    # evaluation: selection on validation during training, test once at the end
    evals: int = 5  # validation evaluations during training, evenly spaced, the last at the end
    valid_n: int | None = None  # validation examples; None = the whole official split, or 500 generated
    test_n: int | None = None  # test examples; None = the whole official split, or 500 generated
    eval_seed: int = 0  # seed of generated validation and test sets (the same for every training seed)
    eval_batch_size: int = 64
    latency_n: int = 16  # test examples timed one at a time for the batch-1 latency
    suite: str | None = None

    def __post_init__(self) -> None:
        """Bad values are errors that name the command-line flag."""
        at_least = {"steps": 1, "batch_size": 1, "micro_batch_size": 1, "n_positions": 8, "train_n": 1,
                    "evals": 1, "valid_n": 1, "test_n": 1, "eval_seed": 0, "eval_batch_size": 1, "latency_n": 0,
                    "warmup_steps": 0}
        for name, low in at_least.items():
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < low):
                raise ValueError(f"--{name.replace('_', '-')} must be an integer >= {low}, got {value!r}")
        if self.knob is not None and (isinstance(self.knob, bool) or not isinstance(self.knob, (int, float))
                                      or self.knob < 0):
            raise ValueError(f"--knob must be a number >= 0, got {self.knob!r}")
        for name in ("lr", "grad_clip"):
            if not getattr(self, name) > 0:
                raise ValueError(f"--{name.replace('_', '-')} must be > 0, got {getattr(self, name)!r}")
        if self.weight_decay < 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ValueError("--weight-decay must be >= 0 and min_lr_ratio in [0, 1]")


def _every_method() -> list[str]:
    from baselines import registry

    return list(registry.methods())


SMOKE = RunSpec(method="", task="multiplication", task_options={"digits": 2}, steps=20, batch_size=16,
                lr=1e-3, model_size="tiny", n_positions=128, train_n=256, evals=2, valid_n=16, test_n=16,
                eval_batch_size=16, latency_n=2, method_options={"max_new_tokens": 24}, suite="smoke")
PROSQA_SHORT = RunSpec(method="", task="prosqa", steps=3000, batch_size=64, lr=3e-4, model_size="small",
                       n_positions=512, train_n=17886, eval_batch_size=128, suite="prosqa-short")
MULT4_SHORT = RunSpec(method="", task="multiplication", task_options={"digits": 4}, steps=4000, batch_size=128,
                      lr=3e-4, model_size="small", n_positions=256, train_n=200000, eval_batch_size=250,
                      suite="mult4-short")
SUITES = {"smoke": SMOKE, "prosqa-short": PROSQA_SHORT, "mult4-short": MULT4_SHORT}


def suite(name: str, methods: list[str] | None = None) -> list[RunSpec]:
    """The runs of suite `name`: its template for every registered method (or only `methods`)."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; available: {', '.join(SUITES)}")
    registered = _every_method()
    chosen = methods or registered
    unknown = [m for m in chosen if m not in registered]
    if unknown:
        raise ValueError(f"suite {name}: unknown method(s) {', '.join(unknown)}; available: {', '.join(registered)}")
    return [replace(SUITES[name], method=m, method_options=dict(SUITES[name].method_options)) for m in chosen]
