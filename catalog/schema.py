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
    paper_file: str | os.PathLike[str] = SCHEMA_FILE,
    taxonomy_file: str | os.PathLike[str] = TAXONOMY_SCHEMA_FILE,
) -> list[Path]:
    return [
        atomic_write_text(paper_file, render(paper_schema())),
        atomic_write_text(taxonomy_file, render(taxonomy_schema())),
    ]
