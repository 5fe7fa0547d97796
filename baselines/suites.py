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

Reproduction suites, one per headline table, trained from scratch (run each with --seed 0, 1, 2):
  prosqa-repro  ProsQA, the methods of Coconut's Table 1 (catalog `hao2024training`): no_cot, cot,
                pause, icot, coconut, coconut_no_curriculum, coconut_no_thought,
                coconut_pause_as_thought, plus codi
  mult4-repro   4x4 multiplication, the iCoT comparison (catalog `deng2024explicit`): no_cot, cot,
                icot, coconut, codi
  mult5-repro   the same on 5x5 multiplication
A suite that names its methods runs only those; --method picks among them. Per-method recipe
overrides (RECIPES) follow the papers' reference recipes where the harness can express them:
  - Coconut on ProsQA (reference: GPT-2, 50 epochs, 5 epochs per stage, max_latent_stage 6,
    c_thought 1, optimizer reset at each stage): c_thought=1, max_latent_stage=6,
    stage_share=0.1 (5 of 50 epochs), so stages 0..6 take 10% of the steps each and the final
    stage the last 30%; reset_optimizer=True. The three ablations share the recipe.
  - pause on ProsQA: 6 pauses, as many as Coconut's 6 thoughts.
  - iCoT: remove_per_stage=8 (the reference's 8 tokens per removal step) and num_stages such that
    (num_stages - 2) * 8 reaches the longest CoT, so the whole CoT is gone before the last stage
    and the last stage trains without it: ProsQA 9 stages (56 >= 41, the longest CoT in word
    tokens of 3,000 training examples, with margin), 4x4 8 stages (48 >= 47), 5x5 12 stages (80 >= 75).
  - Coconut on multiplication (no reference recipe there): one thought per CoT step,
    max_latent_stage = the steps of the product (4 or 5), equal stage shares, optimizer reset.
  - CODI: 6 latents (the paper's), and the teacher's CoT without its last step (teacher_last_step=False),
    as the reference trains by default.
  - Learning rate: the papers fine-tune a pretrained GPT-2 (Coconut 1e-4); trained from scratch,
    every method keeps the suite's 3e-4, since no method here needs otherwise.
Budgets (one H100; the `small` model, 6 layers x 384, from scratch, so that a run takes minutes
and several runs share the GPU; `--model-size gpt2` gives GPT-2 size at about 8x the FLOPs):
  prosqa-repro  7,000 steps x 128 = 896,000 examples (50 epochs of the 17,886 training examples,
                the reference's 50 epochs at its batch of 128); about 250 tokens an example, so
                about 6 x 10.6M x 2.2e8 = 1.4e16 training FLOPs for a one-pass method (block
                matmuls), a few times that for Coconut and CODI (one pass per thought)
  mult4-repro   20,000 steps x 128 = 2.56M examples of 800,000 generated; about 66 tokens an
                example: about 1.1e16 FLOPs for a one-pass method
  mult5-repro   the same budget; about 100 tokens an example: about 1.6e16 FLOPs
Each evaluates on validation 10 times (selection) and on the official test split once.
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
PROSQA_REPRO = RunSpec(method="", task="prosqa", steps=7000, batch_size=128, lr=3e-4, model_size="small",
                       n_positions=512, train_n=17886, evals=10, eval_batch_size=128, suite="prosqa-repro")
MULT4_REPRO = RunSpec(method="", task="multiplication", task_options={"digits": 4}, steps=20000, batch_size=128,
                      lr=3e-4, model_size="small", n_positions=256, train_n=800000, evals=10,
                      eval_batch_size=250, suite="mult4-repro")
MULT5_REPRO = replace(MULT4_REPRO, task_options={"digits": 5}, suite="mult5-repro")
SUITES = {"smoke": SMOKE, "prosqa-short": PROSQA_SHORT, "mult4-short": MULT4_SHORT,
          "prosqa-repro": PROSQA_REPRO, "mult4-repro": MULT4_REPRO, "mult5-repro": MULT5_REPRO}

# The methods of a suite that names them (the others run every registered method).
SUITE_METHODS = {
    "prosqa-repro": ("no_cot", "cot", "pause", "icot", "coconut", "coconut_no_curriculum", "coconut_no_thought",
                     "coconut_pause_as_thought", "codi"),
    "mult4-repro": ("no_cot", "cot", "icot", "coconut", "codi"),
    "mult5-repro": ("no_cot", "cot", "icot", "coconut", "codi"),
}

# Coconut's ProsQA recipe (reference: 50 epochs, 5 per stage, max_latent_stage 6, c_thought 1, reset)
_COCONUT_PROSQA = {"c_thought": 1, "max_latent_stage": 6, "stage_share": 0.1, "reset_optimizer": True}
# CODI's reference recipe: the teacher's CoT without its last step (its include_last_cot is off by default)
_CODI = {"teacher_last_step": False}
# Per suite and method: fields of the method's Config merged over the suite's method_options.
RECIPES = {
    "prosqa-repro": {
        "pause": {"pauses": 6},  # as many pauses as Coconut has thoughts (c_thought x max_latent_stage)
        "icot": {"remove_per_stage": 8, "num_stages": 9},  # (9 - 2) x 8 = 56 >= 41 CoT tokens
        "coconut": dict(_COCONUT_PROSQA),
        "coconut_no_curriculum": dict(_COCONUT_PROSQA),  # the ablations keep Coconut's recipe
        "coconut_no_thought": dict(_COCONUT_PROSQA),
        "coconut_pause_as_thought": dict(_COCONUT_PROSQA),
        "codi": dict(_CODI),
    },
    "mult4-repro": {
        "icot": {"remove_per_stage": 8, "num_stages": 8},  # (8 - 2) x 8 = 48 >= 47 CoT tokens
        "coconut": {"c_thought": 1, "max_latent_stage": 4, "reset_optimizer": True},  # a thought per step
        "codi": dict(_CODI),
    },
    "mult5-repro": {
        "cot": {"max_new_tokens": 128},  # 75 CoT tokens and the answer exceed the default 64
        "icot": {"remove_per_stage": 8, "num_stages": 12},  # (12 - 2) x 8 = 80 >= 75 CoT tokens
        "coconut": {"c_thought": 1, "max_latent_stage": 5, "reset_optimizer": True},  # a thought per step
        "codi": dict(_CODI),
    },
}


def suite_methods(name: str) -> list[str]:
    """The methods suite `name` runs: those it names, else every registered method."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; available: {', '.join(SUITES)}")
    return list(SUITE_METHODS.get(name, _every_method()))


def suite(name: str, methods: list[str] | None = None) -> list[RunSpec]:
    """The runs of suite `name`: its template for each of its methods (or only `methods`, which
    must be among them), with the method's recipe overrides."""
    available = suite_methods(name)
    chosen = methods or available
    unknown = [m for m in chosen if m not in available]
    if unknown:
        raise ValueError(f"suite {name}: method(s) {', '.join(unknown)} not in the suite; "
                         f"available: {', '.join(available)}")
    template = SUITES[name]
    recipes = RECIPES.get(name, {})
    return [replace(template, method=m, method_options={**template.method_options, **recipes.get(m, {})})
            for m in chosen]
