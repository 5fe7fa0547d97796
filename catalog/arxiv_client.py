"""Talking to arXiv: ids in any common form, a polite API client, and what a record says.

Client: rate limit, timeouts, retries with backoff, clear errors.

The `arxiv` package (4.x) builds results from the API's Atom feed, and we use its parser for
that (`arxiv._feed.parse` gives `arxiv.Result` objects). Its `Client` however sends requests
without a timeout, retries at once without backoff, ignores `Retry-After`, and sleeps on the
real clock; so the HTTP side is done here with `requests`, with an injectable clock and sleep
so that tests never wait.

arXiv's terms of use ask for at most one request every three seconds; `ArxivClient` keeps to
that across all the requests it sends, retries included.

Reading a record: the venue it points to (journal ref and comment), the code repositories
linked in its abstract or comment, its DOI, and whether it is withdrawn.
"""

from __future__ import annotations

import email.utils
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import arxiv
import requests
from arxiv import _feed
from lxml import etree

from catalog.model import DOI_PATTERN, CodeRepo

DEFAULT_API_URL = "https://export.arxiv.org/api/query"
API_URL_ENV = "LATENT_ARXIV_API"
USER_AGENT = f"latent-atlas (catalog importer; arxiv.py/{arxiv.__version__})"

ATOM = "{http://www.w3.org/2005/Atom}"
# Statuses worth another try: rate limited, or a server-side failure.
RETRY_STATUSES = {429, 500, 502, 503, 504}
UNPUBLISHED = "arXiv"  # the venue of a paper not (yet) published elsewhere


class ArxivError(Exception):
    """Anything that stops us from getting a usable record from arXiv; the message says what."""


class ArxivUnavailable(ArxivError):
    """The API did not answer usefully after all retries (timeouts, 429, 5xx, refused)."""


class ArxivBadResponse(ArxivError):
    """The API answered, but with something we cannot use: malformed Atom or an error entry."""


class ArxivNotFound(ArxivError):
    """arXiv has no record for one or more of the requested ids."""


class WithdrawnError(ArxivError):
    """arXiv marks the paper as withdrawn."""


def default_api_url() -> str:
    return os.environ.get(API_URL_ENV) or DEFAULT_API_URL


def versionless(entry_id: str) -> str:
    """`http://arxiv.org/abs/2412.06769v2` -> `2412.06769`; `.../abs/cs/0601001v1` -> `cs/0601001`."""
    short = entry_id.split("arxiv.org/abs/")[-1]
    return re.sub(r"v\d+$", "", short)


def version_of(entry_id: str) -> int | None:
    match = re.search(r"v(\d+)$", entry_id)
    return int(match.group(1)) if match else None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


@dataclass
class ArxivClient:
    """Fetches arXiv records by id, a batch of ids per request.

    clock: monotonic seconds, for the rate limit; wall_clock: epoch seconds, for HTTP-date
    `Retry-After` values; sleep: how to wait. All three are injectable for tests.
    """

    api_url: str = field(default_factory=default_api_url)
    timeout: float = 30.0  # seconds, for connecting and for each read
    max_retries: int = 4  # retries after the first try
    backoff: float = 3.0  # first retry waits this long, then twice as long each time
    max_wait: float = 120.0  # longest single wait we accept (backoff or Retry-After)
    min_interval: float = 3.0  # arXiv's terms: at most one request every three seconds
    page_size: int = 100  # ids per request
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session)
    _last_request: float | None = field(default=None, init=False, repr=False)

    def fetch(self, ids: Iterable[str]) -> dict[str, arxiv.Result]:
        """Records for `ids` (versionless canonical ids), keyed by id; raises ArxivNotFound for
        any id arXiv does not know. Ids are sent in batches of `page_size` (`id_list`)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, arxiv.Result] = {}
        for start in range(0, len(wanted), self.page_size):
            batch = wanted[start : start + self.page_size]
            found.update(self.fetch_batch(batch))
        missing = [i for i in wanted if i not in found]
        if missing:
            raise ArxivNotFound(f"arXiv has no record for {', '.join(missing)} (checked {self.api_url})")
        return found

    def fetch_batch(self, ids: list[str]) -> dict[str, arxiv.Result]:
        """One API request for up to `page_size` ids; returns the records that came back."""
        params = {"id_list": ",".join(ids), "start": "0", "max_results": str(len(ids))}
        content = self.get(params)
        results = parse_feed(content, where=self.api_url)
        wanted = set(ids)
        found: dict[str, arxiv.Result] = {}
        for result in results:
            key = versionless(result.entry_id)
            # An unknown id used to come back as an entry with no title; treat it as missing.
            if key in wanted and result.title.strip():
                found[key] = result
        return found

    def get(self, params: dict[str, str]) -> bytes:
        """GET the API with retries; returns the body of a 200 answer."""
        problem = ""
        for attempt in range(self.max_retries + 1):
            self._respect_rate_limit()
            retry_after: float | None = None
            try:
                response = self.session.get(
                    self.api_url,
                    params=params,
                    headers={"User-Agent": USER_AGENT},
                    timeout=self.timeout,
                )
            except requests.Timeout:
                problem = f"no answer within {self.timeout:g} s"
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"could not connect ({type(exc).__name__})"
            except requests.RequestException as exc:  # a URL that cannot be requested at all
                raise ArxivError(f"cannot request {self.api_url!r}: {exc}") from None
            else:
                if response.status_code == 200:
                    return response.content
                if response.status_code not in RETRY_STATUSES:
                    raise ArxivBadResponse(_describe_http_error(response, self.api_url))
                problem = f"HTTP {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self.wall_clock())
            finally:
                self._last_request = self.clock()
            if attempt == self.max_retries:
                break
            wait = self.backoff * 2**attempt if retry_after is None else retry_after
            if wait > self.max_wait:
                if retry_after is not None:
                    raise ArxivUnavailable(
                        f"{self.api_url} asks us to come back in {retry_after:.0f} s ({problem}); "
                        "try again later"
                    )
                wait = self.max_wait
            self.sleep(wait)
        tries = self.max_retries + 1
        raise ArxivUnavailable(
            f"{self.api_url} did not answer usefully after {tries} tries (last: {problem}); "
            "try again later, or point --api-url / LATENT_ARXIV_API at a mirror"
        )

    def _respect_rate_limit(self) -> None:
        if self._last_request is None:
            return
        elapsed = self.clock() - self._last_request
        if elapsed < self.min_interval:
            self.sleep(self.min_interval - elapsed)


def parse_feed(content: bytes, where: str) -> list[arxiv.Result]:
    """Results of an Atom answer. Raises ArxivBadResponse for malformed XML, a document that
    is not an Atom feed, or an API error entry (arXiv reports bad requests as an entry whose
    title is `Error` and whose id points at `.../api/errors`)."""
    if not content.strip():
        raise ArxivBadResponse(f"{where} answered with an empty document")
    try:
        # Strict parse: the `arxiv` parser recovers from broken XML, we want to know.
        root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise ArxivBadResponse(f"{where} answered with malformed XML: {getattr(exc, 'msg', None) or exc}") from None
    if root.tag != f"{ATOM}feed":
        raise ArxivBadResponse(f"{where} answered with <{etree.QName(root).localname}>, not an Atom <feed>")
    errors = _error_entries(root)
    if errors:
        raise ArxivBadResponse(f"arXiv API error: {'; '.join(errors)}")
    feed = _feed.parse(content)
    if feed.malformed:
        raise ArxivBadResponse(f"{where} answered with an unreadable feed: {feed.error}")
    return feed.results


def _error_entries(root: etree._Element) -> list[str]:
    messages = []
    for entry in root.iterfind(f"{ATOM}entry"):
        entry_id = entry.findtext(f"{ATOM}id") or ""
        title = (entry.findtext(f"{ATOM}title") or "").strip()
        if "/api/errors" in entry_id or title.lower() == "error":
            summary = " ".join((entry.findtext(f"{ATOM}summary") or "").split())
            messages.append(summary or entry_id or "unspecified error")
    return messages


def _describe_http_error(response: requests.Response, where: str) -> str:
    """arXiv answers a bad request with HTTP 400 and an Atom error entry; show that message."""
    detail = ""
    try:
        root = etree.fromstring(response.content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
        detail = "; ".join(_error_entries(root))
    except (etree.XMLSyntaxError, ValueError):
        pass
    return f"{where} answered HTTP {response.status_code}" + (f": {detail}" if detail else "")


# --- arXiv identifiers -------------------------------------------------------------------------

_NEW_ID = re.compile(r"(?P<id>(?P<yymm>\d{4})\.(?P<seq>\d{4,5}))(?:v(?P<v>\d+))?")
_OLD_ID = re.compile(r"(?P<archive>[a-z][a-z-]*)(?:\.[a-z]{2})?/(?P<num>(?P<yymm>\d{4})\d{3})(?:v(?P<v>\d+))?")
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format)/", re.I)
ID_EXAMPLES = "2412.06769, 2412.06769v2, arXiv:2412.06769, https://arxiv.org/abs/2412.06769, cs/0601001"


@dataclass(frozen=True)
class ArxivId:
    """A canonical arXiv id (no version; old-style ids without the subject class, as the API
    writes them: `math.GT/0309136` -> `math/0309136`) and the version asked for, if any."""

    id: str
    version: int | None = None


def parse_arxiv_id(text: str) -> ArxivId:
    """Read an arXiv id in any common form; raises ValueError naming the input otherwise."""
    raw = text
    text = text.strip()
    text = re.sub(r"^arxiv:\s*", "", text, flags=re.I)
    if _URL_PREFIX.match(text):
        text = _URL_PREFIX.sub("", text)
        text = re.split(r"[?#]", text)[0].rstrip("/")
        text = re.sub(r"\.pdf$", "", text, flags=re.I)
    if match := _NEW_ID.fullmatch(text):
        yymm, seq = match["yymm"], match["seq"]
        if not 1 <= int(yymm[2:]) <= 12 or yymm < "0704":
            raise ValueError(f"{raw!r}: {yymm} is not a valid year-month for a new-style arXiv id")
        if (yymm >= "1501") != (len(seq) == 5):
            when, digits = ("from 2015 on", 5) if yymm >= "1501" else ("before 2015", 4)
            raise ValueError(f"{raw!r}: arXiv ids {when} have {digits} digits after the dot")
        return ArxivId(match["id"], int(match["v"]) if match["v"] else None)
    if match := _OLD_ID.fullmatch(text.lower()):
        if not 1 <= int(match["yymm"][2:]) <= 12:
            raise ValueError(f"{raw!r}: {match['yymm']} is not a valid year-month for an arXiv id")
        return ArxivId(f"{match['archive']}/{match['num']}", int(match["v"]) if match["v"] else None)
    raise ValueError(f"{raw!r} is not an arXiv id or URL (expected e.g. {ID_EXAMPLES})")


# --- venue hints -------------------------------------------------------------------------------

# (name we write, how it appears). More specific names come first: the first match wins, so the
# "Findings of the Association for Computational Linguistics: EMNLP 2024" journal ref is EMNLP.
VENUES: list[tuple[str, str]] = [
    ("NeurIPS", r"NeurIPS|NIPS|Neural Information Processing Systems"),
    ("ICLR", r"ICLR|International Conference on Learning Representations"),
    ("ICML", r"ICML|International Conference on Machine Learning"),
    ("COLM", r"COLM|Conference on Language Modeling"),
    ("TMLR", r"TMLR|Transactions on Machine Learning Research"),
    ("JMLR", r"JMLR|Journal of Machine Learning Research"),
    ("TACL", r"TACL|Transactions of the Association for Computational Linguistics"),
    ("EMNLP", r"EMNLP|Empirical Methods in Natural Language Processing"),
    ("NAACL", r"NAACL|North American Chapter of the Association for Computational Linguistics"),
    ("EACL", r"EACL|European Chapter of the Association for Computational Linguistics"),
    ("AACL", r"AACL|Asia-Pacific Chapter of the Association for Computational Linguistics"),
    ("COLING", r"COLING|International Conference on Computational Linguistics"),
    ("CoNLL", r"CoNLL|Conference on Computational Natural Language Learning"),
    ("ACL", r"ACL|Association for Computational Linguistics"),
    ("AAAI", r"AAAI"),
    ("IJCAI", r"IJCAI"),
    ("AISTATS", r"AISTATS"),
    ("UAI", r"UAI"),
    ("CVPR", r"CVPR"),
    ("ICCV", r"ICCV"),
    ("ECCV", r"ECCV"),
    ("KDD", r"KDD"),
    ("SIGIR", r"SIGIR"),
]
_VENUE_RES = [(name, re.compile(rf"(?<![A-Za-z])(?:{alias})(?![A-Za-z])", re.I)) for name, alias in VENUES]
# A clause with one of these is about somewhere the paper is not (yet) published.
_NOT_PUBLISHED = re.compile(
    r"under review|submitted|in submission|submission to|rejected|extended version of|extension of", re.I
)
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)|'(\d\d)(?!\d)")
_URL = re.compile(r"\S*(?:https?://|www\.)\S*|\S+\.(?:com|org|io|ai|co)/\S*", re.I)


def _years(text: str) -> list[tuple[int, int]]:
    """(position, year) for every year in `text`, `2024` or `'24`."""
    return [(m.start(), int(m[1]) if m[1] else 2000 + int(m[2])) for m in _YEAR.finditer(text)]


def _known_venue(text: str, fallback_year: int) -> str | None:
    text = _URL.sub(" ", text)
    for clause in re.split(r";|\.\s|\n", text):
        if _NOT_PUBLISHED.search(clause):
            continue
        for name, pattern in _VENUE_RES:
            match = pattern.search(clause)
            if not match:
                continue
            years = _years(clause)
            after = [y for pos, y in years if pos >= match.start()]
            year = (after or [y for _, y in years] or [y for _, y in _years(text)] or [fallback_year])[0]
            suffix = ""
            if re.search(r"findings", clause, re.I):
                suffix = " Findings"
            elif re.search(r"workshop", clause, re.I):
                suffix = " Workshop"
            return f"{name} {year}{suffix}"
    return None


def _journal_name(journal_ref: str) -> str | None:
    """`Adv.Theor.Math.Phys.2:231-252,1998` -> `Adv.Theor.Math.Phys. 1998` (name and year)."""
    first = journal_ref.split(";")[0]
    name = re.split(r"[\d,(:]", first)[0].strip(" ,;:-")
    if len(name) < 3:
        return None
    years = _years(first)
    return f"{name} {years[0][1]}" if years else name


def venue_from(comment: str | None, journal_ref: str | None, fallback_year: int) -> str:
    """The venue the arXiv record points to, e.g. `ICLR 2025`, `ACL 2025 Findings`; `arXiv` when
    none. The journal ref is read first, then the comment. A venue without a year takes the year
    of the latest version (a "Published in TMLR" comment arrives with the published version).
    Presentation kinds ("spotlight", "oral") are not part of the venue."""
    return venue_and_source(comment, journal_ref, fallback_year)[0]


def venue_and_source(comment: str | None, journal_ref: str | None, fallback_year: int) -> tuple[str, str | None]:
    """`venue_from` and where in the record it was read: `arxiv-journal-ref`, `arxiv-comment`, or
    None when the record names no venue (the venue is then `arXiv`). These are `venue_source`
    values of the Paper model."""
    for text, source in ((journal_ref, "arxiv-journal-ref"), (comment, "arxiv-comment")):
        if text and (venue := _known_venue(text, fallback_year)):
            return venue, source
    if journal_ref and (name := _journal_name(journal_ref)):
        return name, "arxiv-journal-ref"
    return UNPUBLISHED, None


# --- code links --------------------------------------------------------------------------------

_CODE_URL = re.compile(r"(?:https?://)?(?:www\.)?(github\.com|gitlab\.com|huggingface\.co)/([^\s<>\"'{}\\|^`]+)", re.I)
_TRAILING = ".,;:!?)]}>'\"*"


def _repo_url(host: str, path: str) -> str | None:
    """The repository a link points into (`https://github.com/owner/repo`), or None."""
    path = path.rstrip(_TRAILING)
    parts = [p for p in path.split("/") if p]
    host = host.lower()
    if host == "gitlab.com":
        if "-" in parts:
            parts = parts[: parts.index("-")]
        keep = len(parts)
    elif host == "huggingface.co":
        keep = 3 if parts and parts[0] in ("datasets", "spaces") else 2
    else:
        keep = 2
    if len(parts) < keep or keep < 2:
        return None
    parts = parts[:keep]
    parts[-1] = re.sub(r"\.git$", "", parts[-1].rstrip(_TRAILING))
    if not parts[-1]:
        return None
    return f"https://{host}/" + "/".join(parts)


def code_links(*texts: str | None) -> list[CodeRepo]:
    """Repositories linked in the paper's own abstract or comment: the authors' (official)."""
    urls: dict[str, str] = {}
    for text in texts:
        for match in _CODE_URL.finditer(text or ""):
            url = _repo_url(match[1], match[2])
            if url:
                urls.setdefault(url.lower(), url)
    return [CodeRepo(url=url, official=True) for url in urls.values()]


# --- what a record says -----------------------------------------------------------------------

_WITHDRAWN = re.compile(r"\bwithdrawn\b", re.I)


def check_not_withdrawn(result: arxiv.Result) -> None:
    """arXiv conventions: a withdrawal notice in the comment, or an empty or notice-only abstract."""
    aid = versionless(result.entry_id)
    summary = " ".join(result.summary.split())
    if _WITHDRAWN.search(result.comment or "") or not summary or re.match(r"(this (paper|article|submission) (has been|was|is) )?withdrawn", summary, re.I):
        why = " ".join((result.comment or summary or "empty abstract").split())
        raise WithdrawnError(f"arXiv:{aid} is withdrawn ({why}); it is not added")


def first_doi(value: str | None) -> str | None:
    for token in (value or "").split():
        token = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", token, flags=re.I).rstrip(".,;")
        if re.match(DOI_PATTERN, token):
            return token
    return None
