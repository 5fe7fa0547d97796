"""One fixture per validation rule; each asserts the exact `file:line: field` of the report."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog_helpers import VALID, TmpCatalog, replace

NAME = "smith2024looped.yaml"
F = f"papers/{NAME}"


def reported(cat: TmpCatalog, text: str | bytes, name: str = NAME) -> list[str]:
    cat.add(name, text)
    return cat.lines()


def assert_one(lines: list[str], prefix: str, contains: str = "") -> str:
    hits = [line for line in lines if line.startswith(prefix) and contains in line]
    assert hits, f"no problem starting with {prefix!r} containing {contains!r} in:\n" + "\n".join(lines)
    return hits[0]


def paper_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("papers/")]


def test_valid_file_has_no_problems(cat):
    lines = reported(cat, VALID)
    assert paper_lines(lines) == []
    assert all(": warning: " in line for line in lines)  # only the planned taxonomy baselines


def test_utf8_bom_is_accepted(cat):
    assert paper_lines(reported(cat, "\ufeff" + VALID)) == []


def test_date_as_quoted_string_is_accepted(cat):
    assert paper_lines(reported(cat, replace(VALID, "date: 2024-05-01", 'date: "2024-05-01"'))) == []


# --- the file as a whole ---------------------------------------------------------------------


CASES_FILE = [
    ("syntax", replace(VALID, "title: Looped", "title: Looped: a"), f"{F}:3: YAML syntax error", "mapping values"),
    ("list", "- a\n- b\n", f"{F}:1: expected a mapping", "found a list"),
    ("scalar", "just text\n", f"{F}:1: expected a mapping", "single value"),
    ("empty", "", f"{F}:1: empty file", ""),
    ("comments-only", "# nothing\n", f"{F}:1: empty file", ""),
    ("tab", replace(VALID, "  - Bo Chen", "\t- Bo Chen"), f"{F}:6: tab character in indentation", ""),
    ("two-docs", VALID + "---\nid: x\n", f"{F}:18: more than one YAML document", ""),
    ("alias", replace(VALID, "tags: [looped-transformer, math]", "tags: &t [math]\nbaselines2: *t"), f"{F}:15: YAML alias *t", ""),
    ("deep", VALID + "extra: " + "[" * 100 + "]" * 100 + "\n", f"{F}:18: nesting deeper", ""),
    ("huge-int", replace(VALID, "venue: ICLR 2025", "venue: ICLR 2025\narxiv_version: 1" + "0" * 5000), f"{F}:9: invalid int", ""),
    ("bad-date-literal", replace(VALID, "date: 2024-05-01", "date: 2024-13-01"), f"{F}:7: invalid date '2024-13-01'", ""),
    ("python-tag", replace(VALID, "venue: ICLR 2025", "venue: !!python/object:os.system x"), f"{F}:8: unsupported YAML tag", ""),
    ("dup-key", VALID + "title: Another title\n", f"{F}:18: duplicate key 'title' (first at line 3)", ""),
]


@pytest.mark.parametrize("text,prefix,contains", [c[1:] for c in CASES_FILE], ids=[c[0] for c in CASES_FILE])
def test_file_level_rules(cat, text, prefix, contains):
    assert_one(reported(cat, text), prefix, contains)


def test_invalid_utf8_reports_the_line(cat):
    data = replace(VALID, "  - Bo Chen", "  - Bo Ch\xe9n").encode("latin-1")
    assert_one(reported(cat, data), f"{F}:6: invalid UTF-8 at byte offset")


def test_oversized_file_is_not_parsed(cat):
    assert_one(reported(cat, VALID + "# " + "x" * 1_100_000 + "\n"), f"{F}:1: file is", "not parsed")


def test_yml_extension_is_reported(cat):
    assert_one(reported(cat, VALID, name="smith2024looped.yml"), "papers/smith2024looped.yml:1: paper files end in .yaml")


# --- the schema --------------------------------------------------------------------------------


CASES_SCHEMA = [
    ("empty-author", replace(VALID, "  - Bo Chen", '  - ""'), f"{F}:6: authors[1]: must not be empty"),
    ("missing", replace(VALID, "venue: ICLR 2025\n", ""), f"{F}:1: venue: missing"),
    (
        "missing-nested",
        replace(VALID, "  - url: https://github.com/example/looped\n    official: true", "  - official: true"),
        f"{F}:11: code[0].url: missing",
    ),
    ("unknown-key", replace(VALID, "venue: ICLR 2025\n", "venue: ICLR 2025\nvenu: x\n"), f"{F}:9: venu: unknown key 'venu'; did you mean 'venue'?"),
    ("unknown-nested-key", replace(VALID, "    official: true", "    offical: true"), f"{F}:12: code[0].offical: unknown key"),
    ("authors-not-list", replace(VALID, "authors:\n  - Ada Smith\n  - Bo Chen", "authors: Ada Smith"), f"{F}:4: authors: expected a list"),
    ("bad-arxiv", replace(VALID, '"2405.01234"', '"2405.1234x"'), f"{F}:9: arxiv: malformed arXiv id"),
    ("arxiv-version", replace(VALID, '"2405.01234"', '"2405.01234v2"'), f"{F}:9: arxiv: malformed arXiv id '2405.01234v2': drop the version"),
    ("arxiv-float", replace(VALID, '"2405.01234"', "2405.01234"), f"{F}:9: arxiv: write it as a quoted string"),
    ("bad-doi", replace(VALID, 'arxiv: "2405.01234"', "doi: doi.org/10.1/x"), f"{F}:9: doi: malformed DOI"),
    ("bad-code-url", replace(VALID, "https://github.com/example/looped", "github.com/example"), f"{F}:11: code[0].url: malformed URL"),
    ("bad-id", replace(VALID, "id: smith2024looped", "id: Smith-2024"), f"{F}:2: id: malformed id"),
    ("future-date", replace(VALID, "date: 2024-05-01", f"date: {dt.date.today().year + 2}-01-01"), f"{F}:7: date: date"),
    ("old-date", replace(VALID, "date: 2024-05-01", "date: 1949-12-31"), f"{F}:7: date: date 1949-12-31 is before 1950"),
    ("date-text", replace(VALID, "date: 2024-05-01", "date: May 2024"), f"{F}:7: date: expected a date YYYY-MM-DD"),
    ("no-identifier", replace(VALID, 'arxiv: "2405.01234"\n', ""), f"{F}:1: at least one of arxiv, doi or url"),
    ("empty-taxonomy", replace(VALID, "taxonomy: [architectural-recurrence]", "taxonomy: []"), f"{F}:13: taxonomy: must not be empty"),
    ("result-value", VALID + "results:\n  - {task: t, metric: m, value: high, method: x, model: y, source: T1}\n", f"{F}:19: results[0].value:"),
]


@pytest.mark.parametrize("text,prefix", [c[1:] for c in CASES_SCHEMA], ids=[c[0] for c in CASES_SCHEMA])
def test_schema_rules(cat, text, prefix):
    assert_one(reported(cat, text), prefix)


def test_all_problems_of_a_file_are_reported_at_once(cat):
    text = replace(VALID, "  - Bo Chen", '  - ""')
    text = replace(text, "venue: ICLR 2025", "venue: ICLR 2025\ncolour: red")
    text = replace(text, "math]", "maths]")
    lines = reported(cat, text)
    assert_one(lines, f"{F}:6: authors[1]:")
    assert_one(lines, f"{F}:9: colour: unknown key")
    assert_one(lines, f"{F}:15: tags[1]: unknown tag 'maths'; did you mean 'math'?")


# --- vocabularies and placeholders ------------------------------------------------------------


CASES_VOCAB = [
    ("node", replace(VALID, "[architectural-recurrence]", "[architectural-recurrence, loopd]"), f"{F}:13: taxonomy[1]: unknown taxonomy node 'loopd'"),
    (
        "node-block",
        replace(VALID, "taxonomy: [architectural-recurrence]", "taxonomy:\n  - architectural-recurrence\n  - nowhere"),
        f"{F}:15: taxonomy[1]: unknown taxonomy node 'nowhere'",
    ),
    ("tag", replace(VALID, "[looped-transformer, math]", "[looped-transformer, mathz]"), f"{F}:14: tags[1]: unknown tag 'mathz'"),
    ("tag-twice", replace(VALID, "[looped-transformer, math]", "[math, math]"), f"{F}:14: tags[1]: 'math' listed twice"),
    ("baseline", replace(VALID, "baselines: [looped]", "baselines: [looped, teleport]"), f"{F}:17: baselines[1]: unknown baseline 'teleport'"),
    ("todo-tldr", replace(VALID, "  A looped transformer applies", "  TODO: A looped transformer applies"), f"{F}:16: tldr: still to fill in"),
    ("todo-author", replace(VALID, "  - Bo Chen", "  - TODO"), f"{F}:6: authors[1]: still to fill in"),
    ("todo-node", replace(VALID, "[architectural-recurrence]", "[TODO]"), f"{F}:13: taxonomy[0]: still to fill in"),
]


@pytest.mark.parametrize("text,prefix", [c[1:] for c in CASES_VOCAB], ids=[c[0] for c in CASES_VOCAB])
def test_vocabulary_rules(cat, text, prefix):
    assert_one(reported(cat, text), prefix)


def test_planned_baseline_in_a_paper_is_a_warning(cat):
    lines = reported(cat, replace(VALID, "baselines: [looped]", "baselines: [pause]"))
    line = assert_one(lines, f"{F}:17: baselines[0]: warning:", "planned")
    assert "pause" in line
    assert all(p.severity == "warning" for p in cat.check())


# --- across files ------------------------------------------------------------------------------


OTHER = replace(replace(VALID, "id: smith2024looped", "id: zhou2023other"), "Looped Transformers Think in Circles", "Something Else Entirely")


def test_id_must_equal_file_name(cat):
    assert_one(reported(cat, VALID, name="smith2024loop.yaml"), "papers/smith2024loop.yaml:2: id: id 'smith2024looped' differs from the file name")


def test_duplicate_id_names_both_files(cat):
    cat.add("zzz2024copy.yaml", VALID)
    line = assert_one(reported(cat, VALID), "papers/zzz2024copy.yaml:2: id: id 'smith2024looped' is also used by")
    assert F in line


def test_same_arxiv_id_names_both_files(cat):
    cat.add("zhou2023other.yaml", OTHER)
    assert_one(reported(cat, VALID), f"papers/zhou2023other.yaml:9: arxiv: arXiv id '2405.01234' is also used by {F}")


def test_same_doi_names_both_files(cat):
    cat.add("zhou2023other.yaml", replace(OTHER, 'arxiv: "2405.01234"', "doi: 10.1000/ABC"))
    text = replace(VALID, 'arxiv: "2405.01234"', "doi: 10.1000/abc")
    assert_one(reported(cat, text), f"papers/zhou2023other.yaml:9: doi: DOI '10.1000/ABC' is also used by {F}")


def test_same_title_is_an_error(cat):
    other = replace(OTHER, "Something Else Entirely", "'looped transformers: think in circles!'")
    cat.add("zhou2023other.yaml", replace(other, '"2405.01234"', '"2301.00001"'))
    lines = reported(cat, VALID)
    assert_one(lines, f"papers/zhou2023other.yaml:3: title: same title as {F}")
    assert not [line for line in lines if "similar" in line]  # reported once, as identical


def test_near_identical_title_is_a_warning(cat):
    other = replace(OTHER, "Something Else Entirely", "Looped Transformer Think in Circles")
    cat.add("zhou2023other.yaml", replace(other, '"2405.01234"', '"2301.00001"'))
    lines = reported(cat, VALID)
    assert_one(lines, "papers/zhou2023other.yaml:3: title: warning: title is", f"similar to {F}")
    assert all(p.severity == "warning" for p in cat.check())


# --- taxonomy.yaml and tags.yaml ---------------------------------------------------------------


def test_duplicate_taxonomy_node(cat):
    text = cat.taxonomy.read_text(encoding="utf-8")
    cat.taxonomy.write_text(replace(text, "  - id: applications", "  - id: diffusion"), encoding="utf-8")
    line_no = 1 + text[: text.index("  - id: applications")].count("\n")
    cat.add(NAME, VALID)
    assert_one(cat.lines(), f"taxonomy.yaml:{line_no}: nodes[6].id: duplicate node id 'diffusion'")


def test_taxonomy_schema_error(cat):
    text = cat.taxonomy.read_text(encoding="utf-8")
    cat.taxonomy.write_text(replace(text, "    name: Token-level latent computation\n", ""), encoding="utf-8")
    line_no = 1 + text[: text.index("  - id: token-level")].count("\n")
    assert_one(cat.lines(), f"taxonomy.yaml:{line_no}: nodes[0].name: missing")


def test_unimplemented_taxonomy_baseline_is_a_warning(cat):
    cat.add(NAME, VALID)
    problems = cat.check()
    planned = [p for p in problems if p.field == "baseline" and "taxonomy.yaml" in str(p.file)]
    assert {p.message.split("'")[1] for p in planned} == {"pause", "codi", "icot", "gated_deltanet", "mdm"}
    assert all(p.severity == "warning" for p in planned)


def test_duplicate_tag_across_groups(cat):
    text = cat.tags.read_text(encoding="utf-8")
    cat.tags.write_text(replace(text, "  domain:\n", "  domain:\n    probing: Again.\n"), encoding="utf-8")
    line_no = 2 + text[: text.index("  domain:\n")].count("\n")
    assert_one(cat.lines(), f"tags.yaml:{line_no}: groups.domain.probing: duplicate tag 'probing' (also in group 'analysis')")


def test_broken_tags_file_is_reported_not_raised(cat):
    cat.tags.write_text("groups:\n  kind:\n    survey: A: B\n", encoding="utf-8")
    cat.add(NAME, VALID)
    assert_one(cat.lines(), "tags.yaml:3: YAML syntax error")


def test_missing_papers_folder(cat):
    cat.papers.rmdir()
    assert_one(cat.lines(), "papers:1: papers folder not found")


CASES_EMPTY = [
    ("empty-item", replace(VALID, "  - Bo Chen", "  -"), f"{F}:6: authors[1]: empty value"),
    ("empty-item-then-comment", replace(VALID, "  - Bo Chen", "  -\n# a comment\n\n"), f"{F}:6: authors[1]: empty value"),
    ("empty-key", replace(VALID, "venue: ICLR 2025", "venue:"), f"{F}:8: venue: empty value"),
    ("empty-last-key", replace(VALID, "venue: ICLR 2025\n", "") + "venue:\n", f"{F}:17: venue: empty value"),
    ("empty-with-comment", replace(VALID, "venue: ICLR 2025", "venue:   # to do"), f"{F}:8: venue: empty value"),
    ("empty-item-space", replace(VALID, "  - Ada Smith", "  - "), f"{F}:5: authors[0]: empty value"),
]


@pytest.mark.parametrize("text,prefix", [c[1:] for c in CASES_EMPTY], ids=[c[0] for c in CASES_EMPTY])
def test_empty_values_are_reported_on_their_own_line(cat, text, prefix):
    assert_one(reported(cat, text), prefix)


@pytest.mark.parametrize("pure_python", [False, True], ids=["libyaml", "pure-python"])
def test_empty_value_lines_with_either_parser(cat, monkeypatch, pure_python):
    import yaml

    import catalog.yamlsource as ys

    if pure_python:  # PyYAML installed without libyaml
        monkeypatch.setattr(ys, "_Loader", yaml.SafeLoader)
    for text, prefix in [(c[1], c[2]) for c in CASES_EMPTY]:
        assert_one(reported(cat, text), prefix)


def test_worker_processes_report_the_same_problems(cat, monkeypatch):
    import catalog.validate as validate
    from catalog.load import load_catalog

    cat.add(NAME, VALID)
    cat.add("zhou2023other.yaml", OTHER)  # same arXiv id
    cat.add("bad.yaml", "- a list\n")
    lee = replace(replace(VALID, "id: smith2024looped", "id: lee2022x"), "2405.01234", "2201.00001")
    cat.add("lee2022x.yaml", replace(replace(lee, "Think in Circles", "Count Sheep"), "2024-05-01", "2022-01-01"))
    serial = cat.lines()
    monkeypatch.setattr(validate, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(validate, "CHUNK_FILES", 1)
    monkeypatch.setattr(validate, "_usable_cpus", lambda: 2)
    if not validate._can_fork():
        pytest.skip("fork is not available here")
    assert cat.lines() == serial
    assert any(line.startswith("papers/bad.yaml:1: expected a mapping") for line in serial)
    (cat.papers / "bad.yaml").unlink()
    (cat.papers / "zhou2023other.yaml").unlink()
    assert [p.id for p in load_catalog(**cat.kwargs()).papers] == ["smith2024looped", "lee2022x"]


MONTH = VALID.replace("date: 2024-05-01\n", "date: 2024-05-01\ndate_precision: month\n")


def test_month_precision_of_an_arxiv_paper_needs_a_date_note(cat):
    from catalog.validate import MONTH_PRECISION_SEVERITY

    lines = reported(cat, MONTH)
    severity = "warning: " if MONTH_PRECISION_SEVERITY == "warning" else ""
    assert_one(lines, f"{F}:8: date_note: {severity}month precision", "date_note")
    problems = [p for p in cat.check() if p.field == "date_note"]
    assert [p.severity for p in problems] == [MONTH_PRECISION_SEVERITY]


@pytest.mark.parametrize(
    "text",
    [
        MONTH.replace("date_precision: month\n", "date_precision: month\ndate_note: only the month is printed on the proceedings\n"),
        VALID,  # day precision
        MONTH.replace('arxiv: "2405.01234"\n', "doi: 10.1162/neco.1997.9.8.1735\n"),  # no arXiv id: nothing to look up
    ],
    ids=["with-note", "day", "not-arxiv"],
)
def test_month_precision_rule_is_quiet_otherwise(cat, text):
    cat.add(NAME, text)
    assert [p for p in cat.check() if p.field == "date_note"] == []


def test_month_precision_rule_as_an_error(cat, monkeypatch):
    import catalog.validate as validate

    monkeypatch.setattr(validate, "MONTH_PRECISION_SEVERITY", "error")
    cat.add(NAME, MONTH)
    assert [(p.field, p.severity) for p in cat.check() if p.field == "date_note"] == [("date_note", "error")]


# -- where a venue was verified, and why a date keeps month precision -------------------------------

@pytest.mark.parametrize("extra, message", [
    ("venue_source: proceedings\n", "venue_source and venue_checked go together"),
    ("venue_checked: 2026-01-02\n", "venue_source and venue_checked go together"),
    ("venue_source: proceedings\nvenue_checked: 2024-04-01\n", "is before the paper's date"),
    ("venue_source: none-found\nvenue_checked: 2026-01-02\n", "venue_source is none-found"),
    ("venue_source: a-blog\nvenue_checked: 2026-01-02\n", "venue_source"),
])
def test_venue_verification_fields_are_consistent(cat, extra, message):
    lines = reported(cat, replace(VALID, "arxiv: ", extra + "arxiv: "))
    assert any(message in line for line in paper_lines(lines)), lines


def test_verified_venue_is_accepted(cat):
    text = replace(VALID, "arxiv: ", "venue_source: openreview\nvenue_checked: 2026-01-02\narxiv: ")
    assert paper_lines(reported(cat, text)) == []


def test_month_precision_of_an_arxiv_paper_needs_a_reason(cat):
    text = replace(VALID, "date: 2024-05-01\n", "date: 2024-05-01\ndate_precision: month\n")
    assert_one(reported(cat, text), f"{F}:", "date_note")
    with_note = replace(text, "venue: ", "date_note: no copy of the v1 record gives the day\nvenue: ")
    assert paper_lines(reported(cat, with_note)) == []
