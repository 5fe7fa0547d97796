"""The controlled tag vocabulary (catalog/tags.yaml)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog import TAGS_FILE
from catalog.problems import CatalogError, Problem
from catalog.taxonomy import SLUG_PATTERN


class TagsFile(BaseModel):
    """tags.yaml: display groups, each mapping tag id -> one-line description."""

    model_config = ConfigDict(extra="forbid")

    groups: dict[str, dict[str, str]] = Field(min_length=1, description="group -> {tag id: description}")


@dataclass(frozen=True)
class Tag:
    id: str
    group: str
    description: str


def read_tags(path: str | os.PathLike[str] = TAGS_FILE) -> tuple[dict[str, Tag] | None, list[Problem]]:
    """Parse and validate tags.yaml; the dict is None when there are errors."""
    from catalog.schema_errors import schema_problems
    from catalog.yamlsource import read_yaml

    source = read_yaml(path)
    problems = list(source.problems)
    if source.data is None or problems:
        return None, problems
    try:
        spec = TagsFile.model_validate(source.data)
    except ValidationError as exc:
        return None, problems + schema_problems(exc, source, TagsFile)
    tags: dict[str, Tag] = {}
    for group, members in spec.groups.items():
        for tag_id, description in members.items():
            loc = ("groups", group, tag_id)
            if not re.match(SLUG_PATTERN, tag_id):
                problems.append(
                    Problem(source.path, source.line_of(loc, key=True), f"groups.{group}.{tag_id}",
                            "malformed tag id: use lowercase words joined by hyphens")
                )  # fmt: skip
            elif tag_id in tags:
                problems.append(
                    Problem(source.path, source.line_of(loc, key=True), f"groups.{group}.{tag_id}",
                            f"duplicate tag '{tag_id}' (also in group '{tags[tag_id].group}')")
                )  # fmt: skip
            elif not description.strip():
                problems.append(Problem(source.path, source.line_of(loc), f"groups.{group}.{tag_id}", "empty description"))
            else:
                tags[tag_id] = Tag(id=tag_id, group=group, description=description.strip())
    return (None if problems else tags), problems


def load_tags(path: str | os.PathLike[str] = TAGS_FILE) -> dict[str, Tag]:
    """Load tags.yaml as {tag id: Tag}; raises CatalogError listing every problem when invalid."""
    tags, problems = read_tags(path)
    if tags is None:
        raise CatalogError(problems)
    return tags
