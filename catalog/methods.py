"""The baseline methods the catalog knows about: the modules in baselines/methods/.

Found by listing files, never by importing them (that would import torch).
"""

from __future__ import annotations

import os
from pathlib import Path

from catalog import METHODS_DIR

NOT_METHODS = {"base", "__init__"}


def known_methods(methods_dir: str | os.PathLike[str] = METHODS_DIR) -> set[str]:
    """Names of the implemented methods (file stems of baselines/methods/*.py)."""
    return {p.stem for p in Path(methods_dir).glob("*.py") if p.stem not in NOT_METHODS and not p.stem.startswith("_")}
