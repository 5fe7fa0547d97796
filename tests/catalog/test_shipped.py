"""Every YAML file the project ships loads and validates, and the JSON schemas are current."""

from __future__ import annotations

import pytest

from catalog import PAPERS_DIR, SCHEMA_FILE, TAGS_FILE, TAXONOMY_FILE
from catalog.load import load_catalog
from catalog.schema import TAXONOMY_SCHEMA_FILE, paper_schema, render, taxonomy_schema
from catalog.tags import load_tags
from catalog.taxonomy import load_taxonomy
from catalog.validate import check_bytes

PAPER_FILES = sorted(PAPERS_DIR.glob("*.y*ml"))


def test_taxonomy_loads():
    taxonomy = load_taxonomy(TAXONOMY_FILE)
    assert taxonomy.roots and all(root in taxonomy.nodes for root in taxonomy.roots)
    for node in taxonomy.nodes.values():
        assert node.name and node.description
        assert all(taxonomy.nodes[child].parent == node.id for child in node.children)


def test_taxonomy_survey_sections_are_unique():
    """A survey section is followed by one node at most; the others are the catalog's own."""
    taxonomy = load_taxonomy(TAXONOMY_FILE)
    sections = [node.survey for node in taxonomy.nodes.values() if node.survey]
    assert len(sections) == len(set(sections)), sorted(s for s in sections if sections.count(s) > 1)


def test_tags_load():
    tags = load_tags(TAGS_FILE)
    assert tags and all(t.description and t.group for t in tags.values())


@pytest.mark.parametrize("path", PAPER_FILES, ids=[p.name for p in PAPER_FILES])
def test_paper_file_is_valid(path):
    errors = [str(p) for p in check_bytes(path.read_bytes(), path) if p.is_error]
    assert not errors, "\n".join(errors)


def test_whole_catalog_loads():
    catalog = load_catalog()
    assert "hao2024training" in catalog.by_id
    assert all((PAPERS_DIR / f"{paper.id}.yaml").is_file() for paper in catalog.papers)


def test_committed_schemas_are_current():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render(paper_schema()), "run `latent check --write-schema`"
    assert TAXONOMY_SCHEMA_FILE.read_text(encoding="utf-8") == render(taxonomy_schema()), "run `latent check --write-schema`"


def test_shipped_files_point_editors_at_the_schemas():
    assert TAXONOMY_FILE.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=./taxonomy.schema.json")
    assert (PAPERS_DIR / "hao2024training.yaml").read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=../schema.json")
