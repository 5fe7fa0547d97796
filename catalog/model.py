"""The Paper model: the single definition of what a catalog entry is.

`catalog/schema.json` is generated from these classes (`latent check --write-schema`), so editors
validate YAML as you type. Every field is documented here; unknown keys are errors.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# An id is the BibTeX key too: first author's family name, year of the first version, first
# significant word of the title, all lowercase ASCII (e.g. `hao2024training`); a clash gets a
# letter suffix (`hao2024trainingb`). See catalog/ids.py for the function that makes one.
ID_PATTERN = r"^[a-z][a-z0-9]*[0-9]{4}[a-z0-9]+$"
# New-style arXiv ids (0704.0001 onwards: YYMM.NNNN or YYMM.NNNNN) and old-style (archive/YYMMNNN),
# always without a version suffix.
ARXIV_PATTERN = r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})$"
DOI_PATTERN = r"^10\.\d{4,9}/\S+$"
# http(s) only; no whitespace, angle brackets or quotes (they would end an attribute or a link)
URL_PATTERN = r"^https?://[^\s/$.?#<>\"'][^\s<>\"']*$"
GITHUB_LIKE = r"^https?://[^\s/$.?#][^\s]*$"
PLACEHOLDER = "TODO"  # written by `latent add` where a person must still fill a field

Str = Annotated[str, Field(min_length=1)]
VenueSource = Literal["proceedings", "openreview", "arxiv-journal-ref", "arxiv-comment", "dblp", "author-page",
                      "none-found"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


class CodeRepo(Strict):
    """A code repository for the paper."""

    url: Annotated[str, Field(pattern=URL_PATTERN, description="Repository URL (https).")]
    official: bool = Field(
        default=False, description="True for the authors' own repository, false for third-party ones."
    )


class ReportedResult(Strict):
    """A headline number the paper reports, so that our measured numbers can sit beside it."""

    task: Str = Field(description="Task or benchmark, e.g. `prosqa`, `gsm8k`, `multiplication-4x4`.")
    metric: Str = Field(description="Metric name, e.g. `accuracy`.")
    value: float = Field(description="The number as reported (percent for accuracies).")
    method: Str = Field(description="The method the row is about, e.g. `coconut`, `cot`, `no_cot`.")
    model: Str = Field(description="Backbone used, e.g. `gpt2` (124M).")
    setting: str | None = Field(default=None, description="Anything else needed to read the number.")
    source: Str = Field(description="Where in the paper, e.g. `Table 1`.")


class Paper(Strict):
    """One paper of the catalog (the file `catalog/papers/<id>.yaml`)."""

    id: Annotated[str, Field(pattern=ID_PATTERN, description="Equals the file name; also the BibTeX key.")]
    title: Str = Field(description="Exact title, whitespace normalised.")
    authors: list[Str] = Field(min_length=1, description="Full author list, in order, as 'Given Family'.")
    date: dt.date = Field(description="Date of the first public version (first arXiv version).")
    date_precision: Literal["day", "month"] = Field(
        default="day",
        description="`month` when only the year and month of the first version are known "
        "(the day in `date` is then 01 and is not shown).",
    )
    date_note: str | None = Field(
        default=None,
        description="Why `date_precision` is `month` for a paper with an arXiv id (required then), "
        "or anything else a reader needs to know about the date.",
    )
    venue: Str = Field(description="Latest known venue, e.g. `ICLR 2025`; `arXiv` while unpublished.")
    venue_source: VenueSource | None = Field(
        default=None,
        description="Where the venue was verified, so that a later check can tell stale from verified: "
        "`proceedings` (the venue's proceedings or publisher page), `openreview` (an accepted OpenReview "
        "record), `arxiv-journal-ref` / `arxiv-comment` (the arXiv record's journal reference or comment), "
        "`dblp`, `author-page` (the authors' repository or page), `none-found` (looked for a published "
        "version and found none: the venue stays `arXiv`).",
    )
    venue_checked: dt.date | None = Field(default=None, description="Day the venue was last verified.")
    arxiv: Annotated[str, Field(pattern=ARXIV_PATTERN)] | None = Field(
        default=None, description="arXiv id without version, e.g. `2412.06769`."
    )
    arxiv_version: int | None = Field(default=None, ge=1, description="Latest arXiv version seen.")
    doi: Annotated[str, Field(pattern=DOI_PATTERN)] | None = Field(default=None, description="DOI.")
    url: Annotated[str, Field(pattern=URL_PATTERN)] | None = Field(
        default=None, description="Landing page when there is no arXiv id or DOI."
    )
    code: list[CodeRepo] = Field(default_factory=list, description="Code repositories.")
    taxonomy: list[Str] = Field(min_length=1, description="Ids of nodes in catalog/taxonomy.yaml.")
    tags: list[Str] = Field(default_factory=list, description="Tags from catalog/tags.yaml.")
    tldr: Str = Field(description="One or two sentences in our own words: what it does, what it finds.")
    baselines: list[Str] = Field(
        default_factory=list, description="Methods in baselines/methods/ that implement this paper."
    )
    results: list[ReportedResult] = Field(default_factory=list, description="Numbers the paper reports.")

    @field_validator("title", "tldr", "venue")
    @classmethod
    def _normalise_space(cls, value: str) -> str:
        return re.sub(r"\s+", " ", value).strip()

    @field_validator("date")
    @classmethod
    def _plausible_date(cls, value: dt.date) -> dt.date:
        if value.year < 1950:
            raise ValueError(f"date {value} is before 1950")
        if value > dt.date.today():
            raise ValueError(f"date {value} is in the future")
        return value

    @model_validator(mode="after")
    def _venue_check_is_consistent(self) -> "Paper":
        if (self.venue_source is None) != (self.venue_checked is None):
            raise ValueError("venue_source and venue_checked go together: say where the venue was verified and when")
        if self.venue_checked is not None:
            if self.venue_checked > dt.date.today():
                raise ValueError(f"venue_checked {self.venue_checked} is in the future")
            if self.venue_checked < self.date:
                raise ValueError(f"venue_checked {self.venue_checked} is before the paper's date {self.date}")
        if self.venue_source == "none-found" and self.venue != "arXiv":
            raise ValueError(f"venue_source is none-found (no published version) but venue is {self.venue!r}")
        return self

    @model_validator(mode="after")
    def _has_identifier(self) -> "Paper":
        if not (self.arxiv or self.doi or self.url):
            raise ValueError("at least one of arxiv, doi or url is required")
        return self

    @property
    def year(self) -> int:
        return self.date.year

    @property
    def arxiv_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else None

    @property
    def pdf_url(self) -> str | None:
        return f"https://arxiv.org/pdf/{self.arxiv}" if self.arxiv else None

    @property
    def official_code(self) -> str | None:
        return next((c.url for c in self.code if c.official), None)


Kind = Literal["article", "inproceedings", "misc"]
