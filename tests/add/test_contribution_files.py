"""The contribution workflow files agree with the code: the issue form with the schema and the
taxonomy, CONTRIBUTING.md with the command line, the workflow with `latent check`."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from catalog import REPO_ROOT
from catalog.model import Paper
from catalog.tags import load_tags
from catalog.taxonomy import load_taxonomy
from scripts.latent import build_parser

FORM = REPO_ROOT / ".github" / "ISSUE_TEMPLATE" / "add-paper.yml"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "catalog.yml"
CONTRIBUTING = REPO_ROOT / "CONTRIBUTING.md"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_issue_form_fields_are_catalog_fields() -> None:
    form = load(FORM)
    assert form["name"] and form["description"]
    fields = [item for item in form["body"] if item["type"] != "markdown"]
    ids = [item["id"] for item in fields]
    assert len(ids) == len(set(ids))
    assert {i for i in ids if i != "checks"} <= set(Paper.model_fields)
    required = {item["id"] for item in fields if item.get("validations", {}).get("required")}
    assert {"arxiv", "taxonomy", "tldr"} <= required


def test_issue_form_lists_every_taxonomy_node_in_order() -> None:
    form = load(FORM)
    (taxonomy,) = [item for item in form["body"] if item.get("id") == "taxonomy"]
    assert taxonomy["type"] == "dropdown" and taxonomy["attributes"]["multiple"] is True
    options = taxonomy["attributes"]["options"]
    nodes = load_taxonomy().nodes
    assert [option.split(" — ")[0] for option in options] == list(nodes)
    assert options == [f"{node_id} — {node.name}" for node_id, node in nodes.items()]


def test_workflow_checks_the_catalog_on_pull_requests() -> None:
    workflow = load(WORKFLOW)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "catalog/**" in triggers["pull_request"]["paths"]
    steps = [step.get("run", "") for step in workflow["jobs"]["check"]["steps"]]
    assert any(re.search(r"pip install -e \.(\s|$)", run) for run in steps)
    assert any("latent check --format github" in run for run in steps)


def test_check_in_github_format_annotates_the_line(tmp_path: Path) -> None:
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "someone2024thing.yaml").write_text(
        "id: someone2024thing\ntitle: A Thing\nauthors: [Some One]\ndate: 2024-01-02\nvenue: arXiv\n"
        'arxiv: "2401.00002"\ntaxonomy: [continuous-thought]\ntags:\n  - math\n  - no-such-tag\ntldr: Does a thing.\n',
        encoding="utf-8",
    )
    run = subprocess.run([sys.executable, "-m", "scripts.latent", "check", "--format", "github", "--papers-dir", str(papers)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)  # fmt: skip
    assert run.returncode == 1
    (line,) = [line for line in run.stdout.splitlines() if "no-such-tag" in line]
    assert line.startswith("::error file=") and "someone2024thing.yaml" in line and ",line=10," in line


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its path ("check", "bench run", ...), nested commands included."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found[f"{prefix}{name}"] = child
                    walk(child, f"{prefix}{name} ")

    walk(build_parser(), "")
    return found


def test_contributing_commands_parse_and_use_real_vocabulary() -> None:
    text = CONTRIBUTING.read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    commands = [line for block in blocks for line in block.replace("\\\n", " ").splitlines() if line.startswith("latent ")]
    assert any(c.startswith("latent add ") for c in commands) and any(c.startswith("latent refresh") for c in commands)
    parser = build_parser()
    nodes, tags = set(load_taxonomy().nodes), set(load_tags())
    for command in commands:
        args = parser.parse_args(shlex.split(command.split("#")[0])[1:])
        if args.command == "add":
            assert set(args.taxonomy or []) <= nodes and set(args.tag or []) <= tags, command


def test_contributing_options_exist() -> None:
    text = CONTRIBUTING.read_text(encoding="utf-8")
    mentioned = set(re.findall(r"`(--[a-z][a-z-]*)", text))
    known = {option for p in _parsers().values() for a in p._actions for option in a.option_strings}
    assert mentioned and mentioned <= known, mentioned - known
