"""Results as the pages write them: accuracy cells with their spread and the too-short label,
knob names in words, the rows of the accuracy bar chart."""

from __future__ import annotations

from markupsafe import Markup

from atlas.results import Row
from atlas.text import md_escape

SHORT_NOTE = Markup(
    '<span class="atlas-short" title="a short-suite run: it shows that the method runs end to end; '
    'its budget is too small for the accuracy to mean anything">too short to mean anything</span>'
)


KNOB_WORDS = {
    "thoughts": "continuous thoughts",
    "latents": "latent steps",
    "pauses": "pause tokens",
    "loops": "loop iterations",
    "steps": "denoising steps",
}


def knob_words(knob: str) -> str:
    """A compute knob's name in words, for axis labels."""
    return KNOB_WORDS.get(knob, knob.replace("_", " "))


def shortened_note(text: str) -> Markup:
    return Markup('<span class="atlas-short" title="trained for less than its suite\'s budget">shortened: {}</span>').format(text)


def accuracy_cell(row: Row) -> Markup:
    """'49.8', '85.5 ± 2.1' over seeds, with the too-short or shortened label where it applies."""
    text = f"{row.accuracy:.1f}" + (f" ± {row.std:.1f}" if row.std is not None else "")
    note = SHORT_NOTE if row.too_short else shortened_note(row.shortened) if row.shortened else None
    return md_escape(text) + (Markup(" ") + note if note else Markup(""))


def interval_cell(row: Row) -> Markup:
    return md_escape(f"{row.ci[0]:.1f}–{row.ci[1]:.1f}") if row.ci else md_escape("– (one seed)")


def leaderboard_bars(board: list[Row]) -> list[tuple[str, float, tuple[float, float] | None, bool]]:
    """The rows of `charts.accuracy_bars` for a leaderboard."""
    return [
        (row.method + (f" ({row.knob}={row.knob_value})" if row.knob else ""), row.accuracy, row.ci, row.too_short)
        for row in board
    ]
