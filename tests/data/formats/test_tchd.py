"""The Traditional Chinese Handwriting data set's layouts, made from real ink: the Tegaki project's Traditional
Chinese samples drawn as 300x300 PNGs (dark pen on white, as the data set's pictures are), laid out as the
archives are published: the whole set's Big5-named zip cut into `all_data.zip.NNN` slices, the
common-characters set's Google Drive parts, and the extracted folders."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from datakit import draw_on_paper, zip_with_empty_member_name
from inkrec.cli import app
from inkrec.data import formats
from inkrec.data.dataset import open_dataset
from inkrec.data.formats import tchd, tegaki
from inkrec.errors import DataFormatError

PARTS = [f"cleaned_data(50_50)-20200420T071507Z-{k:03d}.zip" for k in (1, 2)]


class _Big5Name(zipfile.ZipInfo):
    """A member named in Big5 without the UTF-8 flag, as in the whole set's archive."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("cp950"), self.flag_bits


def _png(picture: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(picture).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def written(datasets: Path) -> list[tuple[str, str, np.ndarray]]:
    """(character, file name, 300x300 picture) for every real Tegaki Traditional Chinese sample whose
    character has a Big5 code (the archives name them in Big5), numbered per character from 1."""
    src = tegaki.open_source(datasets / "tegaki" / "traditional-chinese", progress=False)
    out, seen = [], {}
    for row in range(len(src)):
        label = src.class_names[int(src.labels[row])]
        try:
            label.encode("cp950")
        except UnicodeEncodeError:
            continue
        seen[label] = seen.get(label, 0) + 1
        picture = draw_on_paper(src.sample(row), pen=7, canvas=300, scale=1.0, offset=(22, 22))
        out.append((label, f"{label}_{seen[label]}.png", picture))
    assert len(out) >= 50 and len(seen) >= 25, (len(out), len(seen))
    return out


def _whole_zip(written, *, big5: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for label, name, picture in written:
            member = f"cleaned_data/{label}/{name}"
            info = _Big5Name(member) if big5 else zipfile.ZipInfo(member)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, _png(picture))
    return buf.getvalue()


def _slices(folder: Path, data: bytes, n: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    cuts = np.linspace(0, len(data), n + 1).astype(int)
    out = []
    for k in range(n):
        out.append(folder / f"all_data.zip.{k + 1:03d}")
        out[-1].write_bytes(data[cuts[k] : cuts[k + 1]])
    return out


@pytest.fixture(scope="module")
def whole(tmp_path_factory, written) -> Path:
    """The whole set as published: Big5 member names, the zip cut into three slices."""
    folder = tmp_path_factory.mktemp("whole")
    _slices(folder, _whole_zip(written))
    return folder


@pytest.fixture(scope="module")
def common(tmp_path_factory, written) -> Path:
    """The common-characters set as Google Drive cut it: independent zips of 50x50 pictures in one folder."""
    folder = tmp_path_factory.mktemp("common")
    half = len(written) // 2
    for part, chunk in zip(PARTS, (written[:half], written[half:])):
        with zipfile.ZipFile(folder / part, "w") as zf:
            for _label, name, picture in chunk:
                small = np.asarray(Image.fromarray(picture).resize((50, 50), Image.Resampling.BOX))
                zf.writestr(f"cleaned_data(50_50)/{name}", _png(small))
    return folder


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, written) -> Path:
    root = tmp_path_factory.mktemp("extracted") / "cleaned_data"
    for label, name, picture in written:
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / name).write_bytes(_png(picture))
    return root


def test_every_published_layout_is_detected(whole, common, extracted):
    assert formats.detect_format(whole) == "tchd"
    assert formats.detect_format(whole / "all_data.zip.002") == "tchd"
    assert formats.detect_format(common) == "tchd"
    assert formats.detect_format(common / PARTS[0]) == "tchd"
    assert formats.detect_format(extracted) == "tchd"
    assert formats.detect_format(extracted.parent) == "tchd"


def test_the_sliced_archive_is_read_in_place_exactly(whole, written):
    """Big5 names decoded, slices joined on the fly: every picture back, byte for byte, in archive order."""
    got = list(tchd.iter_tchd(whole))
    assert [label for label, _ in got] == [label for label, _, _ in written]
    for (_, picture), (_, _, want) in zip(got, written, strict=True):
        assert np.array_equal(picture, want)
    one_slice = list(tchd.iter_tchd(whole / "all_data.zip.001"))  # any slice names the whole archive
    assert len(one_slice) == len(written)
    assert not any(p.name.startswith("all_data.zip") and p.suffix == ".zip" for p in whole.iterdir())


def test_layouts_agree_and_the_data_set_is_framed(whole, common, extracted, written):
    a, b, c = (tchd.Pictures(p) for p in (whole, common, extracted))
    chars = sorted({label for label, _, _ in written})
    assert a.classes == b.classes == c.classes == chars
    assert np.array_equal(np.bincount(a.labels), np.bincount(c.labels))
    assert np.array_equal(np.sort(a.labels), np.sort(b.labels))
    assert a.image_size(0) == (300, 300) and b.image_size(0) == (50, 50)
    ds = open_dataset(whole)
    assert ds.source == "tchd" and ds.kind == "bitmap" and len(ds) == len(written)
    assert ds.classes == chars and not ds.has_standard_split
    x = ds.bitmaps(np.arange(40), size=48)
    assert x.shape == (40, 48, 48) and x.dtype == np.uint8
    assert all(b.max() > 200 and (b > 0).mean() < 0.5 for b in x)  # white ink on black, framed
    ink, label = ds[0]
    assert ink.shape == (64, 64) and ds.classes[label] == written[0][0]
    train, test = open_dataset(whole, split="train"), open_dataset(whole, split="test")
    assert len(train) + len(test) == len(written) and not set(train.rows) & set(test.rows)


def test_pictures_survive_pickling_for_data_loader_workers(whole):
    pictures = tchd.Pictures(whole)
    first = pictures.load(5)
    again = pickle.loads(pickle.dumps(pictures))
    assert np.array_equal(again.load(5), first)
    pictures.close()
    again.close()


def test_data_info_and_show(whole, common, tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["data", "info", str(whole)])
    assert r.exit_code == 0, r.output
    assert "tchd" in r.output and "300x300" in r.output
    r = runner.invoke(app, ["data", "info", str(common)])
    assert r.exit_code == 0, r.output
    assert "50x50" in r.output
    out = tmp_path / "grid.png"
    r = runner.invoke(app, ["data", "show", str(whole), "-o", str(out), "-n", "16"])
    assert r.exit_code == 0, r.output
    assert Image.open(out).size[0] > 64 and "16 samples" in r.output


# ------------------------------------------------------------------------------------------ bad input


def _zip_of(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_corrupt_picture_names_the_archive_and_member(tmp_path, written):
    good = _png(written[0][2])
    archive = _zip_of(
        tmp_path / PARTS[0],
        {"cleaned_data(50_50)/人_1.png": good, "cleaned_data(50_50)/人_2.png": good[:60] + b"\0" * 40},
    )
    pictures = tchd.Pictures(archive)
    assert pictures.load(0).shape == (300, 300)
    with pytest.raises(DataFormatError, match=r"-001\.zip:cleaned_data\(50_50\)/人_2\.png"):
        pictures.load(1)
    with pytest.raises(DataFormatError, match=r"人_2\.png"):
        list(tchd.iter_tchd(archive))


def test_a_truncated_archive_is_a_clear_error(tmp_path, whole):
    data = b"".join(p.read_bytes() for p in sorted(whole.glob("all_data.zip.*")))
    cut = tmp_path / PARTS[0]
    cut.write_bytes(data[: len(data) - 300])
    with pytest.raises(DataFormatError, match=r"-001\.zip: not a readable zip archive"):
        tchd.Pictures(cut)


def test_missing_slices_are_named(tmp_path, whole):
    gap = tmp_path / "gap"
    gap.mkdir()
    for p in whole.glob("all_data.zip.*"):
        if not p.name.endswith(".002"):
            (gap / p.name).write_bytes(p.read_bytes())
    with pytest.raises(DataFormatError, match=r"all_data\.zip.*slices 002 are missing"):
        tchd.Pictures(gap)
    last = tmp_path / "last"
    last.mkdir()
    for p in whole.glob("all_data.zip.*"):
        if not p.name.endswith(".003"):
            (last / p.name).write_bytes(p.read_bytes())
    with pytest.raises(DataFormatError, match=r"all_data\.zip\.001\.\.002: not a readable zip .*slice missing"):
        tchd.Pictures(last)


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("cleaned_data/人/人-1.png", r"'cleaned_data/人/人-1\.png' is not named <character>_<number>\.png"),
        ("cleaned_data/人/人人_1.png", r"not named <character>_<number>\.png"),
        ("cleaned_data/人/人_one.png", r"not named"),
        ("cleaned_data/人/工_1.png", r"the file name says '工' but its folder says '人'"),
    ],
)
def test_wrong_names_are_refused_naming_the_member(tmp_path, written, member, message):
    good = _png(written[0][2])
    archive = _zip_of(tmp_path / "cleaned_data.zip", {"cleaned_data/人/人_1.png": good, member: good})
    with pytest.raises(DataFormatError, match=message) as err:
        tchd.Pictures(archive)
    assert str(archive) in str(err.value)


def test_names_in_the_wrong_code_page_are_refused(tmp_path, written):
    """Big5 names read as GB18030 come out as other characters, and in other counts: refused, with a hint."""
    good = _png(written[0][2])
    archive = tmp_path / "cleaned_data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(_Big5Name("cleaned_data/體/體_1.png"), good)
    assert tchd.Pictures(archive).classes == ["體"]
    pictures = tchd.Pictures.__new__(tchd.Pictures)
    with pytest.raises(DataFormatError, match="wrong code page"):
        pictures._check(str(archive), "cleaned_data/éå/éå_1.png")


def test_junk_and_other_files_are_skipped_and_an_empty_archive_refused(tmp_path, written):
    good = _png(written[0][2])
    archive = _zip_of(
        tmp_path / "cleaned_data.zip",
        {"cleaned_data/人/人_1.png": good, "__MACOSX/cleaned_data/人/._人_1.png": b"x", "cleaned_data/Thumbs.db": b"x"},
    )
    assert len(tchd.Pictures(archive)) == 1
    empty = _zip_of(tmp_path / "e" / "cleaned_data.zip", {"readme.txt": b"hello"})
    with pytest.raises(DataFormatError, match="holds no pictures"):
        tchd.Pictures(empty)


def test_an_empty_member_name_is_a_corrupt_directory(tmp_path, written):
    """Found by fuzzing: zipfile's own listing fails on a member whose name is empty."""
    path = tmp_path / "cleaned_data.zip"
    path.write_bytes(zip_with_empty_member_name(_png(written[0][2])))
    with pytest.raises(DataFormatError, match=r"cleaned_data\.zip"):
        tchd.Pictures(path)
