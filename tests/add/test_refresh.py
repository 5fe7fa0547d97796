"""`latent refresh`: venue, DOI and arXiv version updated in place; nothing a person wrote."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from recorded_arxiv import COCONUT_ENTRY, Answer, RecordedArxiv, snapshot

from catalog.arxiv_import import set_top_level
from scripts.latent import main

pytestmark = pytest.mark.usefixtures("use_client")

UNIVERSAL = """\
# yaml-language-server: $schema=../schema.json
# A comment a person wrote, which must survive.
id: dehghani2018universal
title: Universal Transformers (our spelling)
authors: [Mostafa Dehghani, Stephan Gouws, Oriol Vinyals, Jakob Uszkoreit, Łukasz Kaiser]
date: 2018-07-10
venue: arXiv
arxiv: "1807.03819"
arxiv_version: 1
taxonomy: [architectural-recurrence]  # chosen by hand
tags: [universal-transformer, adaptive-computation]
tldr: >-
  Shares one block across depth and lets each position decide when to stop iterating; it
  generalises better than a fixed-depth transformer on algorithmic tasks.
"""

INFINITY = """\
id: martins2021infty
title: "$\\\\infty$-former: Infinite Memory Transformer"
authors:
- Pedro Henrique Martins
- Zita Marinho
- André F. T. Martins
date: 2021-09-01
venue: ACL 2022
arxiv: "2109.00301"
arxiv_version: 3
taxonomy: [applications]
tldr: Attention over an unbounded memory kept as a continuous signal.
"""


@pytest.fixture
def catalog_dir(papers: Path) -> Path:
    (papers / "dehghani2018universal.yaml").write_text(UNIVERSAL, encoding="utf-8")
    (papers / "martins2021infty.yaml").write_text(INFINITY, encoding="utf-8")
    return papers


def refresh(papers: Path, *args: str) -> int:
    return main(["refresh", *args, "--papers-dir", str(papers)])


def test_refresh_updates_only_venue_and_version(catalog_dir: Path, api: RecordedArxiv, capsys: pytest.CaptureFixture[str]) -> None:
    infinity_before = (catalog_dir / "martins2021infty.yaml").read_bytes()
    assert refresh(catalog_dir) == 0
    assert [r.params["id_list"] for r in api.requests] == ["1807.03819,2109.00301"]  # one request
    # The venue comes from the record's comment ("Published at ICLR 2019"), which the entry now says.
    checked = f"venue_source: arxiv-comment\nvenue_checked: {dt.date.today().isoformat()}\n"
    expected = (
        UNIVERSAL.replace("venue: arXiv\n", "venue: ICLR 2019\n" + checked)
        .replace("arxiv_version: 1", "arxiv_version: 3")
    )
    assert (catalog_dir / "dehghani2018universal.yaml").read_text(encoding="utf-8") == expected
    # Up to date already; also its record links code, which refresh never adds.
    assert (catalog_dir / "martins2021infty.yaml").read_bytes() == infinity_before
    captured = capsys.readouterr()
    assert "updated" in captured.out and "venue: 'arXiv' -> 'ICLR 2019'" in captured.out
    assert f"venue_checked: None -> {dt.date.today().isoformat()}" in captured.out
    assert "changed 1 of 2 entries; 0 not verified" in captured.err


def test_dry_run_shows_a_diff_and_writes_nothing(catalog_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(catalog_dir)
    assert refresh(catalog_dir, "--dry-run") == 0
    assert snapshot(catalog_dir) == before
    out = capsys.readouterr().out
    assert "--- a/" in out and "+++ b/" in out and "dehghani2018universal.yaml" in out
    assert "-venue: arXiv\n+venue: ICLR 2019\n+venue_source: arxiv-comment\n+venue_checked: " in out
    assert "-arxiv_version: 1\n+arxiv_version: 3\n" in out
    assert "martins2021infty" not in out


def test_missing_keys_are_inserted_and_a_known_venue_kept(papers: Path) -> None:
    (papers / "hao2024training.yaml").write_text(COCONUT_ENTRY, encoding="utf-8")  # arXiv names no venue
    assert refresh(papers, "hao2024training") == 0
    after = (papers / "hao2024training.yaml").read_text(encoding="utf-8")
    assert after == COCONUT_ENTRY.replace('arxiv: "2412.06769"\n', 'arxiv: "2412.06769"\narxiv_version: 2\n')


def test_doi_is_added_but_never_removed(papers: Path, api: RecordedArxiv) -> None:
    (papers / "maldacena1997large.yaml").write_text(
        'id: maldacena1997large\ntitle: The Large N Limit\nauthors: [Juan Maldacena]\ndate: 1997-11-27\n'
        'venue: arXiv\narxiv: "hep-th/9711200"\ntaxonomy: [expressivity]\ntldr: Our words.\n',
        encoding="utf-8",
    )
    kept = COCONUT_ENTRY.replace('arxiv: "2412.06769"\n', 'arxiv: "2412.06769"\ndoi: 10.1234/kept\n')
    (papers / "hao2024training.yaml").write_text(kept, encoding="utf-8")
    api.script = [Answer(body=_merge("2412.06769.xml", "hep-th_9711200.xml"))]
    assert refresh(papers) == 0
    maldacena = yaml.safe_load((papers / "maldacena1997large.yaml").read_text(encoding="utf-8"))
    assert maldacena["doi"] == "10.1023/A:1026654312961"
    assert maldacena["venue"] == "Adv.Theor.Math.Phys. 1998"
    # Taken from the journal reference, and marked as verified today.
    assert maldacena["venue_source"] == "arxiv-journal-ref"
    assert maldacena["venue_checked"] == dt.date.today()
    assert maldacena["arxiv_version"] == 3
    assert maldacena["title"] == "The Large N Limit" and maldacena["authors"] == ["Juan Maldacena"]
    assert yaml.safe_load((papers / "hao2024training.yaml").read_text(encoding="utf-8"))["doi"] == "10.1234/kept"


def _merge(*names: str) -> bytes:
    """One feed holding the entries of several recorded answers (a batch answer)."""
    from recorded_arxiv import fixture

    parts = [fixture(n).decode() for n in names]
    entries = "".join(p[p.index("<entry>") : p.rindex("</entry>") + len("</entry>")] + "\n" for p in parts)
    head = parts[0][: parts[0].index("<entry>")]
    return (head + entries + "</feed>\n").encode()


def test_select_by_arxiv_id(catalog_dir: Path, api: RecordedArxiv) -> None:
    api.routes["2109.00301"] = "batch-1807.03819-2109.00301.xml"
    before = snapshot(catalog_dir)
    assert refresh(catalog_dir, "https://arxiv.org/abs/2109.00301v1") == 0
    assert [r.params["id_list"] for r in api.requests] == ["2109.00301"]
    assert snapshot(catalog_dir) == before  # nothing to change for that one


def test_unknown_selector(catalog_dir: Path, api: RecordedArxiv, capsys: pytest.CaptureFixture[str]) -> None:
    assert refresh(catalog_dir, "nobody2020nothing") == 1
    assert "'nobody2020nothing' is neither the id nor the arXiv id of an entry" in capsys.readouterr().err
    assert api.requests == []


def test_network_failure_writes_nothing(catalog_dir: Path, api: RecordedArxiv, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(catalog_dir)
    api.script = [Answer(status=503)] * 3
    assert refresh(catalog_dir, "--retries", "2") == 1
    err = capsys.readouterr().err
    assert "after 3 tries" in err and "nothing was written" in err
    assert "not verified: none of the 2 selected entries" in err
    assert snapshot(catalog_dir) == before


def test_entry_missing_on_arxiv_is_reported_and_others_refreshed(catalog_dir: Path, api: RecordedArxiv, capsys: pytest.CaptureFixture[str]) -> None:
    ghost = INFINITY.replace("martins2021infty", "ghost2024paper").replace('"2109.00301"', '"2412.99999"')
    (catalog_dir / "ghost2024paper.yaml").write_text(ghost.replace("Infinite Memory", "Ghost"), encoding="utf-8")
    api.script = [Answer(fixture="batch-1807.03819-2109.00301.xml")]
    assert refresh(catalog_dir) == 1
    assert "arXiv has no record for 2412.99999" in capsys.readouterr().err
    assert "venue: ICLR 2019" in (catalog_dir / "dehghani2018universal.yaml").read_text(encoding="utf-8")


def test_set_top_level_replaces_a_multi_line_value_and_keeps_the_rest() -> None:
    text = "id: x\nvenue: >-\n  A long\n  venue\n\n# comment\ntldr: t\n"
    assert set_top_level(text, "venue", "ICLR 2025") == "id: x\nvenue: ICLR 2025\n\n# comment\ntldr: t\n"


def test_set_top_level_inserts_after_its_neighbour() -> None:
    text = 'id: x\narxiv: "2412.06769"\ntaxonomy: [a]'
    assert set_top_level(text, "doi", "10.1/x") == 'id: x\narxiv: "2412.06769"\ndoi: 10.1/x\ntaxonomy: [a]\n'
    assert set_top_level("id: x\n", "arxiv_version", 2) == "id: x\narxiv_version: 2\n"


NO_ARXIV = """\
id: hochreiter1997long
title: Long Short-Term Memory
authors: [Sepp Hochreiter, Jürgen Schmidhuber]
date: 1997-11-15
venue: Neural Computation
doi: 10.1162/neco.1997.9.8.1735
taxonomy: [linear-state-recurrence]
tldr: Our words.
"""


def test_entries_it_cannot_verify_are_listed_and_the_others_refreshed(
    catalog_dir: Path, api: RecordedArxiv, capsys: pytest.CaptureFixture[str]
) -> None:
    (catalog_dir / "hochreiter1997long.yaml").write_text(NO_ARXIV, encoding="utf-8")
    before = (catalog_dir / "hochreiter1997long.yaml").read_bytes()
    assert refresh(catalog_dir) == 1  # something was not verified
    assert [r.params["id_list"] for r in api.requests] == ["1807.03819,2109.00301"]
    err = capsys.readouterr().err
    assert "not verified: " in err and "hochreiter1997long.yaml: no arXiv id" in err
    assert "changed 1 of 3 entries; 1 not verified" in err
    assert (catalog_dir / "hochreiter1997long.yaml").read_bytes() == before
    assert "venue_source: arxiv-comment" in (catalog_dir / "dehghani2018universal.yaml").read_text(encoding="utf-8")


def test_offline_report_makes_no_request(catalog_dir: Path, api: RecordedArxiv, capsys: pytest.CaptureFixture[str]) -> None:
    (catalog_dir / "hochreiter1997long.yaml").write_text(NO_ARXIV, encoding="utf-8")
    checked = INFINITY.replace("venue: ACL 2022\n", "venue: ACL 2022\nvenue_source: proceedings\nvenue_checked: 2026-12-06\n")
    (catalog_dir / "martins2021infty.yaml").write_text(checked, encoding="utf-8")
    before = snapshot(catalog_dir)
    assert refresh(catalog_dir, "--offline") == 0
    assert api.requests == [] and snapshot(catalog_dir) == before
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert any(line.startswith("not verified: ") and "hochreiter1997long.yaml: no arXiv id" in line for line in lines)
    never = [line for line in lines if line.startswith("venue never verified: ")]
    assert len(never) == 2 and any("dehghani2018universal.yaml" in line for line in never)
    assert not any("martins2021infty" in line for line in lines)  # verified on 2026-12-06
    assert "1 of 3 entries cannot be verified by refresh; 2 have no venue_checked" in captured.err
