"""The papers tables: what a row carries for filtering, and the choices of the filter controls.

The table is rendered as plain HTML (it reads without JavaScript); assets/atlas-table.js turns it
into a Tabulator table (assets/vendor/tabulator) that filters on the row data attributes below
and keeps the filter in the page URL.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from catalog.model import Paper


@dataclass
class Facets:
    """The values a table's filter controls offer: only those its papers have."""

    years: list[int]  # newest first
    nodes: list[tuple[str, str, int]]  # (node id, name, depth), in taxonomy order
    tags: list[str]  # alphabetical
    venues: list[str]  # most frequent first


def covered_nodes(model, paper: Paper) -> list[str]:
    """The paper's taxonomy nodes and every node above them."""
    return list(dict.fromkeys(n.id for node in paper.taxonomy for n in model.taxonomy.path(node)))


def has_baseline(model, paper: Paper) -> bool:
    """The paper's own method is implemented in baselines/methods."""
    return any(name in model.method_pages for name in paper.baselines)


def row_attrs(model, paper: Paper) -> dict[str, str]:
    """The data attributes of a paper's table row (values are escaped by the template)."""
    return {
        "year": str(paper.year),
        "date": paper.date.isoformat(),
        "nodes": " ".join(covered_nodes(model, paper)),
        "tags": " ".join(dict.fromkeys(paper.tags)),
        "venue": paper.venue,
        "code": "1" if paper.code else "0",
        "baseline": "1" if has_baseline(model, paper) else "0",
        "arxiv": paper.arxiv or "",
    }


def facets(model, papers: list[Paper]) -> Facets:
    present = {n for p in papers for n in covered_nodes(model, p)}
    nodes: list[tuple[str, str, int]] = []

    def walk(node_id: str, depth: int) -> None:
        if node_id not in present:
            return
        node = model.taxonomy.nodes[node_id]
        nodes.append((node_id, node.name, depth))
        for child in node.children:
            walk(child, depth + 1)

    for root in model.taxonomy.roots:
        walk(root, 0)
    venues = Counter(p.venue for p in papers)
    return Facets(
        years=sorted({p.year for p in papers}, reverse=True),
        nodes=nodes,
        tags=sorted({t for p in papers for t in p.tags}),
        venues=[v for v, _ in sorted(venues.items(), key=lambda kv: (-kv[1], kv[0]))],
    )
