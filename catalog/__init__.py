"""The Latent Reasoning Atlas catalog: one YAML file per paper, validated and exported.

Nothing in this package imports torch: the catalog and the site install without the GPU stack.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
PAPERS_DIR = ROOT / "papers"
TAXONOMY_FILE = ROOT / "taxonomy.yaml"
TAGS_FILE = ROOT / "tags.yaml"
SCHEMA_FILE = ROOT / "schema.json"
REPO_ROOT = ROOT.parent
METHODS_DIR = REPO_ROOT / "baselines" / "methods"
RESULTS_DIR = REPO_ROOT / "results"
