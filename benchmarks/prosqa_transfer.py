"""ProsQA transfer check: does a model trained on generated graphs answer the official questions
as well as generated ones?

Trains one method through the harness on generated ProsQA (the current generator, or the one in
`--generator-file`, e.g. an earlier version of baselines/tasks/prosqa.py taken from git), then
answers three validation sets with the final weights:

  official    the official prosqa_valid.json (Coconut's)
  generated   generated validation examples of the generator it was trained on
  current     generated validation examples of the current generator

and sorts every prediction into: the right option, the other option, another concept, or no
well-formed answer. Accuracy is also split by a few properties of the question (depth of the
answer, whether the distractor is as deep as the answer), so that a gap between official and
generated data points at its cause. Writes one JSON (--out) and prints a table.

    python benchmarks/prosqa_transfer.py --method no_cot --train-n 200000 --steps 1500 \\
        --batch-size 128 --model-size small --device cuda --out results/studies/prosqa_transfer/x.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from baselines import checkpoint  # noqa: E402
from baselines.backbone import BackboneConfig, build_backbone  # noqa: E402
from baselines.data import resolve_data_dir  # noqa: E402
from baselines.harness import RunOptions, _autocast, execute  # noqa: E402
from baselines.methods import get_method  # noqa: E402
from baselines.methods.base import extract_answer  # noqa: E402
from baselines.suites import RunSpec  # noqa: E402
from baselines.tasks import prosqa  # noqa: E402
from baselines.tasks.prosqa import CONCEPTS, ProsQA, shortest_path  # noqa: E402
from baselines.tokenizer import load_tokenizer  # noqa: E402


def load_generator(path: Path):
    """The module at `path` (a ProsQA generator file with make_example)."""
    spec = importlib.util.spec_from_file_location("prosqa_generator_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "make_example"):
        raise SystemExit(f"{path}: no make_example function: not a ProsQA generator file")
    return module


def generated(make_example, salt: str, n: int) -> list:
    return [make_example(random.Random(f"prosqa-transfer/{salt}/{i}")) for i in range(n)]


def category(prediction: str, example) -> str:
    """right / other_option / other_concept / malformed."""
    meta = example.meta
    names = meta["idx_to_symbol"]
    right, wrong = names[meta["target"]], names[meta["neg_target"]]
    words = prediction.rstrip(".").split()
    if len(words) != 4 or words[1:3] != ["is", "a"]:
        return "malformed"
    if words[0] != names[meta["root"]]:
        return "malformed"
    if words[3] == right:
        return "right"
    if words[3] == wrong:
        return "other_option"
    return "other_concept" if words[3] in CONCEPTS else "malformed"


def properties(example) -> dict:
    meta = example.meta
    n = len(meta["idx_to_symbol"])
    edges = [tuple(e) for e in meta["edges"]]
    has_parent = {c for _, c in edges}
    people = [i for i in range(n) if i not in has_parent]
    paths = {p: shortest_path(n, edges, p) for p in people}
    hops = len(paths[meta["root"]][meta["target"]]) - 1
    neg_hops = min(len(paths[p][meta["neg_target"]]) - 1 for p in people if meta["neg_target"] in paths[p])
    other = 1 - meta["root"]
    return {"hops": hops, "distractor_as_deep": neg_hops >= hops,
            "answer_reachable_from_other": meta["target"] in paths.get(other, {})}


@torch.no_grad()
def evaluate(method, model, examples, batch_size: int, device) -> dict:
    cats, rows = [], []
    for start in range(0, len(examples), batch_size):
        batch = examples[start:start + batch_size]
        with _autocast(device):
            gen = method.generate(model, batch, None)
        for text, ex in zip(gen.texts, batch):
            cats.append(category(extract_answer(text), ex))
            rows.append(properties(ex))
    out = {"n": len(examples), "accuracy": sum(c == "right" for c in cats) / len(cats),
           "categories": {k: sum(c == k for c in cats) / len(cats)
                          for k in ("right", "other_option", "other_concept", "malformed")}, "by": {}}
    for key in ("hops", "distractor_as_deep", "answer_reachable_from_other"):
        groups: dict = {}
        for c, r in zip(cats, rows):
            groups.setdefault(str(r[key]), []).append(c == "right")
        out["by"][key] = {k: {"n": len(v), "accuracy": sum(v) / len(v)} for k, v in sorted(groups.items())}
    return out


def _relative(path: Path) -> str:
    """`path` relative to the repository when inside it (results name no machine's folders)."""
    path = path.resolve()
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="no_cot")
    parser.add_argument("--generator-file", type=Path, help="train on this generator (default: the current one)")
    parser.add_argument("--train-n", type=int, default=200000)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--model-size", default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-n", type=int, default=500, help="examples per validation set")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir")
    parser.add_argument("--method-option", action="append", default=[], help="KEY=VALUE of the method's Config")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    data_dir = resolve_data_dir(args.data_dir)
    official = ProsQA(data_dir).load("valid")
    if official is None:
        raise SystemExit("the official prosqa_valid.json is needed (give --data-dir)")
    maker = load_generator(args.generator_file).make_example if args.generator_file else prosqa.make_example
    started = time.time()
    train = generated(maker, f"train/{args.seed}", args.train_n)
    gen_seconds = time.time() - started
    ProsQA.generate = lambda self, split, n, seed: train[:n]  # the training set of this check

    options = {}
    for item in args.method_option:
        key, _, value = item.partition("=")
        options[key] = json.loads(value) if value[:1] in "0123456789-[{tf" else value
    spec = RunSpec(method=args.method, task="prosqa", steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                   model_size=args.model_size, seed=args.seed, train_n=args.train_n, evals=1, valid_n=64, test_n=64,
                   method_options=options, latency_n=0)
    with tempfile.TemporaryDirectory() as tmp:
        run_options = RunOptions(device=args.device, data_dir=str(data_dir), results_dir=Path(tmp) / "results",
                                 checkpoint_dir=Path(tmp) / "ckpt", checkpoint_every=args.steps, write=False)
        result = execute(spec, run_options)[0]
        folder = next((Path(tmp) / "ckpt").iterdir())
        tokenizer = load_tokenizer(folder / "tokenizer")
        cls = get_method(args.method)
        method = cls(cls.Config(**options), tokenizer)
        backbone = build_backbone(BackboneConfig(args.model_size, spec.n_positions), len(tokenizer),
                                  pad_id=tokenizer.pad_token_id, eos_id=tokenizer.eos_token_id)
        device = torch.device("cuda" if args.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu")
        model = method.build_model(backbone)
        model.load_state_dict(checkpoint.load(folder)["model"])
        model.to(device).eval()
        sets = {"official": official[:args.eval_n],
                "generated": generated(maker, "valid", args.eval_n),
                "current": generated(prosqa.make_example, "valid", args.eval_n)}
        report = {name: evaluate(method, model, examples, 250, device) for name, examples in sets.items()}

    summary = {"what": "prosqa transfer check", "method": args.method,
               "generator": str(args.generator_file) if args.generator_file else "baselines/tasks/prosqa.py (current)",
               "spec": asdict(spec), "final_loss": result.train.get("final_loss"),
               "train_seconds": result.train.get("time_s"), "generation_seconds": gen_seconds,
               "device": result.environment.device, "git_commit": result.environment.git_commit,
               "official_file": _relative(ProsQA(data_dir).official_path("valid")), "sets": report}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{'set':10s} {'acc':>6s} {'right':>6s} {'other':>6s} {'concept':>8s} {'malformed':>9s}")
    for name, r in report.items():
        c = r["categories"]
        print(f"{name:10s} {r['accuracy']:6.3f} {c['right']:6.3f} {c['other_option']:6.3f} "
              f"{c['other_concept']:8.3f} {c['malformed']:9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
