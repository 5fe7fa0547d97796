"""Shared by the catalog tests: a valid paper text and a throw-away catalog folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from catalog import TAGS_FILE, TAXONOMY_FILE
from catalog.problems import Problem
from catalog.validate import check

# A minimal valid paper; tests change one thing at a time.
VALID = """\
# yaml-language-server: $schema=../schema.json
id: smith2024looped
title: Looped Transformers Think in Circles
authors:
  - Ada Smith
  - Bo Chen
date: 2024-05-01
venue: ICLR 2025
arxiv: "2405.01234"
code:
  - url: https://github.com/example/looped
    official: true
taxonomy: [architectural-recurrence]
tags: [looped-transformer, math]
tldr: >-
  A looped transformer applies one block many times and solves longer arithmetic than it saw.
baselines: [looped]
"""


@dataclass
class TmpCatalog:
    """A catalog under tmp_path: papers/, taxonomy.yaml, tags.yaml, methods/ (with looped.py)."""

    root: Path

    @property
    def papers(self) -> Path:
        return self.root / "papers"

    @property
    def taxonomy(self) -> Path:
        return self.root / "taxonomy.yaml"

    @property
    def tags(self) -> Path:
        return self.root / "tags.yaml"

    @property
    def methods(self) -> Path:
        return self.root / "methods"

    def add(self, name: str, text: str | bytes) -> Path:
        path = self.papers / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def check(self) -> list[Problem]:
        return check(self.papers, self.taxonomy, self.tags, self.methods)

    def lines(self) -> list[str]:
        return [str(p) for p in self.check()]

    def kwargs(self) -> dict[str, Path]:
        return {"papers_dir": self.papers, "taxonomy_file": self.taxonomy, "tags_file": self.tags, "methods_dir": self.methods}


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def make_catalog(root: Path) -> TmpCatalog:
    catalog = TmpCatalog(root)
    catalog.papers.mkdir()
    catalog.methods.mkdir()
    for name in ("base.py", "__init__.py", "looped.py", "coconut.py"):
        (catalog.methods / name).write_text("", encoding="utf-8")
    shutil.copy(TAXONOMY_FILE, catalog.taxonomy)
    shutil.copy(TAGS_FILE, catalog.tags)
    return catalog
