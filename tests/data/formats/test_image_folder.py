"""Class-per-folder images: the real Chinese MNIST folder, and zips in the layouts of other data sets."""

from __future__ import annotations

import multiprocessing as mp
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datakit import png_header_only, truncate
from inkrec.data.dataset import open_dataset
from inkrec.data.formats.image_folder import ImageFolder, writer_of
from inkrec.errors import DataFormatError

NUMERALS = sorted("零一二三四五六七八九十百千万亿")


class _Big5Name(zipfile.ZipInfo):
    """A member whose name is stored in Big5 without the UTF-8 flag, as the Traditional Chinese
    Handwriting archives are (they are unpacked with `unzip -O big5`)."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("big5"), self.flag_bits


def test_real_chinese_mnist(chinese_mnist: Path):
    f = ImageFolder(chinese_mnist)
    assert f.layout == "class-folders" and f.classes == NUMERALS and len(f) == 12000
    assert np.bincount(f.labels).tolist() == [800] * 15
    assert f.writers is not None and sorted(set(f.writers.tolist())) == list(range(1, 81))
    member, label = f.samples[123]
    assert member.startswith(f.classes[label] + "/writer") and f.writers[123] == writer_of(member)
    img = f.load(123)
    assert img.shape == (64, 64) and img.dtype == np.uint8 and f.image_size(123) == (64, 64)
    ink = f.load_ink(123)
    assert ink.max() == 255 and ink[img == 0].max() == 0
    assert f.splits is None


def _zip_of(chinese_mnist: Path, out: Path, name_of, every: int = 97, info_cls=zipfile.ZipInfo) -> list[str]:
    real = ImageFolder(chinese_mnist)
    labels = []
    with zipfile.ZipFile(out, "w") as z:
        for k, (member, label) in enumerate(real.samples[::every]):
            name, lab = name_of(k, member, real.classes[label])
            z.writestr(info_cls(name), (chinese_mnist / member).read_bytes())
            labels.append(lab)
    return labels


def test_zip_with_a_wrapping_folder(tmp_path: Path, chinese_mnist: Path):
    z = tmp_path / "chinese-mnist.zip"
    labels = _zip_of(chinese_mnist, z, lambda k, m, c: (f"chinese-mnist/{m}", c))
    with zipfile.ZipFile(z, "a") as zz:  # the junk archivers add
        zz.writestr("__MACOSX/chinese-mnist/._x.jpg", b"junk")
        zz.writestr("chinese-mnist/.DS_Store", b"junk")
        zz.writestr("chinese-mnist/README.txt", b"about")
    f = ImageFolder(z)
    assert f.is_zip and f.layout == "class-folders" and f.classes == NUMERALS
    assert [f.classes[lab] for _, lab in f.samples] == labels and f.writers is not None
    direct = ImageFolder(chinese_mnist)
    for i in (0, 5, len(f) - 1):
        member = f.samples[i][0].removeprefix("chinese-mnist/")
        assert np.array_equal(f.load(i), direct.load(direct.members.index(member)))
    assert "chinese-mnist.zip:chinese-mnist/" in f.name(0)


def test_casia_style_split_folders(tmp_path: Path, chinese_mnist: Path):
    z = tmp_path / "HWDB1.1.zip"
    _zip_of(chinese_mnist, z, lambda k, m, c: (f"CASIA-HWDB_Train/{'Train' if k % 4 else 'Test'}/{m}", c))
    f = ImageFolder(z)
    assert f.layout == "split-class-folders" and f.classes == NUMERALS
    assert f.splits is not None and set(f.splits) == {"train", "test"}
    assert all(m.split("/")[1].lower() == s for (m, _), s in zip(f.samples, f.splits, strict=True))


def test_traditional_chinese_archive_big5_names(tmp_path: Path, chinese_mnist: Path):
    chars = ["人", "工", "智", "慧", "萬", "億"]
    z = tmp_path / "cleaned_data(50_50)-20200420T071507Z-001.zip"
    labels = _zip_of(
        chinese_mnist,
        z,
        lambda k, m, c: (f"cleaned_data(50_50)/{chars[k % 6]}_{k}.png", chars[k % 6]),
        info_cls=_Big5Name,
    )
    assert not any(i.flag_bits & 0x800 for i in zipfile.ZipFile(z).infolist())
    f = ImageFolder(z)
    assert f.layout == "label-in-name" and f.classes == sorted(chars)
    assert sorted(f.classes[lab] for _, lab in f.samples) == sorted(labels)
    assert f.writers is None and f.load(0).shape == (64, 64)


def test_folder_of_pngs_any_size_colour(tmp_path: Path, chinese_mnist: Path):
    for k, cls in enumerate(["cat", "dog"]):
        (tmp_path / "mine" / cls).mkdir(parents=True)
        for i in range(3):
            img = (
                Image.open(chinese_mnist / "一" / f"writer00{i + 1}_01.jpg")
                .convert("RGB")
                .resize((100 + 50 * k, 80))
            )
            img.save(tmp_path / "mine" / cls / f"{i}.png")
    (tmp_path / "mine" / "notes.txt").write_text("not an image")
    f = ImageFolder(tmp_path / "mine")
    assert f.classes == ["cat", "dog"] and len(f) == 6 and f.writers is None
    assert f.load(4).shape == (80, 150) and f.image_size(0) == (100, 80)


def test_errors_name_the_file(tmp_path: Path, chinese_mnist: Path):
    with pytest.raises(DataFormatError, match="no such file"):
        ImageFolder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="holds no images"):
        ImageFolder(tmp_path / "empty")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.png").write_bytes((chinese_mnist / "一" / "writer001_01.jpg").read_bytes())
    (flat / "b.png").write_bytes(b"x")
    with pytest.raises(DataFormatError, match="cannot tell the class of 'a.png'"):
        ImageFolder(flat)
    z = tmp_path / "set.zip"
    _zip_of(chinese_mnist, z, lambda k, m, c: (m, c), every=500)
    with pytest.raises(DataFormatError, match=r"cut\.zip: not a readable zip"):
        ImageFolder(truncate(z, tmp_path / "cut.zip", z.stat().st_size // 2))
    with zipfile.ZipFile(z, "a") as zz:
        zz.writestr("一/broken.png", b"\x89PNG\r\n\x1a\n garbage")
    f = ImageFolder(z)
    broken = [m for m, _ in f.samples].index("一/broken.png")
    with pytest.raises(DataFormatError, match=r"set\.zip:一/broken\.png: (corrupt|not a supported)"):
        f.load(broken)
    d = tmp_path / "dir"
    (d / "cat").mkdir(parents=True)
    (d / "cat" / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    with pytest.raises(DataFormatError, match=r"cat/bad\.jpg"):
        ImageFolder(d).load(0)


def _load_in_child(folder: ImageFolder, i: int, q) -> None:
    q.put(folder.load(i).sum())


def test_zip_reads_survive_pickling_and_fork(tmp_path: Path, chinese_mnist: Path):
    z = tmp_path / "set.zip"
    _zip_of(chinese_mnist, z, lambda k, m, c: (m, c), every=300)
    f = ImageFolder(z)
    want = f.load(3).sum()  # the parent has its handle open now
    g = pickle.loads(pickle.dumps(f))
    assert g.load(3).sum() == want
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_load_in_child, args=(f, 3, q))
    p.start()
    got = q.get(timeout=30)
    p.join(timeout=30)
    assert got == want and f.load(7).sum() == ImageFolder(z).load(7).sum()


def test_damaged_archives_and_picture_headers_are_format_errors(tmp_path: Path, chinese_mnist: Path):
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        for name in ("一", "二"):
            src = min((chinese_mnist / name).iterdir())
            zf.write(src, f"{name}/{src.name}")
    data = good.read_bytes()
    central = data.index(b"PK\x01\x02")
    newer = tmp_path / "newer.zip"  # "needs zip version 20.2 to extract": zipfile cannot
    newer.write_bytes(data[: central + 6] + bytes([202, 0]) + data[central + 8 :])
    with pytest.raises(DataFormatError, match=r"newer\.zip"):
        ImageFolder(newer)
    folder = tmp_path / "bomb"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "x.png").write_bytes(png_header_only(20000, 20000))  # 400 megapixels claimed
    with pytest.raises(DataFormatError, match=r"x\.png"):
        ImageFolder(folder).image_size(0)
    with pytest.raises(DataFormatError, match=r"x\.png"):
        open_dataset(folder)
