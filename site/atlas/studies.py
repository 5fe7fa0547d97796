"""What a study page shows, taken from the study's folder (atlas/inputs.py reads it).

Summaries differ per study; the page reads only what several share: the README (title, first
paragraph), a `provenance` object, `command`, `note`, `quick`, and the `n` (seeds) of every
`accuracy` object wherever it sits in the summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from atlas.inputs import Study

MIN_SEEDS = 3  # fewer seeds than this anywhere in a summary: the study is incomplete
RESULTS, NOT_RUN, INCOMPLETE = "results", "not run yet", "incomplete"
# (label, key in `provenance`, key at the top level of the summary when there is no provenance)
PROVENANCE_FIELDS = [
    ("Devices", "devices", "device"),
    ("Git commits", "git_commits", "git_commit"),
    ("Precision", "precision", "precision"),
    ("Selection rule", "selection", "model_selection"),
    ("Budget", "budget", "budget"),
    ("Data", "data", "data"),
]


@dataclass
class StudyPage:
    study: Study
    title: str
    description: str  # the README's first paragraph (Markdown), "" when there is no README
    intro: str  # the README's first block when it is a paragraph (shown above the results)
    body: str  # the rest of the README (its title line and intro left out)
    plots: list[tuple[str, str]]  # (file name, what it shows: the README's words, else a default)
    status: str  # RESULTS, NOT_RUN or INCOMPLETE
    min_seeds: int | None  # the smallest `n` of an accuracy in the summary
    provenance: list[tuple[str, str]]  # (label, value as text)
    command: str
    note: str
    quick: bool  # the summary says it is a quick smoke run

    @property
    def status_text(self) -> str:
        """The status as the Results index shows it: 'incomplete (2 seeds)'."""
        if self.status == INCOMPLETE:
            return f"{INCOMPLETE} ({self.min_seeds} seed{'' if self.min_seeds == 1 else 's'})"
        return self.status

    @property
    def src(self) -> str:
        return f"results/studies/{self.study.name}/index.md"


def study_page(study: Study) -> StudyPage:
    title, readme = split_title(study.readme)
    intro, body = split_intro(readme)
    summary = study.summary or {}
    seeds = min_seeds(summary)
    if not study.has_results:
        status = NOT_RUN
    elif seeds is not None and seeds < MIN_SEEDS:
        status = INCOMPLETE
    else:
        status = RESULTS
    return StudyPage(
        study=study,
        title=title or study.name,
        description=first_paragraph(readme),
        intro=intro,
        body=body,
        plots=[(name, plot_caption(study.readme, name) or f"{title or study.name}: plot {name}") for name in study.plots],
        status=status,
        min_seeds=seeds,
        provenance=provenance(summary),
        command=_text(summary.get("command")),
        note=_text(summary.get("note")),
        quick=summary.get("quick") is True,
    )


def split_title(readme: str) -> tuple[str, str]:
    """('Title', the rest) when the README starts with a '# Title' line (code marks dropped from
    the title), else ('', readme)."""
    lines = readme.lstrip("\n").split("\n")
    if lines and lines[0].startswith("# "):
        return lines[0][2:].replace("`", "").strip(), "\n".join(lines[1:]).strip("\n")
    return "", readme


def split_intro(markdown: str) -> tuple[str, str]:
    """(first block, the rest) when the first block is a paragraph of prose, else ('', markdown)."""
    blocks = re.split(r"\n[ \t]*\n", markdown.strip("\n"), maxsplit=1)
    first = blocks[0].lstrip()
    if not first or first.startswith(("#", "-", "*", "|", "    ", "```", "<", ">")) or re.match(r"\d+\.\s", first):
        return "", markdown
    return blocks[0], blocks[1] if len(blocks) > 1 else ""


def first_paragraph(markdown: str) -> str:
    """The first paragraph of prose (headings skipped), on one line."""
    for block in re.split(r"\n\s*\n", markdown.strip()):
        if block.strip() and not block.lstrip().startswith("#"):
            return " ".join(block.split())
    return ""


def plot_caption(readme: str, name: str) -> str:
    """What the README says a plot shows: the text after the colon that follows its file name (as
    in "`ladder.svg` / `ladder.png`: test accuracy against depth"), up to the end of its paragraph
    or list item; "" when the README does not describe it."""
    pattern = rf"`{re.escape(name)}`[^:\n]*:\s+(.+?)(?:\n[ \t]*\n|\n[ \t]*[-*] |\Z)"
    match = re.search(pattern, readme, flags=re.DOTALL)
    return " ".join(match.group(1).replace("`", "").split()) if match else ""


def min_seeds(value: object) -> int | None:
    """The smallest `n` of any `accuracy` object in the summary (None when there is none)."""
    found: list[int] = []

    def walk(item: object) -> None:
        if isinstance(item, dict):
            accuracy = item.get("accuracy")
            if isinstance(accuracy, dict) and isinstance(accuracy.get("n"), int):
                found.append(accuracy["n"])
            for child in item.values():
                walk(child)
        elif isinstance(item, list):
            for child in item:
                walk(child)

    walk(value)
    return min(found) if found else None


def provenance(summary: dict) -> list[tuple[str, str]]:
    """The provenance fields present, from the summary's `provenance` object or its top level."""
    source = summary.get("provenance")
    out = []
    for label, key, top_key in PROVENANCE_FIELDS:
        value = source.get(key) if isinstance(source, dict) else summary.get(top_key)
        if value not in (None, "", [], {}):
            out.append((label, _text(value)))
    if isinstance(source, dict) and source.get("git_dirty") is True:
        out.append(("Working tree", "uncommitted changes when run"))
    return out


def _text(value: object) -> str:
    """A summary value as one line of text: lists joined with commas, objects as key: value."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value)
