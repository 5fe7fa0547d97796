"""JSON Schemas generated from the models, for editors (yaml-language-server) and CI.

`latent check --write-schema` writes catalog/schema.json (papers) and
catalog/taxonomy.schema.json (taxonomy.yaml); a test checks that the committed files are current.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from catalog import ROOT, SCHEMA_FILE
from catalog.io import atomic_write_text

TAXONOMY_SCHEMA_FILE = ROOT / "taxonomy.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def paper_schema() -> dict:
    from catalog.model import Paper

    return {"$schema": DRAFT, **Paper.model_json_schema()}


def taxonomy_schema() -> dict:
    from catalog.taxonomy import TaxonomyFile

    return {"$schema": DRAFT, **TaxonomyFile.model_json_schema()}


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(
    paper_file: str | os.PathLike[str] | None = None,
    taxonomy_file: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Write both schemas (by default to catalog/schema.json and catalog/taxonomy.schema.json)."""
    return [
        atomic_write_text(paper_file or SCHEMA_FILE, render(paper_schema())),
        atomic_write_text(taxonomy_file or TAXONOMY_SCHEMA_FILE, render(taxonomy_schema())),
    ]
