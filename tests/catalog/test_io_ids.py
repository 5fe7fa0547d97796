"""Ids, title normalisation, canonical YAML and atomic writes."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from catalog import PAPERS_DIR
from catalog.ids import make_id, normalize_title
from catalog.io import dump_paper, write_paper
from catalog.model import ID_PATTERN, Paper
from catalog.yamlsource import Source, parse_bytes, read_yaml

EXAMPLE = PAPERS_DIR / "hao2024training.yaml"


def load_text(text: str) -> Paper:
    source = parse_bytes(text.encode("utf-8"), Source(Path("x.yaml")))
    assert not source.problems, source.problems
    return Paper.model_validate(source.data)


def example() -> Paper:
    return Paper.model_validate(read_yaml(EXAMPLE).data)


# --- ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authors,year,title,expected",
    [
        (["Shibo Hao", "Jason Weston"], 2024, "Training Large Language Models to Reason in a Continuous Latent Space", "hao2024training"),
        (["Jacob Pfau"], 2024, "Let's Think Dot by Dot: Hidden Computation in Transformer Language Models", "pfau2024think"),
        (["Sachin Goyal"], 2023, "Think before you speak: Training Language Models With Pause Tokens", "goyal2023think"),
        (["Jonas Geiping"], 2025, "Scaling up Test-Time Compute with Latent Reasoning: A Recurrent Depth Approach", "geiping2025scaling"),
        (["Yuntian Deng"], 2024, "From Explicit CoT to Implicit CoT: Learning to Internalize CoT Step by Step", "deng2024explicit"),
        (["Łukasz Kaiser"], 2016, "On the Universality of Things", "kaiser2016universality"),
        (["José Müller-Žáček"], 2020, "Über Alles", "mullerzacek2020uber"),
        (["Johannes van der Waals"], 2021, "Towards an Equation", "vanderwaals2021equation"),
        (["Martin Luther King Jr."], 2019, "A Dream", "king2019dream"),
        (["Weston, Jason"], 2019, "Memory Networks", "weston2019memory"),
        (["李明"], 2023, "The 2-Simplicial Transformer", "anon20232"),
        (["Ada Smith"], 2023, "On the of a", "smith2023on"),
    ],
)
def test_make_id(authors, year, title, expected):
    made = make_id(authors, year, title, set())
    assert made == expected
    assert __import__("re").match(ID_PATTERN, made)


def test_make_id_suffixes_on_clash():
    args = (["Shibo Hao"], 2024, "Training things")
    assert make_id(*args, {"hao2024training"}) == "hao2024trainingb"
    taken = {"hao2024training"} | {f"hao2024training{c}" for c in "bcdefghijklmnopqrstuvwxyz"}
    assert make_id(*args, taken) == "hao2024trainingaa"


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=3), st.integers(1950, 2100), st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_make_id_always_matches_the_id_pattern(authors, year, title):
    import re

    made = make_id(authors, year, title, set())
    assert re.match(ID_PATTERN, made), made
    assert make_id(authors, year, title, {made}) != made


def test_normalize_title():
    assert normalize_title("  Training  LLMs: to Reason—in Latent Space! ") == "training llms to reason in latent space"
    assert normalize_title("Über-Café") == normalize_title("uber cafe")


# --- canonical YAML ----------------------------------------------------------------------------


def test_dump_of_the_example_is_the_example_file():
    assert dump_paper(example()) == EXAMPLE.read_text(encoding="utf-8")


def test_dump_omits_empty_optional_fields_and_quotes_arxiv():
    paper = Paper(id="smith2024x", title="X: a study", authors=["Ada Smith"], date=dt.date(2024, 1, 2), venue="arXiv",
                  arxiv="2401.01000", taxonomy=["continuous-thought"], tldr="Short.")  # fmt: skip
    text = dump_paper(paper)
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../schema.json"
    assert 'arxiv: "2401.01000"' in text
    assert "title: 'X: a study'" in text
    for absent in ("doi", "url", "code", "tags", "baselines", "results", "arxiv_version", "date_precision"):
        assert f"\n{absent}:" not in text
    assert load_text(text) == paper


SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\u2028\u2029\ufeff"), min_size=1, max_size=150
)


@st.composite
def papers(draw) -> Paper:
    data = {
        "id": draw(st.from_regex(r"[a-z]{1,8}(19[5-9][0-9]|20[0-2][0-9])[a-z]{1,8}", fullmatch=True)),
        "title": draw(SAFE_TEXT),
        "authors": draw(st.lists(SAFE_TEXT, min_size=1, max_size=5)),
        "date": draw(st.dates(dt.date(1950, 1, 1), dt.date.today())),
        "venue": draw(st.sampled_from(["arXiv", "ICLR 2025", "NeurIPS 2024 Workshop on X", "TMLR"]) | SAFE_TEXT),
        "arxiv": draw(st.from_regex(r"\d{4}\.\d{4,5}", fullmatch=True) | st.just("hep-th/9901001")),
        "arxiv_version": draw(st.none() | st.integers(1, 20)),
        "doi": draw(st.none() | st.from_regex(r"10\.\d{4,9}/[A-Za-z0-9.:;()_\-/#]{1,20}", fullmatch=True)),
        "code": draw(st.lists(st.builds(dict, url=st.sampled_from(["https://github.com/a/b", "https://x.org/a?b=c#d"]), official=st.booleans()), max_size=2)),
        "taxonomy": draw(st.lists(st.sampled_from(["continuous-thought", "diffusion", "applications"]), min_size=1, max_size=3)),
        "tags": draw(st.lists(SAFE_TEXT, max_size=4)),
        "tldr": draw(SAFE_TEXT),
        "baselines": draw(st.lists(st.sampled_from(["coconut", "looped"]), max_size=2)),
        "results": draw(st.lists(st.builds(dict, task=SAFE_TEXT, metric=st.just("accuracy"), value=st.floats(-1e6, 1e6),
                                           method=SAFE_TEXT, model=SAFE_TEXT, setting=st.none() | SAFE_TEXT, source=SAFE_TEXT), max_size=3)),  # fmt: skip
    }
    try:
        return Paper.model_validate(data)
    except ValidationError:
        from hypothesis import reject

        reject()


@pytest.mark.slow
@given(papers())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_round_trip_generated_papers(paper):
    assert load_text(dump_paper(paper)) == paper


# --- writing -----------------------------------------------------------------------------------


def test_write_paper_refuses_to_overwrite(tmp_path):
    paper = example()
    path = write_paper(paper, tmp_path)
    assert path == tmp_path / "hao2024training.yaml"
    assert path.read_text(encoding="utf-8") == dump_paper(paper)
    with pytest.raises(FileExistsError, match="already exists"):
        write_paper(paper, tmp_path)
    changed = paper.model_copy(update={"venue": "ICLR 2026"})
    write_paper(changed, tmp_path, overwrite=True)
    assert "venue: ICLR 2026" in path.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hao2024training.yaml"]


def test_write_paper_leaves_nothing_half_written(tmp_path, monkeypatch):
    paper = example()
    path = write_paper(paper, tmp_path)
    before = path.read_text(encoding="utf-8")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_paper(paper.model_copy(update={"venue": "X"}), tmp_path, overwrite=True)
    assert path.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hao2024training.yaml"]
