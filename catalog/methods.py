"""The baseline methods the catalog knows about: baselines/registry.py's names.

Found by reading the method files (the registry uses `ast`), never by importing them (that
would import torch): a paper's `baselines:` may name a method file (`coconut`) or any method it
registers (a variant such as `coconut_pause_as_thought`).
"""

from __future__ import annotations

import os
from pathlib import Path

from baselines import registry
from catalog import METHODS_DIR

NOT_METHODS = registry.NOT_REGISTERED


def known_methods(methods_dir: str | os.PathLike[str] = METHODS_DIR) -> set[str]:
    """Names of the implemented methods in `methods_dir` (variants included); for the package's
    own folder, also those of the folders named by LATENT_METHOD_DIRS."""
    folder = Path(methods_dir).resolve()
    folders = registry.method_dirs() if folder == registry.METHODS_DIR else [folder]
    try:
        return registry.method_names(folders)
    except registry.RegistryError:
        # a method file that does not parse: its file name still names it; the harness says what is wrong
        return {p.stem for f in folders for p in registry.module_files(f)}
