"""What an arXiv record says beyond its fields: venue hints, code links, DOI, withdrawal."""

from __future__ import annotations

import datetime as dt

import arxiv
import pytest

from catalog.arxiv_client import WithdrawnError, check_not_withdrawn, code_links, first_doi, venue_from


@pytest.mark.parametrize(
    "comment, journal_ref, expected",
    [
        ("Accepted at ICLR 2025", None, "ICLR 2025"),
        ("Accepted to ICML 2024. 9 pages, 4 figures", None, "ICML 2024"),
        ("NeurIPS 2024 (spotlight)", None, "NeurIPS 2024"),
        ("Published in TMLR", None, "TMLR 2023"),  # no year: the latest version's year
        ("Published in Transactions on Machine Learning Research (01/2025)", None, "TMLR 2025"),
        ("ACL 2025 Findings", None, "ACL 2025 Findings"),
        ("Findings of ACL 2024; code at https://github.com/a/b", None, "ACL 2024 Findings"),
        ("Published at ICLR2019", None, "ICLR 2019"),
        ("Camera-ready for NeurIPS'23", None, "NeurIPS 2023"),
        ("Accepted to the MATH-AI Workshop at NeurIPS 2024", None, "NeurIPS 2024 Workshop"),
        ("COLM 2024", None, "COLM 2024"),
        ("EMNLP 2023 main conference", None, "EMNLP 2023"),
        ("Accepted by NAACL 2025", None, "NAACL 2025"),
        ("ACL 2022", None, "ACL 2022"),
        ("Under review at ICLR 2025", None, "arXiv"),
        ("Submitted to NeurIPS 2024. 12 pages", None, "arXiv"),
        ("Extended version of our ICML 2023 paper", None, "arXiv"),
        ("40+32 pages", None, "arXiv"),
        ("Code: https://github.com/someone/iclr2025-looped", None, "arXiv"),  # a URL is not a venue
        (None, None, "arXiv"),
        # The journal ref comes first, then the comment.
        ("Accepted at ICLR 2025 workshop", "ICLR 2025", "ICLR 2025"),
        (None, "Findings of the Association for Computational Linguistics: EMNLP 2024", "EMNLP 2024 Findings"),
        (None, "Proceedings of the 41st International Conference on Machine Learning, PMLR 235:1-20, 2024", "ICML 2024"),
        (None, "Transactions on Machine Learning Research, 2024", "TMLR 2024"),
        # An unknown journal: its name and year.
        ("20 pages, harvmac", "Adv.Theor.Math.Phys.2:231-252,1998; Int.J.Theor.Phys.38:1113-1133,1999", "Adv.Theor.Math.Phys. 1998"),
    ],
)
def test_venue_from_comment_and_journal_ref(comment: str | None, journal_ref: str | None, expected: str) -> None:
    assert venue_from(comment, journal_ref, fallback_year=2023) == expected


def test_code_links_are_normalised_repositories() -> None:
    abstract = (
        "Code is available at https://github.com/facebookresearch/coconut. Models: "
        "huggingface.co/tomg-group-umd/huginn-0125, data at https://huggingface.co/datasets/org/set/tree/main."
    )
    comment = (
        "See \\url{https://github.com/seal-rg/recurrent-pretraining} (and github.com/seal-rg/recurrent-pretraining/tree/main/eval); "
        "mirror https://gitlab.com/group/sub/project/-/blob/main/x.py, http://www.github.com/Owner/Repo.git), "
        "profile https://github.com/someone and https://GitHub.com/FacebookResearch/Coconut"
    )
    urls = [(c.url, c.official) for c in code_links(abstract, comment)]
    assert urls == [
        ("https://github.com/facebookresearch/coconut", True),
        ("https://huggingface.co/tomg-group-umd/huginn-0125", True),
        ("https://huggingface.co/datasets/org/set", True),
        ("https://github.com/seal-rg/recurrent-pretraining", True),
        ("https://gitlab.com/group/sub/project", True),
        ("https://github.com/Owner/Repo", True),
    ]


def test_code_links_none() -> None:
    assert code_links("No link here; see arxiv.org/abs/2412.06769.", None) == []


@pytest.mark.parametrize(
    "value, expected",
    [
        ("10.1023/A:1026654312961", "10.1023/A:1026654312961"),
        ("https://doi.org/10.18653/v1/2022.acl-long.375", "10.18653/v1/2022.acl-long.375"),
        ("doi:10.1145/3442188.3445922 10.1145/other", "10.1145/3442188.3445922"),
        ("not a doi", None),
        (None, None),
    ],
)
def test_first_doi(value: str | None, expected: str | None) -> None:
    assert first_doi(value) == expected


def _record(summary: str, comment: str | None = None) -> arxiv.Result:
    when = dt.datetime(2024, 1, 31, tzinfo=dt.timezone.utc)
    return arxiv.Result("http://arxiv.org/abs/2401.99999v2", updated=when, published=when, title="T",
                        summary=summary, comment=comment)  # fmt: skip


@pytest.mark.parametrize(
    "summary, comment",
    [
        ("Some abstract.", "This paper has been withdrawn by the author due to an error in Lemma 2"),
        ("", None),
        ("   \n ", "12 pages"),
        ("This paper has been withdrawn.", None),
        ("Withdrawn", None),
    ],
)
def test_withdrawn_records_are_refused(summary: str, comment: str | None) -> None:
    with pytest.raises(WithdrawnError, match="2401.99999 is withdrawn"):
        check_not_withdrawn(_record(summary, comment))


def test_ordinary_record_is_not_withdrawn() -> None:
    check_not_withdrawn(_record("We study withdrawal of funds in markets.", "12 pages"))
