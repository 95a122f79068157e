"""The downloader against a real loopback server: resume after a cut, retries, checksums, atomicity."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from inkrec.data.download.engine import ChecksumError, Fetcher, FetchError
from inkrec.data.download.quickdraw import quickdraw_url

CAT = "/full/numpy_bitmap/cat.npy"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_full_download_is_byte_identical_and_leaves_no_part(server, fetcher, quickdraw, tmp_path):
    src = quickdraw / "numpy_bitmap" / "cat.npy"
    dl = fetcher.fetch(server.base_url + CAT, tmp_path / "cat.npy")
    assert (tmp_path / "cat.npy").read_bytes() == src.read_bytes()
    assert dl.bytes == src.stat().st_size and dl.received == src.stat().st_size
    assert dl.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.npy"]  # no .part, no .part.json
    (req,) = server.requests_for(CAT)
    assert req["range"] is None and req["status"] == 200


def test_cut_mid_file_next_run_resumes_with_range(server, quickdraw, tmp_path):
    src = quickdraw / "numpy_bitmap" / "cat.npy"
    cut = 1_000_003
    server.cut_after[CAT] = cut
    dest = tmp_path / "cat.npy"
    with Fetcher(timeout=5, retries=0, backoff=0.01) as f, pytest.raises(FetchError) as err:
        f.fetch(server.base_url + CAT, dest)
    assert "run the same command again to resume" in str(err.value)
    part = tmp_path / "cat.npy.part"
    assert not dest.exists()  # nothing half-written under the real name
    assert part.stat().st_size == cut
    assert part.read_bytes() == src.read_bytes()[:cut]

    with Fetcher(timeout=5, retries=0, backoff=0.01) as f:  # the next run
        dl = f.fetch(server.base_url + CAT, dest)
    reqs = server.requests_for(CAT)
    assert len(reqs) == 2
    assert reqs[1]["range"] == f"bytes={cut}-" and reqs[1]["status"] == 206
    assert reqs[1]["if_range"] is not None  # guarded against a file that changed meanwhile
    assert reqs[1]["sent"] == src.stat().st_size - cut  # only the rest travelled
    assert dl.resumed_from == cut and dl.received == src.stat().st_size - cut
    assert dest.read_bytes() == src.read_bytes()
    assert not part.exists()


def test_cut_mid_file_is_resumed_by_the_retry_in_the_same_run(server, fetcher, quickdraw, tmp_path):
    src = quickdraw / "numpy_bitmap" / "rainbow.npy"
    path = "/full/numpy_bitmap/rainbow.npy"
    server.cut_after[path] = 123_457
    dl = fetcher.fetch(server.base_url + path, tmp_path / "rainbow.npy")
    reqs = server.requests_for(path)
    assert [r["range"] for r in reqs] == [None, "bytes=123457-"]
    assert dl.attempts == 2
    assert (tmp_path / "rainbow.npy").read_bytes() == src.read_bytes()


def test_server_that_ignores_range_makes_the_client_start_over(server, quickdraw, tmp_path):
    src = quickdraw / "numpy_bitmap" / "dog.npy"
    path = "/full/numpy_bitmap/dog.npy"
    server.cut_after[path] = 500_000
    dest = tmp_path / "dog.npy"
    with Fetcher(timeout=5, retries=0) as f, pytest.raises(FetchError):
        f.fetch(server.base_url + path, dest)
    server.ignore_range = True
    with Fetcher(timeout=5, retries=0) as f:
        dl = f.fetch(server.base_url + path, dest)
    last = server.requests_for(path)[-1]
    assert last["range"] == "bytes=500000-" and last["status"] == 200
    assert dest.read_bytes() == src.read_bytes()  # not the old prefix + the whole file again
    assert dl.received == src.stat().st_size


def test_file_changed_on_server_between_runs_is_fetched_from_the_start(server, tmp_path):
    served = tmp_path / "served.bin"
    served.write_bytes(os.urandom(300_000))
    server.extra["/changing.bin"] = served
    server.cut_after["/changing.bin"] = 100_000
    dest = tmp_path / "out" / "changing.bin"
    with Fetcher(timeout=5, retries=0) as f, pytest.raises(FetchError):
        f.fetch(server.base_url + "/changing.bin", dest)
    new = os.urandom(300_000)
    served.write_bytes(new)
    os.utime(served, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))  # a new ETag for certain
    with Fetcher(timeout=5, retries=0) as f:
        f.fetch(server.base_url + "/changing.bin", dest)
    last = server.requests_for("/changing.bin")[-1]
    assert last["range"] == "bytes=100000-" and last["if_range"] is not None and last["status"] == 200
    assert dest.read_bytes() == new


def test_published_checksum_accepts_the_right_bytes_and_rejects_others(server, fetcher, datasets, tmp_path):
    src = datasets / "mnist" / "t10k-labels-idx1-ubyte.gz"
    url = server.base_url + "/mnist/t10k-labels-idx1-ubyte.gz"
    dl = fetcher.fetch(url, tmp_path / "ok" / src.name, md5=_md5(src))
    assert dl.md5 == _md5(src)

    dest = tmp_path / "bad" / src.name
    with pytest.raises(ChecksumError) as err:
        fetcher.fetch(url, dest, md5="0" * 32)
    msg = str(err.value)
    assert "checksum mismatch" in msg and "0" * 32 in msg and _md5(src) in msg
    assert not dest.exists() and not dest.with_name(src.name + ".part").exists()


def test_5xx_answers_are_retried_with_backoff(server, fetcher, quickdraw, tmp_path):
    path = "/full/simplified/cat.ndjson"
    server.fail_times[path] = 2
    fetcher.fetch(server.base_url + path, tmp_path / "cat.ndjson")
    assert [r["status"] for r in server.requests_for(path)] == [503, 503, 200]
    assert (tmp_path / "cat.ndjson").read_bytes() == (quickdraw / "simplified" / "cat.ndjson").read_bytes()


def test_persistent_5xx_gives_up_with_a_clear_error(server, tmp_path):
    path = "/full/simplified/dog.ndjson"
    server.fail_times[path] = 10
    with Fetcher(timeout=5, retries=2, backoff=0.01) as f, pytest.raises(FetchError) as err:
        f.fetch(server.base_url + path, tmp_path / "dog.ndjson")
    assert "HTTP 503" in str(err.value) and "3 attempt" in str(err.value)
    assert len(server.requests_for(path)) == 3


def test_stalled_server_times_out_and_the_retry_resumes(server, quickdraw, tmp_path):
    path = "/full/numpy_bitmap/horse.npy"
    server.stall[path] = 3.0  # first chunk, then silence longer than the time-out
    with Fetcher(timeout=0.5, retries=2, backoff=0.01) as f:
        dl = f.fetch(server.base_url + path, tmp_path / "horse.npy")
    reqs = server.requests_for(path)
    assert len(reqs) == 2 and reqs[1]["range"] == f"bytes={64 * 1024}-"
    assert dl.attempts == 2
    assert (tmp_path / "horse.npy").read_bytes() == (quickdraw / "numpy_bitmap" / "horse.npy").read_bytes()


def test_not_found_is_not_retried(server, fetcher, tmp_path):
    with pytest.raises(FetchError) as err:
        fetcher.fetch(server.base_url + "/full/numpy_bitmap/nothing.npy", tmp_path / "nothing.npy")
    assert err.value.status == 404 and "not found" in str(err.value)
    assert len(server.requests_for("/full/numpy_bitmap/nothing.npy")) == 1


def test_category_names_are_url_quoted():
    assert quickdraw_url("https://x/b/", "numpy_bitmap", "The Eiffel Tower") == (
        "https://x/b/full/numpy_bitmap/The%20Eiffel%20Tower.npy")
    assert quickdraw_url("https://x/b", "binary", "house plant") == "https://x/b/full/binary/house%20plant.bin"
