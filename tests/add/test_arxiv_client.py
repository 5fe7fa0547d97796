"""The arXiv client against recorded answers on 127.0.0.1: batching, rate limit, retries,
Retry-After, and every kind of unusable answer. A fake clock records the waits."""

from __future__ import annotations

import email.utils
import socket

import pytest
from recorded_arxiv import Answer, FakeClock, RecordedArxiv, fixture

from catalog.arxiv_client import (
    DEFAULT_API_URL,
    ArxivBadResponse,
    ArxivClient,
    ArxivError,
    ArxivNotFound,
    ArxivUnavailable,
    default_api_url,
    parse_retry_after,
)


def test_several_ids_go_in_one_request(client: ArxivClient, api: RecordedArxiv) -> None:
    records = client.fetch(["1807.03819", "2109.00301"])
    assert [r.title for r in records.values()] == ["Universal Transformers", r"$\infty$-former: Infinite Memory Transformer"]
    assert len(api.requests) == 1
    assert api.requests[0].params == {"id_list": "1807.03819,2109.00301", "start": "0", "max_results": "2"}


def test_batches_are_split_by_page_size(client: ArxivClient, api: RecordedArxiv) -> None:
    client.page_size = 1
    api.routes.update({"1807.03819": "batch-1807.03819-2109.00301.xml", "2109.00301": "batch-1807.03819-2109.00301.xml"})
    records = client.fetch(["1807.03819", "2109.00301"])
    assert sorted(records) == ["1807.03819", "2109.00301"]
    assert [r.params["id_list"] for r in api.requests] == ["1807.03819", "2109.00301"]


def test_requests_are_at_least_three_seconds_apart(client: ArxivClient, api: RecordedArxiv, clock: FakeClock) -> None:
    for arxiv_id in ["2412.06769", "2502.05171", "2005.14165"]:
        client.fetch([arxiv_id])
    times = [r.clock_time for r in api.requests]
    assert len(times) == 3
    assert all(b - a >= 3.0 for a, b in zip(times, times[1:]))
    assert clock.sleeps == [3.0, 3.0]  # the fake clock stands still between requests


def test_no_wait_when_enough_time_has_passed(client: ArxivClient, api: RecordedArxiv, clock: FakeClock) -> None:
    client.fetch(["2412.06769"])
    clock.now += 10
    client.fetch(["2502.05171"])
    assert clock.sleeps == []


def test_timeout_then_success(client: ArxivClient, api: RecordedArxiv, clock: FakeClock) -> None:
    client.timeout = 0.2
    api.script = [Answer(fixture="2412.06769.xml", delay=1.5)]  # answers too late once
    records = client.fetch(["2412.06769"])
    assert records["2412.06769"].title.startswith("Training Large Language Models")
    assert len(api.requests) == 2
    assert clock.sleeps == [3.0]  # backoff 3 s (also the rate limit)


def test_connection_refused_is_retried_then_reported(clock: FakeClock) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ArxivClient(api_url=f"http://127.0.0.1:{port}/api/query", max_retries=2, clock=clock.monotonic,
                         wall_clock=clock.wall, sleep=clock.sleep)  # fmt: skip
    with pytest.raises(ArxivUnavailable) as info:
        client.fetch(["2412.06769"])
    assert "after 3 tries" in str(info.value) and "could not connect" in str(info.value)
    assert clock.sleeps == [3.0, 6.0]  # exponential backoff


@pytest.mark.parametrize("url", ["localhost:8000/api/query", "ftp://127.0.0.1/api/query", "http://"])
def test_unusable_api_url_is_named(url: str, clock: FakeClock) -> None:
    client = ArxivClient(api_url=url, clock=clock.monotonic, wall_clock=clock.wall, sleep=clock.sleep)
    with pytest.raises(ArxivError, match="cannot request"):
        client.fetch(["2412.06769"])
    assert clock.sleeps == []


def test_429_with_retry_after_seconds(client: ArxivClient, api: RecordedArxiv, clock: FakeClock) -> None:
    api.script = [Answer(status=429, headers={"Retry-After": "7"})]
    assert "2412.06769" in client.fetch(["2412.06769"])
    assert clock.sleeps == [7.0]
    assert len(api.requests) == 2


def test_429_with_retry_after_http_date(client: ArxivClient, api: RecordedArxiv, clock: FakeClock) -> None:
    when = email.utils.formatdate(clock.wall() + 20, usegmt=True)
    api.script = [Answer(status=429, headers={"Retry-After": when})]
    assert "2412.06769" in client.fetch(["2412.06769"])
    assert clock.sleeps == [20.0]


def test_retry_after_longer_than_we_wait_gives_up_at_once(client: ArxivClient, api: RecordedArxiv, clock: FakeClock) -> None:
    api.script = [Answer(status=503, headers={"Retry-After": "3600"})]
    with pytest.raises(ArxivUnavailable, match="come back in 3600 s"):
        client.fetch(["2412.06769"])
    assert len(api.requests) == 1 and clock.sleeps == []


def test_503_every_time_gives_up_with_a_clear_message(client: ArxivClient, api: RecordedArxiv, clock: FakeClock) -> None:
    api.script = [Answer(status=503) for _ in range(4)]
    with pytest.raises(ArxivUnavailable) as info:
        client.fetch(["2412.06769"])
    message = str(info.value)
    assert "after 4 tries" in message and "HTTP 503" in message and api.url in message
    assert len(api.requests) == 4
    assert clock.sleeps == [3.0, 6.0, 12.0]


def test_backoff_is_capped(client: ArxivClient, api: RecordedArxiv, clock: FakeClock) -> None:
    client.backoff, client.max_wait = 50.0, 60.0
    api.script = [Answer(status=502), Answer(status=500)]
    assert "2412.06769" in client.fetch(["2412.06769"])
    assert clock.sleeps == [50.0, 60.0]


def test_bad_request_is_not_retried_and_shows_the_api_message(client: ArxivClient, api: RecordedArxiv) -> None:
    api.script = [Answer(status=400, fixture="error.xml")]
    with pytest.raises(ArxivBadResponse, match="HTTP 400: incorrect id format for 2412.0676"):
        client.fetch(["2412.06769"])
    assert len(api.requests) == 1


def test_error_entry_in_a_200_answer(client: ArxivClient, api: RecordedArxiv) -> None:
    api.script = [Answer(fixture="error.xml")]
    with pytest.raises(ArxivBadResponse, match="arXiv API error: incorrect id format for 2412.0676"):
        client.fetch(["2412.06769"])


def test_malformed_xml(client: ArxivClient, api: RecordedArxiv) -> None:
    api.script = [Answer(fixture="malformed.xml")]
    with pytest.raises(ArxivBadResponse, match="malformed XML"):
        client.fetch(["2412.06769"])


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_empty_document(client: ArxivClient, api: RecordedArxiv, body: bytes) -> None:
    api.script = [Answer(body=body)]
    with pytest.raises(ArxivBadResponse, match="empty document"):
        client.fetch(["2412.06769"])


def test_not_an_atom_feed(client: ArxivClient, api: RecordedArxiv) -> None:
    api.script = [Answer(body=b"<html><body>Service temporarily unavailable</body></html>")]
    with pytest.raises(ArxivBadResponse, match="not an Atom <feed>"):
        client.fetch(["2412.06769"])


def test_unknown_id_is_an_empty_feed(client: ArxivClient, api: RecordedArxiv) -> None:
    with pytest.raises(ArxivNotFound, match="no record for 2412.99999"):
        client.fetch(["2412.99999"])


def test_partly_unknown_batch_names_the_missing_id(client: ArxivClient, api: RecordedArxiv) -> None:
    api.script = [Answer(fixture="2412.06769.xml")]
    with pytest.raises(ArxivNotFound) as info:
        client.fetch(["2412.06769", "2412.99999"])
    assert "2412.99999" in str(info.value) and "2412.06769," not in str(info.value)


def test_answer_for_another_paper_is_not_taken(client: ArxivClient, api: RecordedArxiv) -> None:
    api.script = [Answer(fixture="2502.05171.xml")]
    with pytest.raises(ArxivNotFound, match="2412.06769"):
        client.fetch(["2412.06769"])


def test_recorded_feeds_parse() -> None:
    from catalog.arxiv_client import parse_feed

    (record,) = parse_feed(fixture("hep-th_9711200.xml"), "test")
    assert record.entry_id == "http://arxiv.org/abs/hep-th/9711200v3"
    assert record.authors[0].affiliation == ["Harvard University"]
    assert record.doi == "10.1023/A:1026654312961"


def test_retry_after_parsing() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_api_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LATENT_ARXIV_API", raising=False)
    assert default_api_url() == DEFAULT_API_URL == "https://export.arxiv.org/api/query"
    monkeypatch.setenv("LATENT_ARXIV_API", "http://127.0.0.1:9/api/query")
    assert default_api_url() == "http://127.0.0.1:9/api/query"
    assert ArxivClient().api_url == "http://127.0.0.1:9/api/query"
