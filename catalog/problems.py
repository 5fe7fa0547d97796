"""What validation reports: a `Problem` names the file, line and field, and says what is wrong.

`str(problem)` is the `file:line: field: message` form that editors and terminals turn into links.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


def display_path(path: str | os.PathLike[str]) -> str:
    """`path` relative to the current directory when it lies below it, else as given."""
    path = Path(path)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file. `line` is 1-based; `field` is a path like `authors[2]`."""

    file: str | os.PathLike[str]
    line: int
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{display_path(self.file)}:{self.line}:"
        warning = "warning: " if self.severity == "warning" else ""
        if self.field:
            return f"{where} {self.field}: {warning}{self.message}"
        return f"{where} {warning}{self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def sort_key(self) -> tuple[str, int, str, str]:
        return (str(self.file), self.line, self.field, self.message)

    def github(self) -> str:
        """The problem as a GitHub Actions workflow command (an annotation on the file's line)."""
        title = self.field or "catalog"
        return (
            f"::{self.severity} file={_escape_property(display_path(self.file))},line={self.line},"
            f"title={_escape_property(title)}::{_escape_data(self.message)}"
        )


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def summary(problems: list[Problem], n_files: int) -> str:
    """One line: how many files were checked and how many errors and warnings were found."""
    n_errors = len(errors(problems))
    n_warnings = len(problems) - n_errors
    files = f"{n_files} file{'s' if n_files != 1 else ''}"
    if not problems:
        return f"ok: {files} checked, no problems"
    status = "FAILED" if n_errors else "ok"
    return (
        f"{status}: {files} checked, {n_errors} error{'s' if n_errors != 1 else ''}, "
        f"{n_warnings} warning{'s' if n_warnings != 1 else ''}"
    )


class CatalogError(Exception):
    """Raised by the loaders when the catalog is invalid; `.problems` lists everything found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        errs = errors(self.problems) or self.problems
        lines = [str(p) for p in errs[:20]]
        if len(errs) > 20:
            lines.append(f"... and {len(errs) - 20} more")
        super().__init__(f"{len(errs)} problem(s) in the catalog:\n" + "\n".join(lines))
