"""`fetch_quickdraw` against the loopback server in the bucket layout: formats, partial downloads, errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from datakit import write_official_sketchrnn
from inkrec.cli import app
from inkrec.data.dataset import open_dataset
from inkrec.data.download.engine import MANIFEST_NAME, FetchError
from inkrec.data.download.quickdraw import fetch_quickdraw, quickdraw_categories, resolve_categories
from inkrec.data.formats.binary import iter_binary, write_binary
from inkrec.data.formats.ndjson import iter_ndjson
from inkrec.data.formats.numpy_bitmap import load_bitmaps
from inkrec.data.formats.sketchrnn import load_sketchrnn, strokes_to_stroke3
from inkrec.errors import ConfigError


def test_official_category_list_has_345_names_and_covers_the_shared_files(quickdraw):
    cats = quickdraw_categories()
    assert len(cats) == 345 == len(set(cats))
    shared = {p.stem for p in (quickdraw / "simplified").glob("*.ndjson")}
    assert len(shared) == 344 and shared < set(cats)
    assert set(cats) - shared == {"zigzag"}
    assert cats[0] == "aircraft carrier" and cats[-1] == "zigzag"


def test_category_specs(tmp_path):
    assert resolve_categories("cat, dog,cat") == ["cat", "dog"]
    assert resolve_categories("THE EIFFEL TOWER,House Plant") == ["The Eiffel Tower", "house plant"]
    assert resolve_categories("all") == quickdraw_categories()
    listing = tmp_path / "cats.txt"
    listing.write_text("# my classes\ncat\n\nhouse plant  # two words\n", encoding="utf-8")
    assert resolve_categories(f"@{listing}") == ["cat", "house plant"]
    with pytest.raises(ConfigError, match=r"'kat' \(did you mean .*'cat'"):
        resolve_categories("kat")
    with pytest.raises(ConfigError, match="cannot read the category list"):
        resolve_categories(f"@{tmp_path / 'missing.txt'}")
    with pytest.raises(ConfigError, match="no categories"):
        resolve_categories(" , ")
    assert resolve_categories("my own", strict=False) == ["my own"]  # a mirror may carry more


def test_full_npy_files_with_spaces_in_names_and_manifest(server, fetcher, quickdraw, tmp_path):
    files = fetch_quickdraw("cat,house plant", "numpy_bitmap", tmp_path, base_url=server.base_url, fetcher=fetcher)
    assert [f.name for f in files] == ["cat.npy", "house plant.npy"]
    for name in ("cat.npy", "house plant.npy"):
        assert (tmp_path / name).read_bytes() == (quickdraw / "numpy_bitmap" / name).read_bytes()
    assert server.requests_for("/full/numpy_bitmap/house plant.npy")[0]["raw_path"] == (
        "/full/numpy_bitmap/house%20plant.npy")
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    entry = manifest["files"]["house plant.npy"]
    assert entry["sha256"] == hashlib.sha256((tmp_path / "house plant.npy").read_bytes()).hexdigest()
    assert entry["url"].endswith("/full/numpy_bitmap/house%20plant.npy")
    assert entry["checksum"] == "none published" and "max_per_class" not in entry
    assert "CC BY 4.0" in manifest["sources"]["quickdraw"]["license"]
    assert load_bitmaps(tmp_path / "cat.npy").shape == (7970, 784)


def test_second_run_skips_files_the_manifest_vouches_for(server, fetcher, tmp_path):
    fetch_quickdraw("apple", "numpy_bitmap", tmp_path, base_url=server.base_url, fetcher=fetcher)
    again = fetch_quickdraw("apple", "numpy_bitmap", tmp_path, base_url=server.base_url, fetcher=fetcher)
    assert again[0].skipped
    assert len(server.requests_for("/full/numpy_bitmap/apple.npy")) == 1
    # a different request (first 10 rows) is a different file: fetched again
    part = fetch_quickdraw("apple", "numpy_bitmap", tmp_path, base_url=server.base_url, fetcher=fetcher,
                           max_per_class=10)
    assert not part[0].skipped and np.load(tmp_path / "apple.npy", allow_pickle=False).shape == (10, 784)
    # a file damaged on disk (size differs from the manifest) is fetched again
    with open(tmp_path / "apple.npy", "ab") as fh:
        fh.write(b"junk")
    fixed = fetch_quickdraw("apple", "numpy_bitmap", tmp_path, base_url=server.base_url, fetcher=fetcher,
                            max_per_class=10)
    assert not fixed[0].skipped and np.load(tmp_path / "apple.npy", allow_pickle=False).shape == (10, 784)


def test_max_per_class_npy_is_header_plus_n_rows_by_one_bounded_range(server, fetcher, quickdraw, tmp_path):
    src = np.load(quickdraw / "numpy_bitmap" / "cat.npy", mmap_mode="r", allow_pickle=False)
    files = fetch_quickdraw("cat", "numpy_bitmap", tmp_path, base_url=server.base_url, fetcher=fetcher,
                            max_per_class=100)
    out = np.load(tmp_path / "cat.npy", mmap_mode="r", allow_pickle=False)
    assert out.shape == (100, 784) and out.dtype == np.uint8
    assert np.array_equal(out, src[:100])
    assert np.array_equal(load_bitmaps(tmp_path / "cat.npy"), src[:100])  # the project's reader accepts it
    reqs = server.requests_for("/full/numpy_bitmap/cat.npy")
    header_probe, body = reqs
    assert header_probe["range"] == "bytes=0-4095"
    assert body["range"] == f"bytes=0-{128 + 100 * 784 - 1}" and body["status"] == 206
    assert sum(r["sent"] for r in reqs) == 4096 + 128 + 100 * 784  # never the whole 6 MB file
    assert files[0].max_per_class == 100
    assert json.loads((tmp_path / MANIFEST_NAME).read_text())["files"]["cat.npy"]["max_per_class"] == 100


def test_max_per_class_npy_larger_than_the_file_takes_all_rows(server, fetcher, quickdraw, tmp_path):
    fetch_quickdraw("horse", "numpy_bitmap", tmp_path, base_url=server.base_url, fetcher=fetcher,
                    max_per_class=5000)
    src = quickdraw / "numpy_bitmap" / "horse.npy"
    assert (tmp_path / "horse.npy").read_bytes() == src.read_bytes()  # same rows, same header


def test_max_per_class_npy_resumes_after_a_cut(server, fetcher, quickdraw, tmp_path):
    server.cut_after["/full/numpy_bitmap/dog.npy"] = 4096  # lets the header probe through
    fetch_quickdraw("dog", "numpy_bitmap", tmp_path, base_url=server.base_url, fetcher=fetcher, max_per_class=1000)
    reqs = server.requests_for("/full/numpy_bitmap/dog.npy")
    assert [r["range"] for r in reqs] == ["bytes=0-4095", f"bytes=0-{128 + 1000 * 784 - 1}",
                                         f"bytes=4096-{128 + 1000 * 784 - 1}"]
    src = np.load(quickdraw / "numpy_bitmap" / "dog.npy", mmap_mode="r", allow_pickle=False)
    assert np.array_equal(np.load(tmp_path / "dog.npy", allow_pickle=False), src[:1000])


@pytest.mark.parametrize("fmt", ["simplified", "raw"])
def test_max_per_class_ndjson_keeps_the_first_n_lines(server, fetcher, quickdraw, tmp_path, fmt):
    fetch_quickdraw("The Mona Lisa", fmt, tmp_path, base_url=server.base_url, fetcher=fetcher, max_per_class=7)
    got = (tmp_path / "The Mona Lisa.ndjson").read_bytes()
    src = (quickdraw / fmt / "The Mona Lisa.ndjson").read_bytes()
    assert got == b"".join(src.splitlines(keepends=True)[:7])
    records = [json.loads(line) for line in got.splitlines()]
    assert len(records) == 7 and all(r["word"] == "The Mona Lisa" for r in records)
    assert [d.key_id for d in iter_ndjson(tmp_path / "The Mona Lisa.ndjson")] == [r["key_id"] for r in records]


def test_max_per_class_ndjson_stops_the_transfer_early(server, fetcher, quickdraw, tmp_path):
    """A 20 MB ndjson: only the first lines are read, the transfer is dropped, the file is not fetched."""
    lines = [ln.rstrip(b"\n") + b"\n" for ln in (quickdraw / "raw" / "cat.ndjson").read_bytes().splitlines()]
    big = tmp_path / "served" / "big.ndjson"
    big.parent.mkdir()
    with open(big, "wb") as fh:
        while fh.tell() < 20_000_000:
            fh.writelines(lines)
    server.extra["/full/raw/big.ndjson"] = big
    fetch_quickdraw("big", "raw", tmp_path / "out", base_url=server.base_url, fetcher=fetcher, max_per_class=30)
    got = (tmp_path / "out" / "big.ndjson").read_bytes().splitlines(keepends=True)
    assert got == (lines * 2)[:30]
    (req,) = server.requests_for("/full/raw/big.ndjson")
    assert req["sent"] < 10_000_000, req  # the server was cut off long before the end


def test_max_per_class_ndjson_resumes_after_a_cut(server, fetcher, quickdraw, tmp_path):
    src = (quickdraw / "raw" / "cat.ndjson").read_bytes()
    server.cut_after["/full/raw/cat.ndjson"] = 20_001  # mid-line
    fetch_quickdraw("cat", "raw", tmp_path, base_url=server.base_url, fetcher=fetcher, max_per_class=20)
    reqs = server.requests_for("/full/raw/cat.ndjson")
    assert [r["range"] for r in reqs] == [None, "bytes=20001-"]
    assert (tmp_path / "cat.ndjson").read_bytes() == b"".join(src.splitlines(keepends=True)[:20])


def _serve_binary(server, quickdraw: Path, tmp_path: Path, category: str) -> Path:
    """A real .bin written by the project's writer from the shared simplified drawings."""
    src = tmp_path / "served" / f"{category}.bin"
    n = write_binary(src, iter_ndjson(quickdraw / "simplified" / f"{category}.ndjson"))
    assert n == 25
    server.extra[f"/full/binary/{category}.bin"] = src
    return src


def test_binary_full_and_max_per_class(server, fetcher, quickdraw, tmp_path):
    src = _serve_binary(server, quickdraw, tmp_path, "bicycle")
    fetch_quickdraw("bicycle", "binary", tmp_path / "all", base_url=server.base_url, fetcher=fetcher)
    assert (tmp_path / "all" / "bicycle.bin").read_bytes() == src.read_bytes()

    fetch_quickdraw("bicycle", "binary", tmp_path / "few", base_url=server.base_url, fetcher=fetcher,
                    max_per_class=7)
    few = tmp_path / "few" / "bicycle.bin"
    assert src.read_bytes().startswith(few.read_bytes()) and few.stat().st_size < src.stat().st_size
    want = list(iter_binary(src))[:7]
    got = list(iter_binary(few))
    assert [d.key_id for d in got] == [d.key_id for d in want]
    assert all(len(a.strokes) == len(b.strokes) and all(np.array_equal(x, y) for x, y in zip(a.strokes, b.strokes))
               for a, b in zip(got, want))


def test_binary_max_per_class_resumes_mid_record(server, fetcher, quickdraw, tmp_path):
    src = _serve_binary(server, quickdraw, tmp_path, "bird")
    server.cut_after["/full/binary/bird.bin"] = 301  # inside a stroke of an early record
    fetch_quickdraw("bird", "binary", tmp_path / "out", base_url=server.base_url, fetcher=fetcher, max_per_class=12)
    got = list(iter_binary(tmp_path / "out" / "bird.bin"))
    assert [d.key_id for d in got] == [d.key_id for d in list(iter_binary(src))[:12]]
    assert server.requests_for("/full/binary/bird.bin")[1]["range"] == "bytes=301-"


def test_unknown_category_is_a_clear_404_and_the_others_still_arrive(server, fetcher, tmp_path):
    with pytest.raises(FetchError) as err:
        fetch_quickdraw("cat,catt", "simplified", tmp_path, base_url=server.base_url, fetcher=fetcher)
    msg = str(err.value)
    assert "1 of 2" in msg and "'catt'" in msg and "HTTP 404" in msg and "did you mean 'cat'" in msg
    assert (tmp_path / "cat.ndjson").is_file() and not (tmp_path / "catt.ndjson").exists()
    assert not list(tmp_path.glob("*.part"))

    with pytest.raises(FetchError, match=r"category 'nonexistent' \(simplified\) not found at .*HTTP 404"):
        fetch_quickdraw("nonexistent", "simplified", tmp_path, base_url=server.base_url, fetcher=fetcher)


def test_bad_options_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown Quick, Draw! format"):
        fetch_quickdraw("cat", "svg", tmp_path)
    with pytest.raises(ConfigError, match="at least 1"):
        fetch_quickdraw("cat", "raw", tmp_path, max_per_class=0)
    with pytest.raises(ConfigError, match="not a Quick, Draw! category"):  # refused before any request
        fetch_quickdraw("kat", "raw", tmp_path)


def test_a_server_file_that_is_not_npy_is_a_data_format_error(server, fetcher, tmp_path):
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"<html>not here</html>" * 10)
    server.extra["/full/numpy_bitmap/junk.npy"] = junk
    with pytest.raises(Exception) as err:
        fetch_quickdraw("junk", "numpy_bitmap", tmp_path / "out", base_url=server.base_url, fetcher=fetcher,
                        max_per_class=3)
    assert "not a .npy file" in str(err.value) and "junk.npy" in str(err.value)


def test_sketchrnn_files_come_from_their_own_folder_in_googles_layout(server, fetcher, quickdraw, tmp_path):
    served = tmp_path / "bucket"
    served.mkdir()
    for cat in ("cat", "The Great Wall of China"):
        s3 = [strokes_to_stroke3(d.strokes) for d in iter_ndjson(quickdraw / "simplified" / f"{cat}.ndjson")]
        write_official_sketchrnn(served / f"{cat}.npz", {"train": s3[:15], "valid": s3[15:20], "test": s3[20:]})
    server.sketchrnn = served
    dest = tmp_path / "sketchrnn"
    files = fetch_quickdraw("cat,The Great Wall of China", "sketchrnn", dest, base_url=server.base_url,
                            fetcher=fetcher)
    assert [f.name for f in files] == ["cat.npz", "The Great Wall of China.npz"]
    for f in files:
        assert (dest / f.name).read_bytes() == (served / f.name).read_bytes()
    assert server.requests_for("/sketchrnn/The Great Wall of China.npz")[0]["raw_path"] == (
        "/sketchrnn/The%20Great%20Wall%20of%20China.npz")
    ds = open_dataset(dest, split="test")
    assert ds.source == "sketchrnn" and ds.classes == ["The Great Wall of China", "cat"] and len(ds) == 10
    with pytest.raises(ConfigError, match="fetched whole"):
        fetch_quickdraw("cat", "sketchrnn", tmp_path / "n", base_url=server.base_url, fetcher=fetcher,
                        max_per_class=5)


def test_sketchrnn_format_on_the_command_line(server, quickdraw, tmp_path):
    served = tmp_path / "bucket"
    served.mkdir()
    s3 = [strokes_to_stroke3(d.strokes) for d in iter_ndjson(quickdraw / "simplified" / "fish.ndjson")]
    write_official_sketchrnn(served / "fish.npz", {"train": s3[:20], "test": s3[20:]})
    server.sketchrnn = served
    result = CliRunner().invoke(app, ["data", "fetch", "quickdraw", "-c", "fish", "--format", "sketchrnn",
                                      "--dest", str(tmp_path / "out"), "--base-url", server.base_url])
    assert result.exit_code == 0, result.output
    assert "fetched: fish.npz" in result.stderr
    assert [len(v) for v in load_sketchrnn(tmp_path / "out" / "fish.npz").values()] == [20, 5]
