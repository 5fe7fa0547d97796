"""Fixtures for catalog tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_helpers import TmpCatalog, make_catalog


@pytest.fixture
def cat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TmpCatalog:
    """A catalog under tmp_path (real taxonomy and tags; methods looped and coconut); cwd is
    tmp_path, so problems print as papers/<file>:<line>: ..."""
    monkeypatch.chdir(tmp_path)
    return make_catalog(tmp_path)
