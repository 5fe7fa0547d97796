"""Fixtures for `latent add` / `latent refresh` tests: a recorded arXiv API on 127.0.0.1, a fake
clock, a client wired to both, and an empty papers folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from recorded_arxiv import FakeClock, RecordedArxiv

from catalog.arxiv_client import ArxivClient


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> Iterator[RecordedArxiv]:
    with RecordedArxiv(clock) as server:
        yield server


@pytest.fixture
def client(api: RecordedArxiv, clock: FakeClock) -> ArxivClient:
    return ArxivClient(
        api_url=api.url, timeout=5.0, max_retries=3, clock=clock.monotonic, wall_clock=clock.wall, sleep=clock.sleep
    )


@pytest.fixture
def papers(tmp_path: Path) -> Path:
    folder = tmp_path / "papers"
    folder.mkdir()
    return folder


@pytest.fixture
def use_client(monkeypatch: pytest.MonkeyPatch, client: ArxivClient) -> ArxivClient:
    """Make `latent add` / `latent refresh` (run in-process) use the fake-clock client; the
    client keeps the retry count and timeout the command line asked for."""
    import scripts.add_commands as add_commands

    def make_client(args):
        client.max_retries = args.retries
        client.timeout = args.timeout
        return client

    monkeypatch.setattr(add_commands, "make_client", make_client)
    return client

