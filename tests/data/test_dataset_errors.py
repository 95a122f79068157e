"""Bad paths, empty data sets and bad options give one clear InkrecError, never a traceback of internals."""

from __future__ import annotations

import numpy as np
import pytest

from inkrec.data.dataset import open_dataset
from inkrec.data.formats import detect_format
from inkrec.errors import ConfigError, DataFormatError, InkrecError


def test_missing_path(tmp_path):
    with pytest.raises(DataFormatError, match="no such file or folder") as exc:
        open_dataset(tmp_path / "nothing-here")
    assert "nothing-here" in str(exc.value)


def test_folder_of_unknown_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.csv").write_text("1,2")
    with pytest.raises(DataFormatError, match=r"holds no data format inkrec knows.*numpy_bitmap"):
        open_dataset(tmp_path)
    with pytest.raises(DataFormatError, match="not a data format inkrec knows"):
        open_dataset(tmp_path / "notes.txt")
    with pytest.raises(DataFormatError, match="holds no data format"):
        open_dataset(tmp_path / "sub")


def test_empty_folder(tmp_path):
    with pytest.raises(DataFormatError, match="holds no data format"):
        open_dataset(tmp_path)


def test_mixed_formats_are_ambiguous(tmp_path, quickdraw):
    np.save(tmp_path / "cat.npy", np.zeros((3, 784), np.uint8))
    (tmp_path / "dog.ndjson").write_text("")
    with pytest.raises(DataFormatError, match="several formats"):
        open_dataset(tmp_path)
    assert detect_format(quickdraw / "numpy_bitmap") == "numpy_bitmap"
    assert detect_format(quickdraw / "simplified" / "cat.ndjson") == "ndjson"


def test_empty_data_sets(tmp_path):
    np.save(tmp_path / "cat.npy", np.zeros((0, 784), np.uint8))
    with pytest.raises(ConfigError, match="holds no samples"):
        open_dataset(tmp_path)
    (tmp_path / "cat.npy").unlink()
    (tmp_path / "dog.ndjson").write_text("\n\n")
    with pytest.raises(ConfigError, match="holds no samples"):
        open_dataset(tmp_path)


def test_an_empty_split_is_an_error(tmp_path, quickdraw):
    line = (quickdraw / "simplified" / "cat.ndjson").read_text().splitlines()[0]
    (tmp_path / "cat.ndjson").write_text(line + "\n")
    assert len(open_dataset(tmp_path, split="test")) == 1  # int(0.8 * 1) = 0 drawings train
    with pytest.raises(ConfigError, match="the train split of .* holds no samples"):
        open_dataset(tmp_path, split="train")


def test_corrupt_files_name_the_file(tmp_path, quickdraw):
    good = np.load(quickdraw / "numpy_bitmap" / "apple.npy")[:10]
    np.save(tmp_path / "apple.npy", good)
    data = (tmp_path / "apple.npy").read_bytes()
    (tmp_path / "apple.npy").write_bytes(data[:-100])
    with pytest.raises(DataFormatError, match=r"apple\.npy.*truncated"):
        open_dataset(tmp_path)
    np.save(tmp_path / "apple.npy", good.astype(np.float32))
    with pytest.raises(DataFormatError, match="dtype"):
        open_dataset(tmp_path)
    (tmp_path / "apple.npy").unlink()
    lines = (quickdraw / "simplified" / "apple.ndjson").read_text().splitlines()
    lines[3] = lines[3][:40]
    (tmp_path / "apple.ndjson").write_text("\n".join(lines) + "\n")
    ds = open_dataset(tmp_path)  # the index pass only finds lines; parsing happens on access
    assert len(ds) == 25
    with pytest.raises(DataFormatError, match=r"apple\.ndjson.*malformed JSON"):
        ds[3]
    assert ds[4][1] == 0


def test_bad_options():
    with pytest.raises(ConfigError, match="split must be"):
        open_dataset(".", split="validation")
    with pytest.raises(ConfigError, match="split_mode"):
        open_dataset(".", split_mode="by-country")
    with pytest.raises(ConfigError, match="test_fraction"):
        open_dataset(".", test_fraction=1.5)
    with pytest.raises(ConfigError, match="max_per_class"):
        open_dataset(".", max_per_class=-3)
    with pytest.raises(ConfigError, match="empty"):
        open_dataset(".", classes=[])


def test_unknown_classes_list_what_exists(quickdraw):
    with pytest.raises(ConfigError) as exc:
        open_dataset(quickdraw / "numpy_bitmap", classes=["cat", "unicorn"])
    msg = str(exc.value)
    assert "unicorn" in msg and "airplane" in msg and "cat'" not in msg.split("it has")[0]
    assert isinstance(exc.value, InkrecError)
