"""Settings shared by the whole suite."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# tests/catalog and tests/baselines are folders without __init__.py; when pytest puts tests/ on
# sys.path they could be taken for the real `catalog` and `baselines` packages (as namespace
# packages). With the repository root on sys.path the real, regular packages always win.
REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def pytest_configure(config) -> None:
    # A hub id would otherwise hang for ~25 s before failing: tests never use the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
