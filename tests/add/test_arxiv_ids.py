"""arXiv ids in every common form -> the canonical id and the version asked for."""

from __future__ import annotations

import pytest

from catalog.arxiv_client import ArxivId, parse_arxiv_id, version_of, versionless


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2412.06769", ArxivId("2412.06769")),
        ("2412.06769v2", ArxivId("2412.06769", 2)),
        ("arXiv:2412.06769", ArxivId("2412.06769")),
        ("arxiv:2412.06769v12", ArxivId("2412.06769", 12)),
        ("  2412.06769\n", ArxivId("2412.06769")),
        ("https://arxiv.org/abs/2412.06769", ArxivId("2412.06769")),
        ("https://arxiv.org/abs/2412.06769v3", ArxivId("2412.06769", 3)),
        ("http://arxiv.org/abs/2412.06769/", ArxivId("2412.06769")),
        ("arxiv.org/abs/2412.06769", ArxivId("2412.06769")),
        ("https://www.arxiv.org/abs/2412.06769?context=cs", ArxivId("2412.06769")),
        ("https://export.arxiv.org/abs/2412.06769#S3", ArxivId("2412.06769")),
        ("https://arxiv.org/pdf/2412.06769", ArxivId("2412.06769")),
        ("https://arxiv.org/pdf/2412.06769v2", ArxivId("2412.06769", 2)),
        ("https://arxiv.org/pdf/2412.06769v2.pdf", ArxivId("2412.06769", 2)),
        ("https://arxiv.org/pdf/2412.06769.pdf", ArxivId("2412.06769")),
        ("https://arxiv.org/html/2412.06769v1", ArxivId("2412.06769", 1)),
        ("0704.0001", ArxivId("0704.0001")),  # the first new-style id (four digits until 2014)
        ("1412.9999v1", ArxivId("1412.9999", 1)),
        ("cs/0601001", ArxivId("cs/0601001")),
        ("cs/0601001v1", ArxivId("cs/0601001", 1)),
        ("arXiv:hep-th/9711200v3", ArxivId("hep-th/9711200", 3)),
        ("math.GT/0309136", ArxivId("math/0309136")),  # the subject class is not part of the id
        ("https://arxiv.org/abs/math.GT/0309136v2", ArxivId("math/0309136", 2)),
        ("https://arxiv.org/pdf/cs/0601001v1.pdf", ArxivId("cs/0601001", 1)),
        ("cond-mat/9901001", ArxivId("cond-mat/9901001")),
    ],
)
def test_parse_arxiv_id_accepts_common_forms(text: str, expected: ArxivId) -> None:
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "not an arXiv id"),
        ("coconut", "not an arXiv id"),
        ("2412.676", "not an arXiv id"),  # too few digits
        ("2412.6769", "5 digits"),
        ("2412.0676", "5 digits"),  # 2015 onwards: five digits after the dot
        ("1203.12345", "4 digits"),  # before 2015: four
        ("2413.06769", "year-month"),  # month 13
        ("0612.1234", "year-month"),  # new-style ids start in April 2007
        ("cs/0613001", "year-month"),
        ("https://example.org/abs/2412.06769", "not an arXiv id"),
        ("https://arxiv.org/list/cs.CL/recent", "not an arXiv id"),
        ("10.48550/arXiv.2412.06769", "not an arXiv id"),
    ],
)
def test_parse_arxiv_id_rejects_with_the_input_named(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_arxiv_id(text)
    assert repr(text) in str(info.value)
    assert reason in str(info.value)


def test_entry_ids_from_the_api() -> None:
    assert versionless("http://arxiv.org/abs/2412.06769v2") == "2412.06769"
    assert versionless("http://arxiv.org/abs/hep-th/9711200v3") == "hep-th/9711200"
    assert version_of("http://arxiv.org/abs/hep-th/9711200v3") == 3
    assert version_of("http://arxiv.org/abs/2412.06769v12") == 12
    assert version_of("http://arxiv.org/abs/2412.06769") is None
