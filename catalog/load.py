"""Load the whole catalog: every paper validated, with the taxonomy and the tag vocabulary."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from catalog import METHODS_DIR, PAPERS_DIR, TAGS_FILE, TAXONOMY_FILE
from catalog.model import Paper
from catalog.problems import CatalogError, Problem, errors
from catalog.tags import Tag
from catalog.taxonomy import Taxonomy

__all__ = ["Catalog", "CatalogError", "load_catalog"]


@dataclass
class Catalog:
    """The valid catalog. `papers` are sorted newest first (date descending, then id)."""

    papers: list[Paper]
    taxonomy: Taxonomy
    tags: dict[str, Tag]
    warnings: list[Problem] = field(default_factory=list)
    methods: set[str] = field(default_factory=set)
    by_id: dict[str, Paper] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_id = {p.id: p for p in self.papers}

    def __len__(self) -> int:
        return len(self.papers)

    def in_node(self, node_id: str, descendants: bool = True) -> list[Paper]:
        """Papers placed in `node_id` (or, by default, in any node below it)."""
        wanted = {node_id, *(self.taxonomy.descendants(node_id) if descendants else [])}
        return [p for p in self.papers if wanted.intersection(p.taxonomy)]

    def with_tag(self, tag: str) -> list[Paper]:
        return [p for p in self.papers if tag in p.tags]


def load_catalog(
    papers_dir: str | os.PathLike[str] = PAPERS_DIR,
    taxonomy_file: str | os.PathLike[str] = TAXONOMY_FILE,
    tags_file: str | os.PathLike[str] = TAGS_FILE,
    methods_dir: str | os.PathLike[str] = METHODS_DIR,
) -> Catalog:
    """Load and validate everything; raises CatalogError (with `.problems`) on any error."""
    from catalog.validate import inspect

    report = inspect(papers_dir, taxonomy_file, tags_file, methods_dir)
    if errors(report.problems) or report.taxonomy is None or report.tags is None:
        raise CatalogError(report.problems)
    return Catalog(report.papers, report.taxonomy, report.tags, report.problems, report.methods)
