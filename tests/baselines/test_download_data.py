"""scripts/download_data.py against a local HTTP server on 127.0.0.1 (no network)."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts import download_data
from scripts.download_data import FILES, DownloadError, download, sha256_of

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
pytestmark = pytest.mark.skipif(not all((SHARED / f.target).is_file() for f in FILES),
                                reason="the reference copies of the official files are not present")


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def server(tmp_path):
    """Serves <root>/<owner>/<repo>/<commit>/<path> like a raw-file host; yields (base_url, root)."""
    root = tmp_path / "served"
    for f in FILES:
        target = root / f.repo / f.commit / f.source
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHARED / f.target, target)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def test_downloads_and_verifies_pinned_files(server, tmp_path):
    base, _ = server
    out = tmp_path / "data"
    written = download(out, ["prosqa", "gsm8k"], base_url=base, progress=False)
    expected = [f for f in FILES if f.set in ("prosqa", "gsm8k")]
    assert sorted(written) == sorted(out / f.target for f in expected)
    for f in expected:
        assert sha256_of(out / f.target) == f.sha256
    assert not list(out.glob(".download-*"))  # the staging folder is gone
    assert download(out, ["prosqa"], base_url=base, progress=False) == []  # present and verified: skipped


def test_a_corrupted_file_is_an_error_and_nothing_is_written(server, tmp_path):
    base, root = server
    bad = next(f for f in FILES if f.set == "gsm8k")
    path = root / bad.repo / bad.commit / bad.source
    path.write_bytes(path.read_bytes().replace(b"####", b"###", 1))
    out = tmp_path / "data"
    with pytest.raises(DownloadError, match="does not match the pinned"):
        download(out, ["prosqa", "gsm8k"], base_url=base, progress=False)
    assert [p for p in out.rglob("*")] == []  # not even the files that verified


def test_missing_file_and_command_line(server, tmp_path, capsys):
    base, root = server
    first = next(f for f in FILES if f.set == "prosqa")
    (root / first.repo / first.commit / first.source).unlink()
    assert download_data.main(["--out", str(tmp_path / "d"), "--sets", "prosqa", "--base-url", base]) == 1
    assert "HTTP 404" in capsys.readouterr().err
    assert download_data.main(["--out", str(tmp_path / "d"), "--sets", "gsm8k", "--base-url", base]) == 0
    assert "2 file(s) written" in capsys.readouterr().out
    assert download_data.main(["--sets", "nope", "--out", str(tmp_path / "d")]) == 1
    assert "unknown set(s) nope" in capsys.readouterr().err
