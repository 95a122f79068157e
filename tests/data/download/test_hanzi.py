"""The Chinese handwriting catalogues against the loopback server, serving archives in the publishers'
layouts made from real handwriting: CASIA's `Online/CharData/Pot1.1Train.zip` (writer 1043's real `.pot`
records), `Offline/CharData/Gnt1.1*.zip` (real Chinese MNIST numerals as `.gnt`), and the Traditional Chinese
Handwriting data set's `all_data.zip.NNN` slices and Google Drive parts (real Tegaki ink drawn as PNGs)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from inkrec.cli import app
from inkrec.data import formats
from inkrec.data.dataset import open_dataset
from inkrec.data.download.engine import MANIFEST_NAME, ChecksumError, FetchError
from inkrec.data.download.hanzi import HANZI_SOURCES, fetch_hanzi
from inkrec.data.formats import pot, tchd, tegaki
from inkrec.data.formats.gnt import write_gnt
from inkrec.data.formats.image_folder import ImageFolder
from inkrec.preprocess.raster import rasterize

CASIA = "/databases/Download/"
TCHD = "/chenkenanalytic/handwritting_data_all/raw/master/"
COMMON = "/AI-FREE-Team/Traditional-Chinese-Handwriting-Dataset/raw/master/data/"


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def casia_files(tmp_path_factory, datasets: Path) -> dict[str, Path]:
    """OLHWDB1.1 archives with writer 1043's real records: the first 600 as train writer 1043, the rest
    as test writer 1250 (the official layout: one file per writer, flat in the zip)."""
    folder = tmp_path_factory.mktemp("casia")
    real = (datasets / "casia-olhwdb" / "1043-c.pot").read_bytes()
    cut = int(pot.index_pot(datasets / "casia-olhwdb" / "1043-c.pot").offsets[600])
    numerals = ImageFolder(datasets / "chinese-mnist")
    gnt = folder / "1001-c.gnt"
    write_gnt(gnt, [(numerals.classes[numerals.samples[i][1]], numerals.load_ink(i)) for i in range(0, 12000, 500)])
    return {
        "Online/CharData/Pot1.1Train.zip": _zip(folder / "Pot1.1Train.zip", {"1043-c.pot": real[:cut]}),
        "Online/CharData/Pot1.1Test.zip": _zip(folder / "Pot1.1Test.zip", {"1250-c.pot": real[cut:]}),
        "Offline/CharData/Gnt1.1TrainPart1.zip": _zip(folder / "p1.zip", {"1001-c.gnt": gnt.read_bytes()}),
        "Offline/CharData/Gnt1.1TrainPart2.zip": _zip(folder / "p2.zip", {"1002-c.gnt": gnt.read_bytes()}),
        "Offline/CharData/Gnt1.1Test.zip": _zip(folder / "t.zip", {"1250-c.gnt": gnt.read_bytes()}),
    }


@pytest.fixture
def casia(server, casia_files):
    for path, file in casia_files.items():
        server.extra[CASIA + path] = file
    return server.base_url + CASIA


class _Big5Name(zipfile.ZipInfo):
    def _encodeFilenameFlags(self):
        return self.filename.encode("cp950"), self.flag_bits


@pytest.fixture(scope="module")
def tchd_files(tmp_path_factory, datasets: Path) -> dict[str, Path]:
    """The whole set's zip (Big5 names, cleaned_data/<char>/<char>_<n>.png, real Tegaki ink drawn at
    300x300) cut in three slices, and the common set's four Google Drive parts."""
    folder = tmp_path_factory.mktemp("tchd")
    src = tegaki.open_source(datasets / "tegaki" / "traditional-chinese", progress=False)
    pictures = []
    for row in range(len(src)):
        label = src.class_names[int(src.labels[row])]
        try:
            label.encode("cp950")
        except UnicodeEncodeError:
            continue
        buf = io.BytesIO()
        Image.fromarray(255 - rasterize(src.sample(row), size=300)).save(buf, format="PNG")
        pictures.append((label, f"{label}_{row}.png", buf.getvalue()))
    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as zf:
        for label, name, data in pictures:
            zf.writestr(_Big5Name(f"cleaned_data/{label}/{name}"), data)
    data = whole.getvalue()
    out = {}
    cuts = np.linspace(0, len(data), 4).astype(int)
    for k in range(3):
        out[TCHD + f"all_data.zip.{k + 1:03d}"] = folder / f"all_data.zip.{k + 1:03d}"
        out[TCHD + f"all_data.zip.{k + 1:03d}"].write_bytes(data[cuts[k] : cuts[k + 1]])
    for k in range(4):
        name = f"cleaned_data(50_50)-20200420T071507Z-{k + 1:03d}.zip"
        out[COMMON + name] = _zip(
            folder / name, {f"cleaned_data(50_50)/{n}": d for _l, n, d in pictures[k::4]}
        )
    return out


@pytest.fixture
def tchd_server(server, tchd_files):
    server.extra.update(tchd_files)
    return server


def test_the_catalogue_names_the_publishers_files():
    assert [f.path for f in HANZI_SOURCES["olhwdb1.1"].files] == [
        "Online/CharData/Pot1.1Train.zip", "Online/CharData/Pot1.1Test.zip"]
    assert [f.path for f in HANZI_SOURCES["hwdb1.1"].files] == [
        "Offline/CharData/Gnt1.1TrainPart1.zip", "Offline/CharData/Gnt1.1TrainPart2.zip",
        "Offline/CharData/Gnt1.1Test.zip"]
    assert all(len(f.md5) == 32 for f in HANZI_SOURCES["hwdb1.1"].files)
    assert {s.base_url for s in HANZI_SOURCES.values()} >= {"http://www.nlpr.ia.ac.cn/databases/Download/"}
    assert len(HANZI_SOURCES["tchd-common"].files) == 4 and HANZI_SOURCES["tchd"].slices == "all_data.zip"


def test_olhwdb_archives_are_fetched_extracted_and_read_with_the_official_split(casia, server, fetcher, tmp_path,
                                                                                datasets):
    files = fetch_hanzi("olhwdb1.1", tmp_path, base_url=casia, fetcher=fetcher)
    assert [f.name for f in files] == ["Pot1.1Train.zip", "1043-c.pot", "Pot1.1Test.zip", "1250-c.pot"]
    joined = (tmp_path / "1043-c.pot").read_bytes() + (tmp_path / "1250-c.pot").read_bytes()
    assert joined == (datasets / "casia-olhwdb" / "1043-c.pot").read_bytes()
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert manifest["files"]["1250-c.pot"]["extracted_from"] == "Pot1.1Test.zip"
    assert "Chinese Academy of Sciences" in manifest["sources"]["olhwdb1.1"]["attribution"]
    assert formats.detect_format(tmp_path) == "pot"
    train, test = open_dataset(tmp_path, split="train"), open_dataset(tmp_path, split="test")
    assert (len(train), len(test)) == (600, 400)
    assert set(train.writers.tolist()) == {1043} and set(test.writers.tolist()) == {1250}
    before = len(server.log)
    again = fetch_hanzi("olhwdb1.1", tmp_path, base_url=casia, fetcher=fetcher)
    assert all(f.skipped for f in again) and len(server.log) == before


def test_a_cut_download_resumes_with_a_range_request(casia, server, fetcher, tmp_path):
    path = CASIA + "Online/CharData/Pot1.1Train.zip"
    server.cut_after[path] = 5000
    fetch_hanzi("olhwdb1.1", tmp_path, base_url=casia, splits=["train"], fetcher=fetcher)
    asked = server.requests_for(path)
    assert asked[0]["sent"] == 5000 and asked[-1]["range"] == "bytes=5000-" and asked[-1]["status"] == 206
    assert (tmp_path / "1043-c.pot").is_file() and not (tmp_path / "1250-c.pot").exists()


def test_published_md5s_are_checked(casia, casia_files, server, fetcher, tmp_path, monkeypatch):
    with pytest.raises(ChecksumError, match=r"Gnt1\.1TrainPart1\.zip: checksum mismatch.*72bac7b6"):
        fetch_hanzi("hwdb1.1", tmp_path / "a", base_url=casia, fetcher=fetcher)
    assert not any((tmp_path / "a").glob("*.zip*"))
    src = HANZI_SOURCES["hwdb1.1"]
    sums = [hashlib.md5(casia_files[f.path].read_bytes()).hexdigest() for f in src.files]
    patched = tuple(dataclasses.replace(f, md5=m) for f, m in zip(src.files, sums))
    monkeypatch.setitem(HANZI_SOURCES, "hwdb1.1", dataclasses.replace(src, files=patched))
    files = fetch_hanzi("hwdb1.1", tmp_path / "b", base_url=casia, fetcher=fetcher, keep_archives=False)
    by_name = {f.name: f for f in files}
    assert by_name["Gnt1.1Test.zip"].checksum == "md5 verified (published)"
    assert by_name["1250-c.gnt"].checksum == "in an archive whose md5 was verified"
    assert sorted(p.name for p in (tmp_path / "b").glob("*.gnt")) == ["1001-c.gnt", "1002-c.gnt", "1250-c.gnt"]
    assert not any((tmp_path / "b").glob("*.zip"))
    before = len(server.log)
    again = fetch_hanzi("hwdb1.1", tmp_path / "b", base_url=casia, fetcher=fetcher, keep_archives=False)
    assert len(server.log) == before and all(f.skipped for f in again)
    ds = open_dataset(tmp_path / "b")
    assert ds.source == "gnt" and len(ds) == 72 and len(ds.classes) == 15


def test_a_missing_archive_is_a_clear_error(server, fetcher, tmp_path):
    with pytest.raises(FetchError, match=r"olhwdb1\.0: could not fetch Pot1\.0Train\.zip.*not found \(HTTP 404\)"):
        fetch_hanzi("olhwdb1.0", tmp_path, base_url=server.base_url + CASIA, fetcher=fetcher)


def test_the_whole_tchd_set_is_fetched_slice_by_slice_and_read_in_place(tchd_server, fetcher, tmp_path):
    base = tchd_server.base_url + TCHD
    files = fetch_hanzi("tchd", tmp_path, base_url=base, fetcher=fetcher)
    assert [f.name for f in files] == ["all_data.zip.001", "all_data.zip.002", "all_data.zip.003"]
    assert [r["status"] for r in tchd_server.requests_for(TCHD + "all_data.zip.004")] == [404]
    assert formats.detect_format(tmp_path) == "tchd"
    pictures = tchd.Pictures(tmp_path)
    assert len(pictures) > 50 and pictures.image_size(0) == (300, 300)
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert manifest["sources"]["tchd"]["license"] == "CC BY-NC-SA 4.0"
    before = len(tchd_server.log)
    again = fetch_hanzi("tchd", tmp_path, base_url=base, fetcher=fetcher)
    assert all(f.skipped for f in again) and len(again) == 3
    assert len(tchd_server.log) == before + 1  # only the probe of .004


def test_the_common_tchd_set_and_the_cli(tchd_server, tmp_path):
    base = tchd_server.base_url + COMMON
    r = CliRunner().invoke(app, ["data", "fetch", "tchd-common", "--base-url", base, "--dest", str(tmp_path), "-q"])
    assert r.exit_code == 0, r.output
    assert len(list(tmp_path.glob("cleaned_data(50_50)-*.zip"))) == 4
    assert formats.detect_format(tmp_path) == "tchd" and len(tchd.Pictures(tmp_path).classes) > 25
    r = CliRunner().invoke(app, ["data", "fetch", "tchd", "--base-url", tchd_server.base_url + "/nowhere/",
                                 "--dest", str(tmp_path / "x"), "-q"])
    assert r.exit_code == 2 and "all_data.zip.001" in r.output and "404" in r.output
