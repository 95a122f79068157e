"""Checkpoints that survive a kill and load without unpickling.

Files are written to a temporary file in the run directory and renamed into place, so `last.pt` is
always either the previous complete checkpoint or the new complete one. Everything inside is a plain
type or a tensor (random-number-generator states included, stored as tensors), so checkpoints load with
`torch.load(..., weights_only=True)`: opening a run directory someone sent you cannot run their code.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from inkrec.atomic import atomic_output
from inkrec.errors import DataFormatError

CHECKPOINT_FORMAT = "inkrec-checkpoint/1"


def save_atomic(obj: dict, path: str | Path) -> None:
    with atomic_output(path) as fh:
        torch.save(obj, fh)


def load_checkpoint(path: str | Path, *, expect_format: str | None = None) -> dict:
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "no such checkpoint file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        raise DataFormatError(path, f"not a readable inkrec checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict) or (expect_format and obj.get("format") != expect_format):
        raise DataFormatError(path, f"not an inkrec checkpoint (expected format {expect_format!r})")
    return obj


def rng_state() -> dict:
    """Every global random-number-generator state, as tensors."""
    np_state = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
        "numpy_meta": torch.tensor([int(np_state[2]), int(np_state[3])], dtype=torch.int64),
        "numpy_gauss": torch.tensor([float(np_state[4])], dtype=torch.float64),
        "python": torch.tensor(list(py_internal), dtype=torch.int64),
        "python_meta": torch.tensor([py_version, 0 if py_gauss is None else 1], dtype=torch.int64),
        "python_gauss": torch.tensor([0.0 if py_gauss is None else py_gauss], dtype=torch.float64),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.stack(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    meta = state["numpy_meta"].tolist()
    np.random.set_state(
        ("MT19937", state["numpy_keys"].numpy().astype(np.uint32), meta[0], meta[1], float(state["numpy_gauss"][0]))
    )
    py_meta = state["python_meta"].tolist()
    gauss = float(state["python_gauss"][0]) if py_meta[1] else None
    random.setstate((py_meta[0], tuple(state["python"].tolist()), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
