"""What the pages show, computed once from the inputs: indexes, related papers, baselines to run.

Nothing here produces text; atlas/pages.py renders these objects with the templates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from operator import itemgetter

from atlas.inputs import Inputs
from atlas.results import TaskResults, by_task
from catalog.model import Paper
from catalog.stats import stats

RELATED_COUNT = 6
RELATED_NODE = 10  # weight of a shared taxonomy node
RELATED_LINK = 30  # weight of a method link (one paper reports a method the other implements)
TIMELINE_MONTHS = 96  # the timeline chart draws at most this many months
TABLE_YEARS = 8  # the per-year table shows at most this many years
REPO_BRANCH = "main"  # the branch repository and edit links point at (as mkdocs.yml's edit_uri)
DEFAULT_TASK = "prosqa"  # the task every method is run on when nothing else points to one


@dataclass
class RunIt:
    """The nearest runnable baseline of a paper and how to run it."""

    method: str
    task: str
    implemented: bool  # baselines/methods/<method>.py exists
    own: bool  # the paper's own baseline (else its taxonomy family's)
    node: str | None  # the taxonomy node whose baseline this is (None when own)

    @property
    def command(self) -> str | None:
        """The command that runs it; None while the method is planned (no module yet)."""
        return f"latent bench run --method {self.method} --task {self.task}" if self.implemented else None


@dataclass
class YearTable:
    columns: list[str]
    rows: list[tuple[str, list[int], int]]  # (family name, papers per column, total)
    totals: list[int]
    total: int


class SiteModel:
    def __init__(self, inputs: Inputs, repo_url: str | None = None):
        self.inputs = inputs
        self.repo_url = repo_url.rstrip("/") if repo_url else None
        self.catalog = inputs.catalog
        self.taxonomy = inputs.catalog.taxonomy
        self.papers: list[Paper] = inputs.catalog.papers  # newest first
        self.stats = stats(inputs.catalog)
        self.methods = inputs.methods
        # every registered method name (variants included) -> the module (page) that defines it
        self.method_pages = {
            name: stem
            for stem, info in inputs.methods.items()
            for name in dict.fromkeys([stem, str(info.attrs.get("name", stem)), *info.variants])
        }
        self.tasks = inputs.tasks
        chance = {
            str(info.attrs.get("name", info.name)): float(info.attrs["chance"])
            for info in inputs.tasks.values()
            if isinstance(info.attrs.get("chance"), (int, float))
        }  # tasks that declare the accuracy of guessing
        self.results: dict[str, TaskResults] = by_task(inputs.results, chance)
        self.by_node: dict[str, list[Paper]] = defaultdict(list)  # node and everything below it
        self.direct: dict[str, list[Paper]] = defaultdict(list)  # placed in the node itself
        self.by_tag: dict[str, list[Paper]] = defaultdict(list)
        for paper in self.papers:
            covered = {n.id for node in paper.taxonomy for n in self.taxonomy.path(node)}
            for node in covered:
                self.by_node[node].append(paper)
            for node in dict.fromkeys(paper.taxonomy):
                self.direct[node].append(paper)
            for tag in dict.fromkeys(paper.tags):
                self.by_tag[tag].append(paper)
        self._task_set = {str(info.attrs.get("name", info.name)) for info in self.tasks.values()}
        self._runs_per_task: dict[str, Counter[str]] = defaultdict(Counter)  # method -> task name -> runs
        for task in self.results.values():
            for result in task.completed:
                self._runs_per_task[result.method][str(result.task.get("name"))] += 1
        self._related = self._compute_related()
        self._planned = self._compute_planned()

    def repo_file(self, path: str) -> str | None:
        """The address of a repository file on the code host (None without a repo_url)."""
        return f"{self.repo_url}/blob/{REPO_BRANCH}/{path}" if self.repo_url else None

    # -- catalog ------------------------------------------------------------------------------
    def tag_groups(self) -> dict[str, list]:
        groups: dict[str, list] = defaultdict(list)
        for tag in self.catalog.tags.values():
            groups[tag.group].append(tag)
        return dict(groups)

    def family(self, paper: Paper) -> str:
        """The paper's top-level family: that of its first taxonomy node."""
        return self.taxonomy.top_level(paper.taxonomy[0])

    def related(self, paper: Paper) -> list[tuple[Paper, list[str], list[str], bool]]:
        """[(paper, shared taxonomy nodes, shared tags, linked by a compared method)]."""
        return self._related.get(paper.id, [])

    def _references(self) -> dict[int, set[int]]:
        """Papers linked through a method: one reports results of a method (or names it as its
        baseline) that the other implements, or both methods have runs on a common task in
        results/. Symmetric, by paper position."""
        position = {p.id: i for i, p in enumerate(self.papers)}
        implementers: dict[str, list[int]] = defaultdict(list)
        for p in self.papers:
            for name in p.baselines:
                implementers[name].append(position[p.id])
        links: dict[int, set[int]] = defaultdict(set)

        def link(group: list[int]) -> None:
            for i in group:
                links[i].update(j for j in group if j != i)

        for i, p in enumerate(self.papers):
            for name in {r.method for r in p.results} | set(p.baselines):
                for j in implementers.get(name, []):
                    link([i, j])
        for task in self.results.values():
            run = {r.method for r in task.completed}
            link(sorted({j for name in run for j in implementers.get(name, [])}))
        return links

    def _compute_related(self) -> dict[str, list[tuple[Paper, list[str], list[str], bool]]]:
        """Top papers by closeness: a method link (the papers compare through a method) counts
        30, a shared taxonomy node 10, a shared tag 1, so tags only order papers that are
        equally close by method and category; ties newest first.

        Candidates come from inverted indexes of paper positions (newest first), so the cost
        grows with overlaps, not with n².
        """
        position = {p.id: i for i, p in enumerate(self.papers)}
        node_index = {n: [position[p.id] for p in ps] for n, ps in self.direct.items()}
        tag_index = {t: [position[p.id] for p in ps] for t, ps in self.by_tag.items()}
        references = self._references()
        out = {}
        for i, paper in enumerate(self.papers):
            score: Counter[int] = Counter()
            for node in set(paper.taxonomy):
                for j in node_index[node]:
                    score[j] += RELATED_NODE
            for j in references.get(i, ()):
                score[j] += RELATED_LINK
            for tag in set(paper.tags):
                score.update(tag_index[tag])
            score.pop(i, None)
            # best counts first (a C-level sort, stable), then ties at the cut broken by position
            ranked = sorted(score.items(), key=itemgetter(1), reverse=True)
            if len(ranked) > RELATED_COUNT:
                cut = RELATED_COUNT
                while cut < len(ranked) and ranked[cut][1] == ranked[RELATED_COUNT - 1][1]:
                    cut += 1
                ranked = ranked[:cut]
            best = sorted(ranked, key=lambda kv: (-kv[1], kv[0]))[:RELATED_COUNT]
            rows = []
            for j, _ in best:
                other = self.papers[j]
                nodes = [n for n in other.taxonomy if n in paper.taxonomy]
                tags = [t for t in other.tags if t in paper.tags]
                rows.append((other, nodes, tags, j in references.get(i, ())))
            out[paper.id] = rows
        return out

    # -- timeline -----------------------------------------------------------------------------
    def timeline(self) -> tuple[list[str], list[tuple[str, list[int]]]]:
        """Papers per month per top-level family, from the first paper's month to the last's.

        At most TIMELINE_MONTHS months are drawn, starting in a January; papers before them are
        summed into one first bar labelled "before YYYY" (a few classics would otherwise stretch
        the axis over decades).
        """
        if not self.papers:
            return [], []
        last = max(p.date for p in self.papers).replace(day=1)
        earliest = _add_months(last, 1 - TIMELINE_MONTHS)
        if earliest.month != 1:  # start at a January, so that "before YYYY" means what it says
            earliest = dt.date(earliest.year + 1, 1, 1)
        first = max(min(p.date for p in self.papers).replace(day=1), earliest)
        months = []
        current = first
        while current <= last:
            months.append(current.strftime("%Y-%m"))
            current = _add_months(current, 1)
        earlier = any(p.date < first for p in self.papers)
        labels = ([f"before {first.year}"] if earlier else []) + months
        index = {m: i for i, m in enumerate(labels)}
        counts = {root: [0] * len(labels) for root in self.taxonomy.roots}
        for paper in self.papers:
            slot = 0 if paper.date < first else index[paper.date.strftime("%Y-%m")]
            counts[self.family(paper)][slot] += 1
        series = [(self.taxonomy.nodes[root].name, counts[root]) for root in self.taxonomy.roots]
        return labels, series

    def per_year_table(self) -> "YearTable":
        """Papers per family (rows) and year (columns, newest first; at most TABLE_YEARS, older
        years summed into one column)."""
        years = sorted({p.year for p in self.papers}, reverse=True)
        shown = years[:TABLE_YEARS]
        older = years[TABLE_YEARS:]
        columns = [str(y) for y in shown] + ([f"{older[-1]}–{older[0]}"] if older else [])
        column = {y: i for i, y in enumerate(shown)}
        counts = {root: [0] * len(columns) for root in self.taxonomy.roots}
        for paper in self.papers:
            counts[self.family(paper)][column.get(paper.year, len(columns) - 1)] += 1
        rows = [(self.taxonomy.nodes[r].name, counts[r], sum(counts[r])) for r in self.taxonomy.roots]
        totals = [sum(row[1][i] for row in rows) for i in range(len(columns))]
        return YearTable(columns, rows, totals, len(self.papers))

    # -- baselines ----------------------------------------------------------------------------
    def node_baseline(self, node_id: str) -> tuple[str, str] | None:
        """(method, node that names it), walking up from `node_id` to its root."""
        for node in reversed(self.taxonomy.path(node_id)):
            if node.baseline:
                return node.baseline, node.id
        return None

    def run_it(self, paper: Paper) -> RunIt | None:
        """The paper's own baseline, else its taxonomy node's (walking up), else None."""
        if paper.baselines:
            method, own, node = paper.baselines[0], True, None
        else:
            found = next((b for b in (self.node_baseline(n) for n in paper.taxonomy) if b), None)
            if found is None:
                return None
            (method, node), own = found, False
        return RunIt(method, self.task_for(method, paper), method in self.method_pages, own, node)

    def task_names(self) -> list[str]:
        """Names of the tasks in baselines/tasks (their `name` attribute, else the file stem)."""
        return sorted(self._task_set)

    def task_for(self, method: str, paper: Paper | None = None) -> str:
        """A task to run `method` on: one the paper reports that has runs of the method, else the
        task with most runs of it, else the default task (when the paper does not report others),
        else the first reported task we have."""
        known = self._task_set
        reported = list(dict.fromkeys(r.task for r in paper.results if r.task in known)) if paper else []
        with_runs = self._runs_per_task[method]
        for task in reported:
            if task in with_runs:
                return task
        if with_runs:
            return with_runs.most_common(1)[0][0]
        if DEFAULT_TASK in known and (not reported or DEFAULT_TASK in reported):
            return DEFAULT_TASK
        if reported:
            return reported[0]
        return DEFAULT_TASK if DEFAULT_TASK in known or not known else sorted(known)[0]

    def method_results(self, stem: str) -> list[tuple[TaskResults, list]]:
        """Per task, the rows of the module `stem`'s method and of its registered variants."""
        names = {name for name, page in self.method_pages.items() if page == stem}
        out = []
        for task in self.results.values():
            rows = [row for row in task.rows() if row.method in names]
            if rows:
                out.append((task, rows))
        return out

    def run_count(self, stem: str) -> int:
        """Completed and failed runs of the module `stem`'s methods (variants included)."""
        names = {name for name, page in self.method_pages.items() if page == stem}
        return sum(1 for r in self.inputs.results if r.method in names)

    def planned_methods(self) -> list[str]:
        """Baselines named by the taxonomy or by papers that have no module yet."""
        return self._planned

    def _compute_planned(self) -> list[str]:
        named = set(self.taxonomy.baselines()) | {b for p in self.papers for b in p.baselines}
        return sorted(named - set(self.method_pages))

    def papers_using(self, method: str) -> list[Paper]:
        return [p for p in self.papers if method in p.baselines]

    def nodes_using(self, method: str) -> list[str]:
        return [n.id for n in self.taxonomy.nodes.values() if n.baseline == method]

    def comparison(self, paper: Paper, method: str) -> list[tuple[TaskResults, object, object | None]]:
        """Our trained-setting numbers for the paper's own `method`, per task with runs, beside
        the paper's reported accuracy for the same method and task in its main setting (None when
        it reports none): (task, our row, the paper's ReportedResult or None)."""
        if method not in paper.baselines:
            return []  # a family baseline is another method: its numbers are not this paper's
        out = []
        for task in self.results.values():
            row = next((r for r in task.leaderboard() if r.method == method), None)
            if row is None:
                continue
            names = {task.key, task.label}
            reported = next(
                (r for r in paper.results if r.method == method and r.task in names and r.metric == "accuracy" and not r.setting),
                None,
            )
            out.append((task, row, reported))
        return out


def _add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month `months` after (or before) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)
