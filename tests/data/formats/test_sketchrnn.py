"""The sketch-rnn .npz reader and writer: inkrec's layouts, real drawings round-tripped, broken files."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from datakit import (
    address_space_limit,
    object_array,
    truncate,
    write_npz_pickle,
    write_official_sketchrnn,
    write_python2_sketchrnn,
    zip_with_empty_member_name,
)
from inkrec.data import npy
from inkrec.data.dataset import open_dataset
from inkrec.data.formats.ndjson import iter_ndjson
from inkrec.data.formats.sketchrnn import (
    load_sketchrnn,
    stroke3_to_strokes,
    strokes_to_stroke3,
    write_sketchrnn,
)
from inkrec.errors import DataFormatError

# ------------------------------------------------------------------------------------------ sketch-rnn


def test_sketchrnn_roundtrip_from_real_drawings(tmp_path: Path, quickdraw: Path):
    drawings = list(iter_ndjson(quickdraw / "simplified" / "cat.ndjson"))
    s3 = [strokes_to_stroke3(d.strokes) for d in drawings]
    assert all(a[-1, 2] == 1 and a[:, 2].sum() == len(d.strokes) for a, d in zip(s3, drawings, strict=True))
    f = tmp_path / "cat.npz"
    write_sketchrnn(f, {"train": s3[:20], "valid": [], "test": s3[20:]})
    got = load_sketchrnn(f)
    assert sorted(got) == ["test", "train", "valid"] and len(got["train"]) == 20 and got["valid"] == []
    assert got["train"][0].dtype == np.int16
    for a, d in zip(got["train"] + got["test"], drawings, strict=True):
        back = stroke3_to_strokes(a)
        assert len(back) == len(d.strokes) and all(
            np.array_equal(x, y) for x, y in zip(back, d.strokes, strict=True)
        )


def test_sketchrnn_per_drawing_layout(tmp_path: Path):
    a = np.array([[1, 2, 0], [3, 4, 1]], dtype=np.int16)
    b = np.array([[0, 0, 1]], dtype=np.int16)
    f = tmp_path / "k.npz"
    np.savez(f, train_0=a, train_1=b, test_0=b)
    got = load_sketchrnn(f)
    assert [x.tolist() for x in got["train"]] == [a.tolist(), b.tolist()] and len(got["test"]) == 1
    np.savez(f, train_0=a, train_2=b)
    with pytest.raises(DataFormatError, match="without gaps"):
        load_sketchrnn(f)


def _real_splits(quickdraw: Path, category: str = "cat") -> dict[str, list[np.ndarray]]:
    s3 = [strokes_to_stroke3(d.strokes) for d in iter_ndjson(quickdraw / "simplified" / f"{category}.ndjson")]
    return {"train": s3[:15], "valid": s3[15:20], "test": s3[20:]}


@pytest.mark.parametrize("writer", [write_official_sketchrnn, write_python2_sketchrnn])
def test_googles_own_layout_is_read_without_running_its_pickles(tmp_path: Path, quickdraw: Path, writer):
    splits = _real_splits(quickdraw)
    f = writer(tmp_path / "cat.npz", splits)
    got = load_sketchrnn(f)
    assert sorted(got) == ["test", "train", "valid"]
    for name, drawings in splits.items():
        assert len(got[name]) == len(drawings)
        for a, want in zip(got[name], drawings, strict=True):
            assert a.dtype == np.int16 and a.shape == want.shape and np.array_equal(a, want)
    ds = open_dataset(f, split="test")
    assert (ds.source, len(ds), ds.classes) == ("sketchrnn", 5, ["cat"])


class _Call:
    """Pickles as a call of `fn(*args)`: what a malicious data file would hold."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


@pytest.mark.parametrize("protocol", [2, 4])
def test_a_pickle_that_would_run_code_is_refused_and_not_run(tmp_path: Path, protocol: int):
    marker = tmp_path / "ran"
    payloads = {
        "os.system": _Call(os.system, f"touch {marker}"),
        "builtins.eval": _Call(eval, f"open({str(marker)!r}, 'w').close()"),
        "inside an array": object_array([np.zeros((1, 3))]).tolist() + [_Call(os.system, f"touch {marker}")],
    }
    for what, obj in payloads.items():
        f = write_npz_pickle(tmp_path / "evil.npz", pickle.dumps(obj, protocol=protocol))
        with pytest.raises(DataFormatError, match=r"evil\.npz.*refused") as err:
            load_sketchrnn(f)
        assert not marker.exists(), what
        assert "train" in str(err.value)


def test_pickles_that_numpy_does_not_write_are_refused(tmp_path: Path):
    reconstruct_big = (  # numpy._core.multiarray._reconstruct(ndarray, (10**12,), b'b')
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n\x8a\x05\x00\x10\xa5\xd4\xe8\x85"
        b"C\x01b\x87R."
    )
    memo_bomb = b"\x80\x02]r\xff\xff\xff\x7f."  # a memo slot 2**31 (the C unpickler would allocate it)
    nested = object_array([np.zeros((1, 3))])
    outer = np.empty(1, dtype=object)
    outer[0] = nested
    cases = {
        "reconstruction": reconstruct_big,
        "LONG_BINPUT": memo_bomb,
        "numeric arrays": pickle.dumps(outer, protocol=3),  # an object array inside the object array
        "EMPTY_DICT": pickle.dumps(object_array([]).astype([("a", "O")]), protocol=3),  # a structured dtype
        "dtype": pickle.dumps(np.array(["text"], dtype=object).astype("U4"), protocol=3),
        "opcode": pickle.dumps({"a": 1}, protocol=2),  # dicts are no part of an array pickle
    }
    for what, data in cases.items():
        f = write_npz_pickle(tmp_path / "odd.npz", data)
        with pytest.raises(DataFormatError, match=what):
            load_sketchrnn(f)
    f = write_npz_pickle(tmp_path / "short.npz", pickle.dumps(object_array([np.zeros((1, 3))]))[:-20])
    with pytest.raises(DataFormatError, match=r"short\.npz.*train"):
        load_sketchrnn(f)


def test_sketchrnn_corrupt_files(tmp_path: Path):
    f = tmp_path / "s.npz"
    write_sketchrnn(f, {"train": [np.array([[1, 2, 0], [3, 4, 1]])]})
    cut = truncate(f, tmp_path / "cut.npz", f.stat().st_size // 2)
    with pytest.raises(DataFormatError, match=r"cut\.npz"):
        load_sketchrnn(cut)
    np.savez(f, train=np.zeros((4, 3), np.int16), train_index=np.array([0, 3]))
    with pytest.raises(DataFormatError, match="must rise from 0 to 4"):
        load_sketchrnn(f)
    np.savez(f, train=np.zeros((4, 2), np.int16), train_index=np.array([0, 4]))
    with pytest.raises(DataFormatError, match=r"expected numeric \(n, 3\)"):
        load_sketchrnn(f)
    np.savez(f, train=np.full((2, 3), 2, np.int16), train_index=np.array([0, 2]))
    with pytest.raises(DataFormatError, match="pen column"):
        load_sketchrnn(f)
    np.savez(f, train=np.zeros((2, 3), np.int16))
    with pytest.raises(DataFormatError, match="train_index"):
        load_sketchrnn(f)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DataFormatError, match=r"text\.npz"):
        load_sketchrnn(tmp_path / "text.npz")


def test_stroke3_conversions():
    strokes = [np.array([[5.0, 7.0], [1.0, 1.0]]), np.array([[0.0], [9.0]])]
    s3 = strokes_to_stroke3(strokes)
    assert s3.tolist() == [[5, 1, 0], [2, 0, 1], [-7, 8, 1]]
    assert [s.tolist() for s in stroke3_to_strokes(s3)] == [[[5, 7], [1, 1]], [[0], [9]]]
    # points after the last pen lift still form a stroke
    assert len(stroke3_to_strokes(np.array([[1, 1, 1], [1, 1, 0]]))) == 2
    assert strokes_to_stroke3([]).shape == (0, 3)


def test_a_member_claiming_10_to_the_12_rows_allocates_nothing(tmp_path: Path):
    header = npy.header_bytes((10**12, 3), np.int16)
    f = tmp_path / "huge.npz"
    with zipfile.ZipFile(f, "w") as zf:
        zf.writestr("train.npy", header + bytes(60))
        zf.writestr("train_index.npy", npy.header_bytes((2,), np.int64) + bytes(16))
    with address_space_limit(), pytest.raises(DataFormatError, match=r"huge\.npz.*train.*promises shape"):
        load_sketchrnn(f)


def test_an_archive_member_without_a_name_is_a_format_error(tmp_path: Path):
    f = tmp_path / "noname.npz"
    f.write_bytes(zip_with_empty_member_name(npy.header_bytes((1, 3), np.int16) + bytes(6)))
    with pytest.raises(DataFormatError, match=r"noname\.npz"):
        load_sketchrnn(f)
