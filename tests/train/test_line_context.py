"""Line-context augmentation: characters shown as a line reader's candidates, amid touching neighbours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inkrec.data.formats.idx import load_idx
from inkrec.errors import ConfigError
from inkrec.train.augment import in_line_context
from inkrec.train.config import make_config
from inkrec.train.loop import character_loss, train


@pytest.fixture(scope="module")
def digits(mnist: Path) -> torch.Tensor:
    images = load_idx(mnist / "train-images-idx3-ubyte.gz")[:256]
    return torch.from_numpy(np.ascontiguousarray(images)).float().div(255.0).unsqueeze(1)


def _extent(img: torch.Tensor) -> tuple[int, int]:
    """Ink columns' and rows' spans of one (1, S, S) bitmap."""
    cols = torch.nonzero(img[0].amax(dim=0) > 0.1).flatten()
    rows = torch.nonzero(img[0].amax(dim=1) > 0.1).flatten()
    return int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def test_only_the_share_asked_for_changes_and_the_same_seed_repeats(digits):
    same, pairs = in_line_context(digits, 0.0, torch.Generator().manual_seed(0))
    assert same is digits and not pairs.any()
    a, pairs = in_line_context(digits, 0.5, torch.Generator().manual_seed(1))
    b, _ = in_line_context(digits, 0.5, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not pairs.any()
    changed = (a != digits).flatten(1).any(dim=1).float().mean()
    assert 0.35 < changed < 0.65
    assert a.shape == digits.shape and a.min() >= 0 and a.max() <= 1


def test_neighbours_intrude_at_the_edges_and_the_candidate_is_framed_again():
    # rings 12 wide, 20 high: a candidate cut from amid them is now wider (a neighbour's fragment came
    # along), now narrower (the cut took a sliver of its own edge), and framed to about the ring's height
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 4:24, 8:20] = 1.0
    x[:, :, 6:22, 10:18] = 0.0
    out, _ = in_line_context(x, 1.0, torch.Generator().manual_seed(0))
    widths, heights = zip(*(_extent(o) for o in out), strict=True)
    assert max(widths) > 12 and min(widths) < 12
    assert 18 <= np.median(heights) <= 22


def test_pairs_are_two_whole_characters_framed_as_one():
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 4:24, 13:15] = 1.0
    out, pairs = in_line_context(x, 0.0, torch.Generator().manual_seed(0), pairs=0.5)
    assert 0.3 < pairs.float().mean() < 0.7
    assert torch.equal(out[~pairs], x[~pairs])
    for o in out[pairs]:  # two whole bars side by side: two runs of ink columns, about equally long
        cols = (o[0] > 0.1).any(dim=0).int()
        assert int((cols[1:] - cols[:-1] == 1).sum()) + int(cols[0]) in (1, 2)  # touching or apart a little
        rows = torch.nonzero((o[0] > 0.1).any(dim=1)).flatten()
        assert len(rows) >= 10


def test_line_context_and_pairs_are_shares(tmp_path: Path, mnist: Path):
    with pytest.raises(ConfigError, match="line_context"):
        make_config(data=str(mnist), out=str(tmp_path / "bad"), line_context=1.5)
    with pytest.raises(ConfigError, match="line_pairs"):
        make_config(data=str(mnist), out=str(tmp_path / "bad"), line_pairs=-0.1)
    with pytest.raises(ConfigError, match="need augment"):
        make_config(data=str(mnist), out=str(tmp_path / "bad"), line_pairs=0.2, augment="none")


def test_a_run_trains_with_line_context(tmp_path: Path, mnist: Path):
    out = tmp_path / "run"
    train(make_config(data=str(mnist), model="inknet", model_kwargs={"width": 4}, out=str(out), epochs=1,
                      max_per_class=30, val_fraction=0.0, track=False, evaluate_test=False, progress=False,
                      verbose=False, threads=1, augment="light", line_context=0.5, line_pairs=0.2))
    assert (out / "best.pt").exists()
    config = (out / "config.json").read_text()
    assert '"line_context": 0.5' in config and '"line_pairs": 0.2' in config


def test_pairs_are_taught_as_no_character_in_particular():
    cfg = make_config(data="unused", out="unused")
    y = torch.tensor([3, 7])
    confident = torch.tensor([[0.0] * 3 + [9.0] + [0.0] * 6, [0.0] * 7 + [9.0] + [0.0] * 2])
    flat = torch.zeros(2, 10)
    pairs = torch.tensor([False, True])
    # a pair read confidently costs more than one read as nothing in particular; a character the reverse
    assert character_loss(confident, y, None, pairs, cfg) > character_loss(
        torch.stack([confident[0], flat[1]]), y, None, pairs, cfg)
    assert torch.allclose(character_loss(confident, y, None, None, cfg),
                          torch.nn.functional.cross_entropy(confident, y, label_smoothing=cfg.label_smoothing))
