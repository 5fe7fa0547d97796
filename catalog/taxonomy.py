"""The category tree (catalog/taxonomy.yaml): loading, validation and navigation."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog import TAXONOMY_FILE
from catalog.problems import CatalogError, Problem, errors
from catalog.yamlsource import Source, read_yaml

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
SECTION_PATTERN = r"^\d+(\.\d+)*$"


class NodeSpec(BaseModel):
    """A node as written in taxonomy.yaml."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Annotated[str, Field(pattern=SLUG_PATTERN, description="Stable id used by papers (lowercase, hyphens).")]
    name: Annotated[str, Field(min_length=1, description="Display name.")]
    description: Annotated[str, Field(min_length=1, description="One line, in our own words.")]
    survey: Annotated[str, Field(pattern=SECTION_PATTERN)] | None = Field(
        default=None, description="Section of the survey (arXiv 2507.06203) this node follows, e.g. \"3.1.2\"."
    )
    survey_note: Annotated[str, Field(min_length=1)] | None = Field(
        default=None,
        description="One line on how the node relates to the survey: for a node of ours without a `survey` "
        "section, where the survey discusses its papers; for a node with one, anything a reader should know.",
    )
    baseline: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")] | None = Field(
        default=None, description="The method in baselines/methods/ that represents this family."
    )
    children: list["NodeSpec"] = Field(default_factory=list, description="Sub-categories.")


class TaxonomyFile(BaseModel):
    """The whole taxonomy.yaml file."""

    model_config = ConfigDict(extra="forbid")

    nodes: list[NodeSpec] = Field(min_length=1, description="Top-level nodes, in display order.")


@dataclass
class Node:
    id: str
    name: str
    description: str
    survey: str | None = None
    survey_note: str | None = None
    baseline: str | None = None
    children: list[str] = field(default_factory=list)
    parent: str | None = None


@dataclass
class Taxonomy:
    """`nodes` in file order (depth first); `roots` are the top-level ids in file order."""

    nodes: dict[str, Node]
    roots: list[str]

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nodes

    def path(self, node_id: str) -> list[Node]:
        """The nodes from the root down to `node_id` (for breadcrumbs)."""
        chain = []
        current: str | None = node_id
        while current is not None:
            node = self.nodes[current]
            chain.append(node)
            current = node.parent
        return chain[::-1]

    def descendants(self, node_id: str) -> list[str]:
        """All ids below `node_id` (not itself), depth first in file order."""
        out: list[str] = []
        stack = list(reversed(self.nodes[node_id].children))
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self.nodes[current].children))
        return out

    def top_level(self, node_id: str) -> str:
        return self.path(node_id)[0].id

    def baselines(self) -> set[str]:
        return {n.baseline for n in self.nodes.values() if n.baseline}


def read_taxonomy(path: str | os.PathLike[str] = TAXONOMY_FILE) -> tuple[Taxonomy | None, list[Problem]]:
    """Parse and validate taxonomy.yaml; the Taxonomy is None when there are errors."""
    from catalog.schema_errors import schema_problems  # here to keep the import graph one-way

    source = read_yaml(path)
    problems = list(source.problems)
    if source.data is None or problems:
        return None, problems
    try:
        spec = TaxonomyFile.model_validate(source.data)
    except ValidationError as exc:
        return None, problems + schema_problems(exc, source, TaxonomyFile)
    taxonomy, tree_problems = _build(spec, source)
    problems += tree_problems
    return (None if errors(problems) else taxonomy), problems


def _build(spec: TaxonomyFile, source: Source) -> tuple[Taxonomy, list[Problem]]:
    nodes: dict[str, Node] = {}
    problems: list[Problem] = []
    # (spec, parent id, loc in the file) in depth-first file order
    stack = [(s, None, ("nodes", i)) for i, s in reversed(list(enumerate(spec.nodes)))]
    while stack:
        node_spec, parent, loc = stack.pop()
        if node_spec.id in nodes:
            line = source.line_of((*loc, "id"))
            problems.append(Problem(source.path, line, _dotted(loc) + ".id", f"duplicate node id '{node_spec.id}'"))
            continue
        nodes[node_spec.id] = Node(
            id=node_spec.id,
            name=node_spec.name,
            description=node_spec.description,
            survey=node_spec.survey,
            survey_note=node_spec.survey_note,
            baseline=node_spec.baseline,
            children=[c.id for c in node_spec.children],
            parent=parent,
        )
        children = list(enumerate(node_spec.children))
        stack.extend((c, node_spec.id, (*loc, "children", i)) for i, c in reversed(children))
    roots = list(dict.fromkeys(s.id for s in spec.nodes))
    for node in nodes.values():  # a duplicate may have left a dangling child list entry
        node.children = list(dict.fromkeys(node.children))
    return Taxonomy(nodes=nodes, roots=roots), problems


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def load_taxonomy(path: str | os.PathLike[str] = TAXONOMY_FILE) -> Taxonomy:
    """Load taxonomy.yaml; raises CatalogError listing every problem when it is invalid."""
    taxonomy, problems = read_taxonomy(path)
    if taxonomy is None:
        raise CatalogError(problems)
    return taxonomy
