"""Exports that a spreadsheet opens safely, and URL fields that cannot break out of a link."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from pydantic import ValidationError

from catalog.exports import to_csv
from catalog.model import Paper

BASE = dict(id="smith2024looped", title="Looped Transformers", authors=["Ada Smith"], date=dt.date(2024, 5, 1),
            venue="ICLR 2025", arxiv="2405.01234", taxonomy=["architectural-recurrence"], tldr="Loops.")  # fmt: skip


def paper(**changes) -> Paper:
    return Paper.model_validate({**BASE, **changes})


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_cells_that_look_like_formulas_are_neutralised(start: str):
    p = paper(title=f"{start}HYPERLINK(\"http://x\")", authors=[f"{start}cmd Eve"], tldr=f"{start}1+1")
    row = next(csv.DictReader(io.StringIO(to_csv([p]))))
    assert row["title"] == f"'{start}HYPERLINK(\"http://x\")"
    assert row["authors"] == f"'{start}cmd Eve" and row["tldr"] == f"'{start}1+1"
    assert row["id"] == "smith2024looped" and row["date"] == "2024-05-01"  # ordinary cells unchanged


@pytest.mark.parametrize("bad", ['https://x.org/"onmouseover=alert(1)', "https://x.org/<script>", "https://x.org/a'b", "https://x.org/>"])
def test_url_fields_reject_angle_brackets_and_quotes(bad: str):
    with pytest.raises(ValidationError, match="url"):
        paper(url=bad)
    with pytest.raises(ValidationError, match="url"):
        paper(code=[{"url": bad, "official": True}])


def test_ordinary_urls_still_pass():
    p = paper(url="https://example.org/post?a=1&b=2#s", code=[{"url": "https://github.com/o/r", "official": True}])
    assert p.url.endswith("#s")


def test_check_names_the_file_line_and_what_a_url_may_not_hold(tmp_path):
    from catalog.load import CatalogError, load_catalog

    source = (Path(__file__).resolve().parents[1] / "fixtures" / "site_papers" / "goyal2023think.yaml").read_text(encoding="utf-8")
    assert "\nurl:" not in source
    (tmp_path / "goyal2023think.yaml").write_text(source + 'url: "https://example.org/a\\"onclick=x"\n', encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path)
    message = str(info.value)
    assert "goyal2023think.yaml:" in message and "url" in message and "angle brackets or quotes" in message
