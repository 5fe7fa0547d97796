"""`latent add`, run in-process against recorded arXiv answers (fake clock: no waiting)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from recorded_arxiv import COCONUT_ENTRY, Answer, RecordedArxiv, snapshot

from catalog.arxiv_client import ArxivClient
from catalog.arxiv_import import DuplicateError, plan_additions, write_additions
from catalog.validate import check
from scripts.latent import main

pytestmark = pytest.mark.usefixtures("use_client")


def add(papers: Path, *args: str) -> int:
    return main(["add", *args, "--papers-dir", str(papers)])


def read(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_multi_version_paper(papers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(papers, "https://arxiv.org/pdf/2412.06769v1.pdf") == 0
    entry = read(papers / "hao2024training.yaml")
    assert entry["date"].isoformat() == "2024-12-09"  # the first version's date ...
    assert entry["arxiv_version"] == 2  # ... and the latest version, whatever version was asked for
    assert entry["arxiv"] == "2412.06769"
    assert entry["authors"] == ["Shibo Hao", "Sainbayar Sukhbaatar", "DiJia Su", "Xian Li", "Zhiting Hu", "Jason Weston", "Yuandong Tian"]
    assert entry["venue"] == "arXiv"
    out = capsys.readouterr().out
    assert "wrote" in out and "hao2024training.yaml" in out


def test_placeholders_are_written_and_reported(papers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(papers, "2005.14165") == 0
    path = papers / "brown2020language.yaml"
    entry = read(path)
    assert entry["taxonomy"] == ["TODO"] and entry["tldr"] == "TODO"
    assert "tags" not in entry or entry["tags"] == []
    out = capsys.readouterr().out
    assert "still to fill in (marked TODO): taxonomy, tldr" in out
    assert "latent check" in out
    todo = [p for p in check(papers) if p.file == path and "still to fill in" in p.message]
    assert {p.field for p in todo} == {"taxonomy[0]", "tldr"} and all(p.is_error for p in todo)


def test_many_authors_in_order(papers: Path) -> None:
    assert add(papers, "arXiv:2005.14165") == 0
    authors = read(papers / "brown2020language.yaml")["authors"]
    assert len(authors) == 31
    assert authors[0] == "Tom B. Brown" and authors[12] == "Gretchen Krueger" and authors[-1] == "Dario Amodei"


def test_old_style_id_with_doi_and_journal_ref(papers: Path) -> None:
    assert add(papers, "hep-th/9711200v1") == 0
    entry = read(papers / "maldacena1997large.yaml")
    assert entry["arxiv"] == "hep-th/9711200"
    assert entry["doi"] == "10.1023/A:1026654312961"
    assert entry["venue"] == "Adv.Theor.Math.Phys. 1998"
    assert entry["arxiv_version"] == 3
    assert entry["date"].isoformat() == "1997-11-27"


def test_unicode_names_latex_title_venue_and_code_in_one_request(papers: Path, api: RecordedArxiv) -> None:
    assert add(papers, "1807.03819", "https://arxiv.org/abs/2109.00301v2") == 0
    assert len(api.requests) == 1 and api.requests[0].params["id_list"] == "1807.03819,2109.00301"
    ut = read(papers / "dehghani2018universal.yaml")
    assert ut["authors"][-1] == "Łukasz Kaiser"
    assert ut["venue"] == "ICLR 2019"
    infinity = read(papers / "martins2021infty.yaml")
    assert infinity["title"] == r"$\infty$-former: Infinite Memory Transformer"
    assert infinity["authors"][-1] == "André F. T. Martins"
    assert infinity["venue"] == "ACL 2022"
    assert infinity["code"] == [{"url": "https://github.com/deep-spin/infinite-former", "official": True}]
    assert "Łukasz Kaiser" in (papers / "dehghani2018universal.yaml").read_text(encoding="utf-8")  # not escaped


def test_options_fill_taxonomy_tags_and_tldr(papers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tldr = "A recurrent block iterated at test time; more iterations buy more reasoning."
    assert add(papers, "2502.05171", "--taxonomy", "architectural-recurrence", "--taxonomy", "recurrence-training",
               "--tag", "recurrent-depth", "--tag", "test-time-scaling", "--tldr", tldr) == 0  # fmt: skip
    entry = read(papers / "geiping2025scaling.yaml")
    assert entry["taxonomy"] == ["architectural-recurrence", "recurrence-training"]
    assert entry["tags"] == ["recurrent-depth", "test-time-scaling"]
    assert entry["tldr"] == tldr
    assert entry["code"] == [
        {"url": "https://huggingface.co/tomg-group-umd/huginn-0125", "official": True},
        {"url": "https://github.com/seal-rg/recurrent-pretraining", "official": True},
    ]
    assert "TODO" not in capsys.readouterr().out
    assert [p for p in check(papers) if p.is_error] == []


def test_dry_run_prints_yaml_and_writes_nothing(papers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(papers, "2303.12712", "--dry-run") == 0
    assert snapshot(papers) == {}
    out = capsys.readouterr().out
    assert "dry run: not written" in out
    body = yaml.safe_load(out)
    assert body["id"] == "bubeck2023sparks" and body["authors"][0] == "Sébastien Bubeck"


def test_unknown_vocabulary_is_refused_before_any_request(papers: Path, api: RecordedArxiv, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(papers, "2502.05171", "--taxonomy", "looped", "--tag", "recurent-depth") == 1
    err = capsys.readouterr().err
    assert "unknown taxonomy node 'looped'" in err
    assert "unknown tag 'recurent-depth' (did you mean 'recurrent-depth'?)" in err
    assert api.requests == [] and snapshot(papers) == {}


def test_tldr_needs_a_single_id(papers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(papers, "2502.05171", "2005.14165", "--tldr", "Something.") == 1
    assert "single ID" in capsys.readouterr().err and snapshot(papers) == {}


def test_bad_id_is_named(papers: Path, api: RecordedArxiv, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(papers, "2502.05171", "coconut") == 1
    assert "'coconut' is not an arXiv id" in capsys.readouterr().err
    assert api.requests == [] and snapshot(papers) == {}


# --- duplicates ----------------------------------------------------------------------------------


def test_same_arxiv_id_is_refused_and_the_file_named(papers: Path, api: RecordedArxiv, capsys: pytest.CaptureFixture[str]) -> None:
    (papers / "hao2024training.yaml").write_text(COCONUT_ENTRY, encoding="utf-8")
    before = snapshot(papers)
    assert add(papers, "arXiv:2412.06769v1") == 1
    err = capsys.readouterr().err
    assert "arXiv:2412.06769 is already in the catalog" in err and "hao2024training.yaml" in err
    assert "nothing was written" in err
    assert api.requests == [] and snapshot(papers) == before


def test_same_title_is_refused(papers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = COCONUT_ENTRY.replace('arxiv: "2412.06769"', 'arxiv: "2412.00001"').replace(
        "title: Training Large Language Models to Reason in a Continuous Latent Space",
        "title: 'Training large language models to reason in a continuous latent space.'",
    )
    text = text.replace("id: hao2024training", "id: someone2024training")
    assert "2412.00001" in text and "latent space." in text and "someone2024training" in text
    (papers / "someone2024training.yaml").write_text(text, encoding="utf-8")
    before = snapshot(papers)
    assert add(papers, "2412.06769") == 1
    err = capsys.readouterr().err
    assert "same title as" in err and "someone2024training.yaml" in err
    assert snapshot(papers) == before


def test_near_identical_title_is_refused_unless_allowed(papers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (papers / "other2020language.yaml").write_text(
        "id: other2020language\ntitle: Language Models are Few-Shot Learner\nauthors: [A B]\ndate: 2020-01-01\n"
        "venue: arXiv\nurl: https://example.org\ntaxonomy: [token-level]\ntldr: Something.\n",
        encoding="utf-8",
    )
    before = snapshot(papers)
    assert add(papers, "2005.14165") == 1
    err = capsys.readouterr().err
    assert "near-identical title" in err and "other2020language.yaml" in err and "--allow-similar-title" in err
    assert snapshot(papers) == before
    assert add(papers, "2005.14165", "--allow-similar-title") == 0
    assert (papers / "brown2020language.yaml").exists()


def test_id_clash_gets_a_suffix(papers: Path) -> None:
    (papers / "brown2020language.yaml").write_text("id: brown2020language\ntitle: Another paper\n", encoding="utf-8")
    assert add(papers, "2005.14165") == 0
    assert read(papers / "brown2020languageb.yaml")["id"] == "brown2020languageb"


# --- all or nothing ------------------------------------------------------------------------------


def test_batch_with_one_bad_paper_writes_none(papers: Path, api: RecordedArxiv, capsys: pytest.CaptureFixture[str]) -> None:
    api.script = [Answer(fixture="2502.05171.xml")]  # the answer to both ids has only one record
    assert add(papers, "2502.05171", "2412.99999") == 1
    assert "no record for 2412.99999" in capsys.readouterr().err
    assert len(api.requests) == 1 and api.requests[0].params["id_list"] == "2502.05171,2412.99999"
    assert snapshot(papers) == {}


def test_batch_with_a_withdrawn_paper_writes_none(papers: Path, use_client: ArxivClient, capsys: pytest.CaptureFixture[str]) -> None:
    use_client.page_size = 1  # one request per id: both records arrive
    assert add(papers, "2502.05171", "2401.99999") == 1
    err = capsys.readouterr().err
    assert "arXiv:2401.99999 is withdrawn" in err and "nothing was written" in err
    assert snapshot(papers) == {}


def test_write_failure_removes_what_was_written(papers: Path, client: ArxivClient) -> None:
    additions = plan_additions(["1807.03819", "2109.00301"], papers, client)
    (papers / "martins2021infty.yaml").write_text("appeared meanwhile\n", encoding="utf-8")
    with pytest.raises(DuplicateError, match="martins2021infty.yaml already exists"):
        write_additions(additions, papers)
    assert snapshot(papers) == {"martins2021infty.yaml": b"appeared meanwhile\n"}


# --- network failures: a clear message, a non-zero exit, no file ---------------------------------


@pytest.mark.parametrize(
    "script, message",
    [
        ([Answer(status=503)] * 3, "did not answer usefully after 3 tries (last: HTTP 503)"),
        ([Answer(status=429, headers={"Retry-After": "86400"})], "asks us to come back in 86400 s"),
        ([Answer(fixture="empty.xml")], "arXiv has no record for 2502.05171"),
        ([Answer(fixture="error.xml")], "arXiv API error: incorrect id format"),
        ([Answer(status=400, fixture="error.xml")], "HTTP 400: incorrect id format"),
        ([Answer(fixture="malformed.xml")], "malformed XML"),
        ([Answer(body=b"")], "answered with an empty document"),
        ([Answer(fixture="2401.99999.xml")], "no record for 2502.05171"),  # an answer about another paper
    ],
    ids=["503-give-up", "retry-after-too-long", "unknown-id", "error-entry", "http-400", "malformed", "empty-body", "wrong-paper"],
)
def test_failures_write_nothing(papers: Path, api: RecordedArxiv, capsys: pytest.CaptureFixture[str], script: list[Answer], message: str) -> None:
    api.script = list(script)
    assert add(papers, "2502.05171", "--retries", "2") == 1
    err = capsys.readouterr().err
    assert message in err and "nothing was written" in err
    assert "Traceback" not in err
    assert snapshot(papers) == {}


def test_withdrawn_paper_is_refused(papers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(papers, "2401.99999") == 1
    assert "arXiv:2401.99999 is withdrawn (This paper has been withdrawn by the authors" in capsys.readouterr().err
    assert snapshot(papers) == {}


@pytest.mark.parametrize(
    "script",
    [
        [Answer(fixture="2502.05171.xml", delay=1.5)],  # a timeout, then the answer
        [Answer(status=429, headers={"Retry-After": "5"})],
        [Answer(status=503), Answer(status=502)],
    ],
    ids=["timeout", "429", "5xx"],
)
def test_transient_failures_then_success(papers: Path, api: RecordedArxiv, script: list[Answer]) -> None:
    api.script = list(script)
    assert add(papers, "2502.05171", "--timeout", "0.2") == 0
    assert read(papers / "geiping2025scaling.yaml")["arxiv"] == "2502.05171"
    assert len(api.requests) == len(script) + 1
