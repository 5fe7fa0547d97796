"""Counts over the catalog: per taxonomy node, per top-level family, per year, per tag, code."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalog.load import Catalog


def stats(catalog: "Catalog") -> dict[str, Any]:
    """A JSON-ready summary.

    - `per_node`: papers placed directly in each node (every node listed, zeros included);
    - `per_node_total`: papers in the node or any node below it, each paper counted once;
    - `per_top_level`: papers per top-level node, a paper counted once per top-level node even
      when it sits in several of its children;
    - `per_year`, `per_tag` (every tag listed), `per_venue_kind`, `with_code` / `without_code`.
    """
    taxonomy = catalog.taxonomy
    per_node = Counter(node for p in catalog.papers for node in set(p.taxonomy))
    per_node_total: Counter[str] = Counter()
    per_top: Counter[str] = Counter()
    for paper in catalog.papers:
        covered = {n.id for node in paper.taxonomy if node in taxonomy for n in taxonomy.path(node)}
        per_node_total.update(covered)
        per_top.update({taxonomy.top_level(node) for node in paper.taxonomy if node in taxonomy})
    with_code = sum(1 for p in catalog.papers if p.code)
    return {
        "papers": len(catalog.papers),
        "per_node": {node: per_node.get(node, 0) for node in taxonomy.nodes},
        "per_node_total": {node: per_node_total.get(node, 0) for node in taxonomy.nodes},
        "per_top_level": {root: per_top.get(root, 0) for root in taxonomy.roots},
        "per_year": dict(sorted(Counter(p.year for p in catalog.papers).items())),
        "per_tag": {tag: n for tag, n in _tag_counts(catalog).items()},
        "with_code": with_code,
        "without_code": len(catalog.papers) - with_code,
        "with_baseline": sum(1 for p in catalog.papers if p.baselines),
    }


def _tag_counts(catalog: "Catalog") -> dict[str, int]:
    counts = Counter(tag for p in catalog.papers for tag in set(p.tags))
    return {tag: counts.get(tag, 0) for tag in catalog.tags}
