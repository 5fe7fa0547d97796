"""The `latent` command line, driven through scripts.latent.main (catalog commands)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from catalog import PAPERS_DIR, TAGS_FILE, TAXONOMY_FILE
from scripts.latent import build_parser, main

EXAMPLE = PAPERS_DIR / "hao2024training.yaml"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small catalog under tmp_path (the example paper, the real taxonomy and tags)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "papers").mkdir()
    (tmp_path / "methods").mkdir()
    (tmp_path / "methods" / "coconut.py").write_text("", encoding="utf-8")
    shutil.copy(EXAMPLE, tmp_path / "papers")
    shutil.copy(TAXONOMY_FILE, tmp_path / "taxonomy.yaml")
    shutil.copy(TAGS_FILE, tmp_path / "tags.yaml")
    return tmp_path


def paths(repo: Path) -> list[str]:
    return ["--papers-dir", str(repo / "papers"), "--taxonomy", str(repo / "taxonomy.yaml"),
            "--tags", str(repo / "tags.yaml"), "--methods-dir", str(repo / "methods")]  # fmt: skip


def break_example(repo: Path) -> None:
    path = repo / "papers" / "hao2024training.yaml"
    text = path.read_text(encoding="utf-8").replace("  - Xian Li\n", "  - \n").replace("venue: COLM 2025\n", "")
    path.write_text(text, encoding="utf-8")


def test_help_lists_the_catalog_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("check", "export", "stats"):
        assert command in out


@pytest.mark.parametrize("command", ["check", "export", "stats"])
def test_each_command_has_help(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--papers-dir" in capsys.readouterr().out


def test_check_ok(repo, capsys):
    assert main(["check", *paths(repo)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("ok: 3 files checked, 0 errors")
    assert any("warning: 'pause' is planned" in line for line in out)


def test_check_quiet_hides_warnings(repo, capsys):
    assert main(["check", "-q", *paths(repo)]) == 0
    assert capsys.readouterr().out.splitlines() == ["ok: 3 files checked, 0 errors, 6 warnings"]


def test_check_reports_every_error_with_file_line_field(repo, capsys):
    break_example(repo)
    assert main(["check", "-q", *paths(repo)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "papers/hao2024training.yaml:8: authors[3]: empty value" in out
    assert "papers/hao2024training.yaml:1: venue: missing (required field)" in out
    assert out[-2] == "FAILED: 3 files checked, 2 errors, 6 warnings"
    assert out[-1].startswith("fix each error at the file:line shown")


def test_check_strict_turns_warnings_into_errors(repo, capsys):
    assert main(["check", "--strict", *paths(repo)]) == 1
    assert capsys.readouterr().out.splitlines()[-2].startswith("FAILED: 3 files checked, 6 errors")


def test_check_github_annotations(repo, capsys):
    break_example(repo)
    assert main(["check", "--format", "github", *paths(repo)]) == 1
    captured = capsys.readouterr()
    assert "::error file=papers/hao2024training.yaml,line=8,title=authors[3]::empty value" in captured.out.splitlines()
    # a taxonomy node names a baseline the fixture's methods folder lacks: a warning with its line
    assert re.search(r"::warning file=taxonomy\.yaml,line=\d+,title=baseline::'\w+' is planned", captured.out)
    assert "FAILED" in captured.err


def test_check_write_schema(repo, monkeypatch, capsys):
    import catalog.schema

    monkeypatch.setattr(catalog.schema, "SCHEMA_FILE", repo / "schema.json")
    monkeypatch.setattr(catalog.schema, "TAXONOMY_SCHEMA_FILE", repo / "taxonomy.schema.json")
    assert main(["check", "--write-schema", *paths(repo)]) == 0
    schema = json.loads((repo / "schema.json").read_text(encoding="utf-8"))
    assert "tldr" in schema["properties"] and "id" in schema["required"]
    assert json.loads((repo / "taxonomy.schema.json").read_text(encoding="utf-8"))["properties"]["nodes"]
    assert "wrote schema.json" in capsys.readouterr().out


def test_export(repo, capsys):
    out_dir = repo / "out"
    assert main(["export", *paths(repo), "--out", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["catalog.bib", "catalog.csv", "catalog.json"]
    assert "@inproceedings{hao2024training," in (out_dir / "catalog.bib").read_text(encoding="utf-8")
    assert "1 papers exported" in capsys.readouterr().out


def test_export_refuses_an_invalid_catalog(repo, capsys):
    break_example(repo)
    assert main(["export", *paths(repo), "--out", str(repo / "out")]) == 1
    assert not (repo / "out").exists()
    err = capsys.readouterr().err
    assert "venue: missing" in err and "Traceback" not in err


def test_stats(repo, capsys):
    assert main(["stats", *paths(repo)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 papers, 1 with code, 0 without")
    assert main(["stats", "--json", *paths(repo)]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["per_node"]["hidden-state-feedback"] == 1 and counts["per_node"]["continuous-thought"] == 0
    assert counts["per_top_level"] == {**{k: 0 for k in counts["per_top_level"]}, "token-level": 1, "activation-recurrence": 1}


def test_parser_builds_without_optional_command_groups():
    assert build_parser().prog == "latent"
