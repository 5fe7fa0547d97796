"""catalog/excluded.yaml: records left out on purpose cannot come back silently."""

from __future__ import annotations

import yaml

from catalog import ROOT
from catalog_helpers import VALID

NAME = "smith2024looped.yaml"


def write_excluded(cat, reason: str) -> None:
    records = [{"title": "Looped Transformers Think in Circles", "arxiv": "2405.01234", "reason": reason}]
    (cat.root / "excluded.yaml").write_text(yaml.safe_dump(records), encoding="utf-8")


def test_off_topic_record_is_reported_at_the_arxiv_line(cat):
    write_excluded(cat, "off-topic: time-series forecasting")
    cat.add(NAME, VALID)
    lines = [line for line in cat.lines() if line.startswith(f"papers/{NAME}")]
    assert len(lines) == 1
    assert lines[0].startswith(f"papers/{NAME}:9: arxiv: arXiv id '2405.01234' is left out on purpose")
    assert "off-topic: time-series forecasting" in lines[0]


def test_duplicate_rows_do_not_block_the_real_entry(cat):
    write_excluded(cat, "duplicate of smith2024looped: listed twice")
    cat.add(NAME, VALID)
    assert [line for line in cat.lines() if line.startswith("papers/")] == []


def test_unreadable_excluded_file_is_a_problem_not_a_traceback(cat):
    (cat.root / "excluded.yaml").write_text("- [unclosed\n", encoding="utf-8")
    cat.add(NAME, VALID)
    assert any("excluded" in line and "cannot read" in line for line in cat.lines())


def test_shipped_excluded_list_is_well_formed():
    records = yaml.safe_load((ROOT / "excluded.yaml").read_text(encoding="utf-8"))
    assert isinstance(records, list) and records
    for record in records:
        assert set(record) == {"title", "arxiv", "reason"}, record
        assert record["reason"].split(":")[0].startswith(("off-topic", "duplicate of", "not a paper")), record
