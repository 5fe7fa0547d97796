"""The claims table (results/claims.yaml): published claims, the paper's numbers, ours, a verdict.

Each claim compares two methods `a` and `b` of one reproduction suite on one metric. The paper's
numbers are not copied into the file: `paper_rows` names rows of the paper's catalog `results:`
by (task, method, setting), read when the site is built. Ours are the mean ± std [95% interval]
over seeds of the runs of the named suite (baselines.results.aggregate). The verdict comes from
the claim's rule (see `verdict`); a claim whose runs have fewer than MIN_SEEDS seeds for either
method is "not run yet".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from atlas.inputs import InputError
from atlas.results import shortened
from baselines.results import Group, Result, Stat, aggregate

MIN_SEEDS = 3
HOLDS, FAILS, INCONCLUSIVE, NOT_RUN = "holds", "does not hold", "inconclusive at our budget", "not run yet"
RULES = {"greater": "margin", "similar": "tolerance", "ratio": "factor"}  # kind -> its parameter
METRICS = ("accuracy", "generated_tokens", "forward_passes", "inference_flops")
FIELDS = ("id", "statement", "paper", "task", "suite", "a", "b", "metric", "rule", "paper_rows")
OPTIONAL = ("task_options",)


@dataclass
class Claim:
    id: str
    statement: str
    paper: str
    task: str
    suite: str
    a: str
    b: str
    metric: str
    kind: str  # a key of RULES
    threshold: float  # the rule's margin, tolerance or factor
    paper_rows: list[dict]  # {task, method, setting}
    task_options: dict = field(default_factory=dict)

    @property
    def rule_text(self) -> str:
        if self.kind == "greater":
            return f"{self.a} − {self.b} ≥ {self.threshold:g} with the 95% intervals apart ({self.a}'s above)"
        if self.kind == "similar":
            return f"every point of the two 95% intervals within {self.threshold:g} of each other"
        return f"{self.a} ≥ {self.threshold:g} × {self.b} at the ends of the 95% intervals (low of {self.a}, high of {self.b})"


def read_claims(path: Path, papers: dict) -> list[Claim]:
    """The claims of `path` (none when it does not exist); `papers` maps catalog ids to papers.
    A malformed entry is an InputError naming the file, the claim and the field."""
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise InputError(f"{path}: expected a mapping with a list `claims`")
    claims, seen = [], set()
    for i, entry in enumerate(data["claims"]):
        claim = _claim(path, i, entry, papers)
        if claim.id in seen:
            raise InputError(f"{path}: claims[{i}].id: {claim.id!r} occurs twice")
        seen.add(claim.id)
        claims.append(claim)
    return claims


def _claim(path: Path, i: int, entry: object, papers: dict) -> Claim:
    where = f"{path}: claims[{i}]"
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected a mapping")
    if isinstance(entry.get("id"), str):
        where = f"{path}: claim {entry['id']!r} (claims[{i}])"

    def bad(name: str, what: str) -> InputError:
        return InputError(f"{where}: field `{name}`: {what}")

    missing = [f for f in FIELDS if f not in entry]
    if missing:
        raise bad(missing[0], "missing")
    unknown = [f for f in entry if f not in FIELDS + OPTIONAL]
    if unknown:
        raise bad(unknown[0], f"unknown field; expected {', '.join(FIELDS + OPTIONAL)}")
    for name in ("id", "statement", "paper", "task", "suite", "a", "b", "metric"):
        if not isinstance(entry[name], str) or not entry[name].strip():
            raise bad(name, "expected a non-empty string")
    if entry["metric"] not in METRICS:
        raise bad("metric", f"{entry['metric']!r}; expected one of {', '.join(METRICS)}")
    from baselines.suites import SUITES, suite_methods

    if entry["suite"] not in SUITES:
        raise bad("suite", f"unknown suite {entry['suite']!r}; available: {', '.join(SUITES)}")
    for name in ("a", "b"):
        if entry[name] not in suite_methods(entry["suite"]):
            raise bad(name, f"method {entry[name]!r} is not in suite {entry['suite']}")
    options = entry.get("task_options", {})
    if not isinstance(options, dict):
        raise bad("task_options", "expected a mapping")
    rule = entry["rule"]
    if not isinstance(rule, dict) or rule.get("kind") not in RULES:
        raise bad("rule", f"expected {{kind: {' | '.join(RULES)}, ...}}, got {rule!r}")
    parameter = RULES[rule["kind"]]
    value = rule.get(parameter)
    if set(rule) != {"kind", parameter} or isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise bad("rule", f"kind {rule['kind']} takes exactly `{parameter}`, a number >= 0; got {rule!r}")
    if entry["paper"] not in papers:
        raise bad("paper", f"{entry['paper']!r} is not a catalog id")
    rows = entry["paper_rows"]
    if not isinstance(rows, list) or not rows:
        raise bad("paper_rows", "expected a non-empty list of {task, method, setting}")
    for j, row in enumerate(rows):
        if not isinstance(row, dict) or not {"task", "method"} <= set(row) or set(row) - {"task", "method", "setting"}:
            raise bad(f"paper_rows[{j}]", f"expected {{task, method, setting (optional)}}, got {row!r}")
        if len(paper_rows(papers[entry["paper"]], row)) != 1:
            raise bad(f"paper_rows[{j}]", f"{row} matches {len(paper_rows(papers[entry['paper']], row))} rows of "
                      f"catalog/papers/{entry['paper']}.yaml `results:` (expected exactly one)")
    return Claim(id=entry["id"], statement=entry["statement"], paper=entry["paper"], task=entry["task"],
                 suite=entry["suite"], a=entry["a"], b=entry["b"], metric=entry["metric"], kind=rule["kind"],
                 threshold=float(value), paper_rows=rows, task_options=options)


def paper_rows(paper, row: dict) -> list:
    """The paper's `results:` rows with the row's task and method and the same setting (None: none)."""
    return [r for r in paper.results if r.task == row["task"] and r.method == row["method"]
            and r.setting == row.get("setting")]


def verdict(kind: str, threshold: float, a: Stat | None, b: Stat | None) -> str:
    """The verdict of a rule on the two methods' statistics over seeds."""
    if a is None or b is None or a.n < MIN_SEEDS or b.n < MIN_SEEDS:
        return NOT_RUN
    if kind == "greater":
        if a.mean - b.mean >= threshold and a.low > b.high:
            return HOLDS
        if a.high - b.low < threshold:
            return FAILS
        return INCONCLUSIVE
    if kind == "similar":
        if a.high - b.low <= threshold and b.high - a.low <= threshold:
            return HOLDS
        if a.low - b.high > threshold or b.low - a.high > threshold:
            return FAILS
        return INCONCLUSIVE
    if kind == "ratio":
        if b.high > 0 and a.low / b.high >= threshold:
            return HOLDS
        if b.low > 0 and a.high / b.low < threshold:
            return FAILS
        return INCONCLUSIVE
    raise ValueError(f"unknown rule kind {kind!r}; expected one of {', '.join(RULES)}")


def group_of(claim: Claim, method: str, results: list[Result]) -> Group | None:
    """The claim's runs of `method`: completed runs of its suite and task, grouped over seeds;
    when there are several settings, the one with the most seeds, then the largest budget."""
    runs = [r for r in results if r.suite == claim.suite and r.method == method
            and r.task.get("name") == claim.task and (r.task.get("options") or {}) == claim.task_options]
    groups = aggregate(runs)
    return max(groups, key=lambda g: (len(g.runs), g.runs[0].budget.examples_seen), default=None)


@dataclass
class ClaimView:
    claim: Claim
    paper_numbers: list[tuple[dict, object]]  # (the named row, the catalog's row)
    ours: dict[str, Group | None]  # method -> its group
    stats: dict[str, Stat | None]
    verdict: str


def evaluate(claim: Claim, papers: dict, results: list[Result]) -> ClaimView:
    """The claim's paper numbers, our groups and the verdict. Runs shortened below their suite's
    budget can show that a claim holds, never that it does not: a "does not hold" from them
    is reported as inconclusive at our budget."""
    ours = {m: group_of(claim, m, results) for m in (claim.a, claim.b)}
    stats = {m: g.stat(claim.metric, "test") if g is not None else None for m, g in ours.items()}
    numbers = [(row, paper_rows(papers[claim.paper], row)[0]) for row in claim.paper_rows]
    result = verdict(claim.kind, claim.threshold, stats[claim.a], stats[claim.b])
    if result == FAILS and any(shortened(r) for g in ours.values() if g is not None for r in g.runs):
        result = INCONCLUSIVE
    return ClaimView(claim, numbers, ours, stats, result)
