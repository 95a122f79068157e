"""MNIST-family downloads against the loopback server: published md5s, mirrors, EMNIST's zip."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from inkrec.data.download.engine import MANIFEST_NAME, ChecksumError, FetchError
from inkrec.data.download.mnist import IDX_SOURCES, emnist_mapping_member, emnist_members, fetch_idx_dataset
from inkrec.data.formats.idx import load_idx
from inkrec.errors import ConfigError, DataFormatError

MNIST_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_every_idx_source_lists_the_official_file_names_and_md5s():
    for name in ("mnist", "fashion-mnist", "kmnist"):
        src = IDX_SOURCES[name]
        assert list(src.files) == MNIST_FILES
        assert all(isinstance(m, str) and len(m) == 32 for m in src.files.values())
        assert all(m.startswith(("https://", "http://")) and m.endswith("/") for m in src.mirrors)
    assert IDX_SOURCES["emnist"].files == {"gzip.zip": "58c8d27c78d21e728a6bc7b3cc06412e"}


def test_shared_subset_fails_the_official_mnist_md5_with_a_clear_error(server, fetcher, tmp_path):
    """The shared MNIST files are a 5,000-digit subset, so they are not the published bytes."""
    with pytest.raises(ChecksumError) as err:
        fetch_idx_dataset("mnist", tmp_path, base_url=server.base_url + "/mnist/", fetcher=fetcher)
    msg = str(err.value)
    assert "train-images-idx3-ubyte.gz" in msg and "checksum mismatch" in msg
    assert IDX_SOURCES["mnist"].files["train-images-idx3-ubyte.gz"] in msg
    assert not any(tmp_path.glob("*.gz")) and not any(tmp_path.glob("*.part"))


def test_no_verify_fetches_a_mirror_and_records_our_sha256(server, fetcher, datasets, tmp_path):
    files = fetch_idx_dataset("mnist", tmp_path, base_url=server.base_url + "/mnist", verify=False, fetcher=fetcher)
    assert [f.name for f in files] == MNIST_FILES
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    for name in MNIST_FILES:
        data = (tmp_path / name).read_bytes()
        assert data == (datasets / "mnist" / name).read_bytes()
        assert manifest["files"][name]["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["files"][name]["checksum"] == "md5 not verified (--no-verify)"
    assert "LeCun" in manifest["sources"]["mnist"]["attribution"]
    assert load_idx(tmp_path / "t10k-images-idx3-ubyte.gz").shape == (10000, 28, 28)
    again = fetch_idx_dataset("mnist", tmp_path, base_url=server.base_url + "/mnist", verify=False, fetcher=fetcher)
    assert all(f.skipped for f in again)
    assert len(server.log) == 4


def test_a_file_already_in_place_with_the_published_md5_is_adopted(server, fetcher, datasets, tmp_path, monkeypatch):
    """Files copied in by hand need no download when they match the published sums."""
    sums = {n: hashlib.md5((datasets / "mnist" / n).read_bytes()).hexdigest() for n in MNIST_FILES}
    monkeypatch.setitem(IDX_SOURCES, "mnist", dataclasses.replace(IDX_SOURCES["mnist"], files=sums))
    for n in MNIST_FILES:
        (tmp_path / n).write_bytes((datasets / "mnist" / n).read_bytes())
    files = fetch_idx_dataset("mnist", tmp_path, base_url=server.base_url + "/mnist", fetcher=fetcher)
    assert all(f.skipped and f.checksum == "md5 verified (published)" for f in files)
    assert server.log == []


def test_a_mirror_without_the_file_falls_back_to_the_next(server, fetcher, datasets, tmp_path, monkeypatch):
    monkeypatch.setitem(IDX_SOURCES, "mnist", dataclasses.replace(
        IDX_SOURCES["mnist"], mirrors=(server.base_url + "/gone/", server.base_url + "/mnist/")))
    files = fetch_idx_dataset("mnist", tmp_path, verify=False, fetcher=fetcher)
    assert all(f.url.startswith(server.base_url + "/mnist/") for f in files)
    assert [r["status"] for r in server.log] == [404, 200] * 4


def test_a_mirror_that_is_down_everywhere_is_a_clear_error(server, fetcher, tmp_path):
    with pytest.raises(FetchError, match=r"(?s)mnist: could not fetch train-images-idx3-ubyte.gz.*not found \(HTTP 404\)"):
        fetch_idx_dataset("mnist", tmp_path, base_url=server.base_url + "/nowhere/", fetcher=fetcher)


def _emnist_zip(datasets: Path, path: Path) -> Path:
    """A small zip in the layout of NIST's gzip.zip (gzip/emnist-<split>-...), from the real MNIST files."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for split in ("mnist", "digits"):
            for member in emnist_members(split):
                name = Path(member).name
                part = "train" if "-train-" in name else "t10k"
                kind = "images-idx3" if "images" in name else "labels-idx1"
                zf.write(datasets / "mnist" / f"{part}-{kind}-ubyte.gz", member)
        zf.writestr(emnist_mapping_member("mnist"), "".join(f"{i} {48 + i}\n" for i in range(10)))
    return path


def test_emnist_zip_is_fetched_verified_and_the_split_extracted(server, fetcher, datasets, tmp_path, monkeypatch):
    archive = _emnist_zip(datasets, tmp_path / "gzip.zip")
    server.extra["/emnist/gzip.zip"] = archive
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setitem(IDX_SOURCES, "emnist", dataclasses.replace(IDX_SOURCES["emnist"], files={"gzip.zip": md5}))
    dest = tmp_path / "emnist"
    files = fetch_idx_dataset("emnist", dest, base_url=server.base_url + "/emnist/", fetcher=fetcher, splits=["mnist"])
    names = [f.name for f in files]
    assert names == ["gzip.zip"] + [Path(m).name for m in emnist_members("mnist")] + ["emnist-mnist-mapping.txt"]
    assert (dest / "emnist-mnist-mapping.txt").read_text().splitlines()[1] == "1 49"
    assert (dest / "emnist-mnist-test-images-idx3-ubyte.gz").read_bytes() == (
        datasets / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes()
    labels = load_idx(dest / "emnist-mnist-train-labels-idx1-ubyte.gz")
    assert labels.shape == (5000,) and set(np.unique(labels)) == set(range(10))
    assert not (dest / "emnist-digits-train-images-idx3-ubyte.gz").exists()  # only the split asked for
    manifest = json.loads((dest / MANIFEST_NAME).read_text())
    entry = manifest["files"]["emnist-mnist-train-images-idx3-ubyte.gz"]
    assert entry["extracted_from"] == "gzip.zip" and entry["checksum"] == "in an archive whose md5 was verified"
    assert manifest["files"]["gzip.zip"]["checksum"] == "md5 verified (published)"

    # the archive can go; the extracted split is then enough for the next run, no download
    fetch_idx_dataset("emnist", dest, base_url=server.base_url + "/emnist/", fetcher=fetcher, splits=["mnist"],
                      keep_archive=False)
    assert not (dest / "gzip.zip").exists()
    n_requests = len(server.log)
    again = fetch_idx_dataset("emnist", dest, base_url=server.base_url + "/emnist/", fetcher=fetcher,
                              splits=["mnist"])
    assert all(f.skipped for f in again) and len(server.log) == n_requests

    # a split whose archive has no mapping table still extracts its idx files
    digits = fetch_idx_dataset("emnist", dest, base_url=server.base_url + "/emnist/", fetcher=fetcher,
                               splits=["digits"])
    assert [f.name for f in digits] == ["gzip.zip"] + [Path(m).name for m in emnist_members("digits")]


def test_emnist_bad_split_and_bad_archive(server, fetcher, datasets, tmp_path):
    with pytest.raises(ConfigError, match="unknown EMNIST split"):
        fetch_idx_dataset("emnist", tmp_path, splits=["cursive"])
    with pytest.raises(ConfigError, match="unknown data set"):
        fetch_idx_dataset("cifar", tmp_path)
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK not really a zip" * 100)
    server.extra["/emnist/gzip.zip"] = junk
    with pytest.raises(DataFormatError, match="not a readable zip archive"):
        fetch_idx_dataset("emnist", tmp_path / "e", base_url=server.base_url + "/emnist", verify=False,
                          fetcher=fetcher)
    only_digits = tmp_path / "digits.zip"
    with zipfile.ZipFile(only_digits, "w") as zf:
        zf.writestr("gzip/readme.txt", "nothing")
    server.extra["/emnist/gzip.zip"] = only_digits
    with pytest.raises(DataFormatError, match="has no member gzip/emnist-letters-train-images-idx3-ubyte.gz"):
        fetch_idx_dataset("emnist", tmp_path / "f", base_url=server.base_url + "/emnist", verify=False,
                          fetcher=fetcher, splits=["letters"], force=True)
