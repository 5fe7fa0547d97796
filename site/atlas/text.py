"""Escaping and small formatting helpers for the generated pages.

Every catalog string reaches a page through `md_escape`: it collapses whitespace (so a string can
never start a new Markdown block) and turns the characters that mean something to Markdown, to
its extensions (attribute lists, tables) or to HTML into numeric character references. Browsers
decode those references back into the same characters, in text and in attribute values alike, so
`<script>`, `[x](javascript:...)` or `{: onclick=...}` are shown as text and never become markup.
URLs are never entity-escaped: `safe_url` keeps only http(s) URLs and percent-encodes anything
that could end a Markdown link destination or an HTML attribute.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import quote, urlsplit

from markupsafe import Markup

# HTML specials, then Markdown/extension specials. `.`, `-` and `+` only matter at the start of
# a line, which an escaped (whitespace-collapsed, inline) string never is.
_SPECIAL = "&<>\"'\\`*_{}[]()#!|~^=:$"
_TABLE = {ord(c): f"&#{ord(c)};" for c in _SPECIAL}

# Characters kept as-is in a URL; everything else is percent-encoded.
_URL_SAFE = "/:?#@!$&*+,;=%~.-_"

_NAME_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "da", "di", "du", "la", "le", "dos", "das", "ter", "ten", "bin", "al"}


def md_escape(value: object) -> Markup:
    """`value` as inline text that Markdown and HTML both show literally."""
    if value is None:
        return Markup("")
    text = " ".join(str(value).split())
    return Markup(text.translate(_TABLE))


def safe_url(url: str | None) -> Markup | None:
    """An http(s) URL made safe for a Markdown link destination or an HTML attribute; else None."""
    if not url:
        return None
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    return Markup(quote(url, safe=_URL_SAFE).replace("&", "&amp;"))


def page_url(src: str, directory_urls: bool = True) -> str:
    """The URL (relative to the site root) MkDocs gives the page or file `src` of the docs folder."""
    if not src.endswith(".md"):
        return src
    stem = src[:-3]
    if not directory_urls:
        return stem + ".html"
    if stem == "index":
        return ""
    if stem.endswith("/index"):
        return stem[: -len("index")]
    return stem + "/"


def url_prefix(src: str, directory_urls: bool = True) -> str:
    """The relative path from the page `src` to the site root, e.g. '../../' for tags/math.md."""
    return "../" * page_url(src, directory_urls).count("/")


def doi_url(doi: str | None) -> Markup | None:
    return safe_url(f"https://doi.org/{quote(doi, safe='/.:;-_')}") if doi else None


def code_fence(text: str, lang: str = "") -> Markup:
    """A fenced code block holding `text` verbatim, with a fence longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return Markup(f"{fence}{lang}\n{text.rstrip()}\n{fence}")


def family_name(author: str) -> str:
    """'Shibo Hao' -> 'Hao'; 'Ludwig van Beethoven' -> 'van Beethoven'."""
    parts = author.split()
    if len(parts) <= 1:
        return author.strip()
    start = len(parts) - 1
    while start > 1 and parts[start - 1].lower() in _NAME_PARTICLES:
        start -= 1
    return " ".join(parts[start:])


def short_authors(authors: list[str]) -> str:
    """'Hao', 'Hao & Tian' or 'Hao et al.'."""
    if not authors:
        return ""
    if len(authors) == 1:
        return family_name(authors[0])
    if len(authors) == 2:
        return f"{family_name(authors[0])} & {family_name(authors[1])}"
    return f"{family_name(authors[0])} et al."


def show_date(date: dt.date, precision: str = "day") -> str:
    return date.strftime("%Y-%m") if precision == "month" else date.isoformat()


def slug(text: str) -> str:
    """A file-name-safe slug: lowercase ASCII letters, digits and single hyphens."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out or "x"


def number(value: float | None, digits: int = 1) -> str:
    """A compact number for tables: 1.2e9 -> '1.2 G', 34.123 -> '34.1', None -> '–'."""
    if value is None:
        return "–"
    magnitude = abs(value)
    for scale, suffix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= scale:
            return f"{value / scale:.{digits}f} {suffix}"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}"


_LIST_ITEM = re.compile(r"([-*]|\d+\.)\s")


def doc_markdown(text: str) -> Markup:
    """A docstring as Markdown: `code`, *emphasis* and lists render as such; HTML is escaped
    (shown as text). A run of indented lines under a line of prose (an aligned table of
    options, a formula) is kept as preformatted text; a list gets the blank line Markdown needs
    before it."""
    lines = text.strip("\n").split("\n")
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if block:
            out.append(str(code_fence("\n".join(block), "text")))
            out.append("")
            block.clear()

    for line in lines:
        indented = line[:1] in (" ", "\t") and line.strip() != ""
        if indented and not _LIST_ITEM.match(line.lstrip()) and (block or (out and out[-1].strip())):
            if not block and out and out[-1].strip():
                out.append("")
            block.append(line.rstrip())
            continue
        flush()
        if _LIST_ITEM.match(line) and out and out[-1].strip() and not _LIST_ITEM.match(out[-1].lstrip()):
            out.append("")
        out.append(_escape_outside_code(line.rstrip()))
    flush()
    return Markup("\n".join(out))


def doc_inline(text: str) -> Markup:
    """A docstring's first paragraph as one line of Markdown (for a table cell or a list item):
    `code` shown as code, HTML escaped, `|` escaped so that it cannot split a table cell."""
    first = " ".join(text.strip().split("\n\n", 1)[0].split()) if text else ""
    return Markup(_escape_outside_code(first).replace("|", "&#124;"))


def _escape_outside_code(line: str) -> str:
    """HTML-escape a Markdown line except inside `code spans` (Markdown escapes those itself);
    a `*` right after a word is a product and is escaped too."""
    parts = re.split(r"(`+[^`]*`+)", line)
    return "".join(part if part.startswith("`") else _TIMES.sub(r"\\*", html.escape(part, quote=False)) for part in parts)


_TIMES = re.compile(r"(?<=[\w)\]])\*(?=[\w(])")  # `k*c` is a product, not emphasis
