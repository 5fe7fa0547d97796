"""Download the official evaluation files (ProsQA, multiplication, GSM8K) for the baselines.

Every file is pinned: repository, commit, path and sha256. Files are fetched into a temporary
folder next to the target, every checksum is verified, and only then are the files moved into
place: a failed or corrupted download leaves nothing behind. Files already present with the
right checksum are skipped.

    python -m scripts.download_data                 # into data/ (found by the harness)
    python -m scripts.download_data --out DIR --sets prosqa,multiplication

The harness finds the files in --data-dir, $LATENT_DATA_DIR, data/ or ../shared/data.
Not downloaded: the training files (Git LFS in their repository; the harness generates
ProsQA and multiplication training data, and GSM8K training data is given with --train-file).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests
from tqdm import tqdm

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "data"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
COCONUT = ("facebookresearch/coconut", "27273cb8cca4bb763c041a63b036d0c3b7cbbb48")
ICOT = ("da03/Internalize_CoT_Step_by_Step", "c2e3891d8d577beeaff03fa3b076d1e4db96cfe8")


@dataclass(frozen=True)
class Pinned:
    set: str  # prosqa | multiplication | gsm8k
    repo: str
    commit: str
    source: str  # path in the repository
    target: str  # path under the output folder
    sha256: str


def _icot(set_: str, name: str, sha256: str) -> Pinned:
    return Pinned(set_, *ICOT, f"data/{name}", f"Internalize_CoT_Step_by_Step/{name}", sha256)


FILES = (
    Pinned("prosqa", *COCONUT, "data/prosqa_valid.json", "coconut/prosqa_valid.json",
           "c74e0de24f1e90ec48b1a993e6458a7be4caeef3928f5104e3c2e45d689a5249"),
    Pinned("prosqa", *COCONUT, "data/prosqa_test.json", "coconut/prosqa_test.json",
           "82ddc0afe6ee30eb31bb16fa208e293e55278a20fa987098d48519cae7e12680"),
    _icot("multiplication", "4_by_4_mult/valid.txt", "27c2ca51e9368367b43b4a99eb6148f8dc904531f7ead074d3a97056f788058c"),
    _icot("multiplication", "4_by_4_mult/test_bigbench.txt", "3d902a2a35b3ad626a37fab5ff0964f874ebf79c39dd07eea846c2ee0c733a51"),
    _icot("multiplication", "5_by_5_mult/valid.txt", "d3b95bdf0f74863a88bc777fee3fe23854e6ad458b8e7b847b65dac25e59182c"),
    _icot("multiplication", "5_by_5_mult/test_bigbench.txt", "661ab1db2ea0d33fc3e6e398c75920a7a8471f64ebad481bcaf5c8a8ff2b9c4b"),
    _icot("multiplication", "7_by_7_mult/valid.txt", "3916e4871b6368065db115a640194e4ef6eebba195fdb29a2b9d4c788feee53c"),
    _icot("multiplication", "7_by_7_mult/test_bigbench.txt", "88e10e0ec14cfb87b07e55a57b9e2e70922f7e708e23a67a546ebeecfc1dc256"),
    _icot("multiplication", "9_by_9_mult/valid.txt", "3a589f77acf5093a42f03ad12952d02d2681642b33e372135c6519aa6e90e2b5"),
    _icot("multiplication", "9_by_9_mult/test_bigbench.txt", "0b5d938a7de1ac2fe0582f77da4a4cb6cf57a5f185430430b6b35ceadbdd6000"),
    _icot("multiplication", "11_by_11_mult/valid.txt", "6d9b6d163ad059bbb15e2ea503ab38cc43883ed4cb5636886556b1f526b53d6b"),
    _icot("multiplication", "11_by_11_mult/test_bigbench.txt", "5250b7a92627dff78242c1d32972e2dd6345af419c205712f62d5ea8b8c7ce83"),
    _icot("gsm8k", "gsm8k/valid.txt", "04f9bddfe8ac4846571b1e2b612b289c95770b5012fdb34cc36a597b041afb87"),
    _icot("gsm8k", "gsm8k/test.txt", "e464efa2713fbcf423bdbfb482c543a6a086188c3d97c294b1d19a70c2a515e8"),
)
SETS = sorted({f.set for f in FILES})


class DownloadError(RuntimeError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def url_of(pinned: Pinned, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/{pinned.repo}/{pinned.commit}/{pinned.source}"


def _fetch(url: str, destination: Path, session: requests.Session, timeout: float) -> None:
    try:
        with session.get(url, stream=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise DownloadError(f"{url}: HTTP {response.status_code}")
            with open(destination, "wb") as handle:
                for block in response.iter_content(1 << 16):
                    handle.write(block)
    except requests.RequestException as exc:
        raise DownloadError(f"{url}: {exc}") from None


def download(out: Path, sets: list[str] | None = None, base_url: str = DEFAULT_BASE_URL,
             timeout: float = 60.0, progress: bool = True) -> list[Path]:
    """Fetch the pinned files of `sets` into `out`; returns the files written (all or none)."""
    unknown = sorted(set(sets or []) - set(SETS))
    if unknown:
        raise DownloadError(f"unknown set(s) {', '.join(unknown)}; expected some of {', '.join(SETS)}")
    wanted = [f for f in FILES if not sets or f.set in sets]
    todo = [f for f in wanted if not ((out / f.target).is_file() and sha256_of(out / f.target) == f.sha256)]
    if not todo:
        return []
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".download-"))
    try:
        with requests.Session() as session:
            for pinned in tqdm(todo, desc="download", unit="file", disable=not progress):
                staged = staging / pinned.target
                staged.parent.mkdir(parents=True, exist_ok=True)
                url = url_of(pinned, base_url)
                _fetch(url, staged, session, timeout)
                actual = sha256_of(staged)
                if actual != pinned.sha256:
                    raise DownloadError(f"{url}: sha256 {actual} does not match the pinned {pinned.sha256}; "
                                        "nothing was written")
        written = []
        for pinned in todo:  # every file verified: move them into place
            target = out / pinned.target
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / pinned.target, target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.download_data",
        description="Download the official ProsQA, multiplication and GSM8K evaluation files, pinned by "
        "commit and sha256, into a data folder the harness finds.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: data/ in the repository)")
    parser.add_argument("--sets", help=f"comma-separated subset of {','.join(SETS)} (default: all)")
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="raw-file server (default: GitHub); files are "
                        "read from BASE/<owner>/<repo>/<commit>/<path>")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    parser.add_argument("--list", action="store_true", help="print the pinned files and exit")
    args = parser.parse_args(argv)
    if args.list:
        for f in FILES:
            print(f"{f.set:<15} {f.target:<50} {f.repo}@{f.commit[:12]}:{f.source} sha256 {f.sha256}")
        return 0
    sets = [s.strip() for s in args.sets.split(",") if s.strip()] if args.sets else None
    try:
        written = download(args.out, sets, args.base_url, args.timeout, progress=sys.stderr.isatty())
    except DownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(written)} file(s) written to {args.out}" if written else f"all files already present in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
