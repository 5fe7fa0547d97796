"""A local stand-in for the arXiv API (127.0.0.1) that answers with recorded Atom documents,
and a fake clock so that rate limiting and backoff are tested without waiting."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"

# id_list as sent -> recorded answer
ROUTES = {
    "2412.06769": "2412.06769.xml",
    "2502.05171": "2502.05171.xml",
    "hep-th/9711200": "hep-th_9711200.xml",
    "2005.14165": "2005.14165.xml",
    "2303.12712": "2303.12712.xml",
    "2401.99999": "2401.99999.xml",
    "1807.03819,2109.00301": "batch-1807.03819-2109.00301.xml",
}


# A hand-written entry for the paper in 2412.06769.xml, as a person would keep it: a published
# venue arXiv does not know, no arxiv_version, flow-style results, a comment.
COCONUT_ENTRY = """\
# yaml-language-server: $schema=../schema.json
id: hao2024training
title: Training Large Language Models to Reason in a Continuous Latent Space
authors:
  - Shibo Hao
  - Sainbayar Sukhbaatar
  - DiJia Su
  - Xian Li
  - Zhiting Hu
  - Jason Weston
  - Yuandong Tian
date: 2024-12-09
venue: COLM 2025  # from the conference site
arxiv: "2412.06769"
taxonomy: [continuous-thought]
tags: [continuous-thought, curriculum]
tldr: >-
  Feeds the last hidden state back as the next input instead of a token, learned with a
  curriculum; beats written chain-of-thought on graph-search logic with fewer tokens.
results:
  - {task: prosqa, metric: accuracy, value: 97.0, method: coconut, model: gpt2, source: Table 1}
"""


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Answer:
    """One scripted answer: a recorded file or raw bytes, a status, headers, and a delay."""

    status: int = 200
    fixture: str | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (longer than the client's timeout: a timeout)

    def content(self) -> bytes:
        return fixture(self.fixture) if self.fixture else self.body


class FakeClock:
    """Monotonic and wall time that only move when `sleep` is called; records every sleep."""

    def __init__(self, start: float = 1_000.0, wall: float = 1_700_000_000.0):
        self.now = start
        self.wall_offset = wall - start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self.wall_offset

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Request:
    params: dict[str, str]
    clock_time: float | None  # the fake clock's time when the request arrived


class RecordedArxiv:
    """Serves `script` answers first (in order, whatever the query), then `routes` by id_list;
    an id_list with no route gets the empty feed, as the real API answers for an unknown id."""

    def __init__(self, clock: FakeClock | None = None):
        self.clock = clock
        self.routes = dict(ROUTES)
        self.script: list[Answer] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/query"

    def __enter__(self) -> "RecordedArxiv":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, params: dict[str, str]) -> Answer:
        with self._lock:
            self.requests.append(Request(params, self.clock.now if self.clock else None))
            if self.script:
                return self.script.pop(0)
        name = self.routes.get(params.get("id_list", ""), "empty.xml")
        return Answer(fixture=name)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                query = parse_qs(urlsplit(self.path).query)
                answer = server._answer({k: v[0] for k, v in query.items()})
                if answer.delay:
                    time.sleep(answer.delay)
                body = answer.content()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` (hidden temp files included) and its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
