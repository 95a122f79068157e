"""The training data pipeline: data set -> ready batches, with no per-sample Python for bitmaps.

Bitmap data sets are stacked once into one uint8 tensor (N, 1, H, W); a batch is a single index
operation, converted to float and augmented on the training device by `augment_bitmaps`. That keeps
the CPU free for the model, which is what makes small CNNs train fast on a laptop (a DataLoader with
per-sample `__getitem__` and worker processes costs more than the seed CNN itself).

Stroke data sets keep their drawings in memory; each batch is augmented as strokes and then either
rasterized (bitmap models, through `inkrec.preprocess.raster.rasterize_many`, so training sees exactly the
pixels the server and the page produce) or encoded as (dx, dy, pen_lift) sequences (stroke models).

Auxiliary categories (`--aux-data`): the training drawings of other categories join the training set as
extra classes, numbered after the data set's own, drawn as the model's own input once (`auxiliary_source`).

Batch order comes from `DistributedSampler` seeded by (seed, epoch): the same order in every run, on
every resume, and sharded across processes under torchrun. Each batch's augmentation draws from a
generator seeded by (seed, epoch, rank, batch), so it does not depend on threads or restarts either.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from inkrec.data.dataset import open_dataset
from inkrec.data.splits import shown_categories, teaching_categories
from inkrec.data.synth import SynthSpec, is_synth
from inkrec.errors import ConfigError
from inkrec.preprocess.raster import rasterize_many
from inkrec.preprocess.spec import InputSpec, recorded_preprocessing
from inkrec.preprocess.strokes import canonical_strokes, encode
from inkrec.train.augment import augment_strokes

# Bitmap sets up to this many bytes are stacked in memory; larger ones are gathered batch by batch.
IN_MEMORY_BYTES = 3 * 1024**3


class BatchSource:
    """Samples of one split, turned into model input batches on request."""

    labels: np.ndarray
    # True when batches are bitmaps that the loop should warp (strokes are augmented before rasterizing)
    bitmap_augment: bool = False
    input_kind: str = "bitmap"

    def __len__(self) -> int:
        return len(self.labels)

    def inputs(self, idx: np.ndarray, strength: float, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError


class MemoryBitmaps(BatchSource):
    """All pixels in one uint8 tensor (N, 1, H, W)."""

    bitmap_augment = True

    def __init__(self, pixels: np.ndarray, labels: np.ndarray):
        self.pixels = torch.from_numpy(np.ascontiguousarray(pixels)).unsqueeze(1)
        self.labels = np.asarray(labels, dtype=np.int64)

    def inputs(self, idx, strength, rng):
        index = torch.from_numpy(idx)
        return (self.pixels[index.to(self.pixels.device)],)

    def joined(self, pixels: np.ndarray, labels: np.ndarray, repeat: int = 1) -> MemoryBitmaps:
        """These bitmaps followed by `pixels` (uint8 (N, H, W)), each of those `repeat` times."""
        extra = torch.from_numpy(np.ascontiguousarray(np.tile(pixels, (repeat, 1, 1)))).unsqueeze(1)
        out = MemoryBitmaps.__new__(MemoryBitmaps)
        out.pixels = torch.cat([self.pixels, extra.to(self.pixels.device)])
        out.labels = np.concatenate([self.labels, np.tile(np.asarray(labels, dtype=np.int64), repeat)])
        return out

    def to(self, device: torch.device) -> MemoryBitmaps:
        """Keep the pixels on the training device (a GPU holds a whole uint8 data set easily): batches
        are then gathered there and nothing crosses the bus per step."""
        if device.type != "cpu" and self.pixels.device != device:
            try:
                self.pixels = self.pixels.to(device)
            except RuntimeError:  # out of device memory: stay in (pinned) host memory
                self.pixels = self.pixels.pin_memory()
        return self


class StreamedBitmaps(BatchSource):
    """Pixels gathered from the (memory-mapped) data set batch by batch, for sets too big to stack."""

    bitmap_augment = True

    def __init__(self, dataset, positions: np.ndarray, size: int | None):
        self.dataset = dataset
        self.positions = np.asarray(positions, dtype=np.int64)
        self.labels = np.asarray(dataset.labels, dtype=np.int64)[self.positions]
        self.size = size

    def inputs(self, idx, strength, rng):
        return (torch.from_numpy(self.dataset.bitmaps(self.positions[idx], size=self.size)).unsqueeze(1),)


class RasterizedStrokes(BatchSource):
    """Stroke drawings, augmented as strokes and rasterized anew for every batch."""

    def __init__(self, drawings: list, labels: np.ndarray, size: int):
        self.drawings = drawings
        self.labels = np.asarray(labels, dtype=np.int64)
        self.size = size

    def inputs(self, idx, strength, rng):
        batch = [augment_strokes(self.drawings[i], strength, rng) for i in idx]
        return (torch.from_numpy(rasterize_many(batch, size=self.size)).unsqueeze(1),)


class SynthesizedSamples(BatchSource):
    """Samples made by a synthesizer as they are asked for. Training (`fixed` False) gets new samples every
    epoch: each batch's seeds come from the batch's generator, itself seeded by (seed, epoch, rank, batch).
    Validation and test (`fixed`) keep theirs: sample i always has the seed (`base`, i)."""

    bitmap_augment = True

    def __init__(self, synth, labels: np.ndarray, size: int, preprocessing: dict, *, fixed: bool, base: int = 0):
        self.synth = synth
        self.labels = np.asarray(labels, dtype=np.int64)
        self.size = size
        self.preprocessing = preprocessing
        self.fixed = fixed
        self.base = base

    def inputs(self, idx, strength, rng):
        if self.fixed:
            seeds = (np.int64(self.base) << np.int64(32)) + np.asarray(idx, dtype=np.int64)
        else:
            seeds = rng.integers(0, 2**62, len(idx), dtype=np.int64)
        pixels = self.synth.bitmaps(self.labels[idx], seeds, self.size, preprocessing=self.preprocessing)
        return (torch.from_numpy(pixels).unsqueeze(1),)


class StrokeSequences(BatchSource):
    """Stroke drawings for stroke models: (dx, dy, pen_lift) sequences, padded per batch."""

    input_kind = "strokes"

    def __init__(self, drawings: list, labels: np.ndarray):
        self.drawings = drawings
        self.labels = np.asarray(labels, dtype=np.int64)
        self._plain: list[np.ndarray] | None = None

    def inputs(self, idx, strength, rng):
        if strength > 0:
            seqs = [encode(augment_strokes(self.drawings[i], strength, rng)) for i in idx]
        else:
            if self._plain is None:  # validation and test: encode once
                self._plain = [encode(d) for d in self.drawings]
            seqs = [self._plain[i] for i in idx]
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        x = np.zeros((len(seqs), int(lengths.max()), 3), dtype=np.float32)
        for j, s in enumerate(seqs):
            x[j, : len(s)] = s
        return torch.from_numpy(x), torch.from_numpy(lengths)


# ----------------------------------------------------------------------------------------- splits


@dataclass
class Splits:
    classes: list[str]
    input: dict  # what the model reads: {"kind", "size", "channels", "scale"}
    data: dict  # {"path", "source", "kind", counts...}
    train: BatchSource
    val: BatchSource | None
    test: BatchSource | None
    info: dict = field(default_factory=dict)


def validation_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified random (train, val) positions: `fraction` of every class (at least one sample of
    each class with two or more), seeded, so the validation set is the same in every run and resume."""
    if fraction <= 0:
        return np.arange(len(labels)), np.empty(0, dtype=np.int64)
    rng = np.random.default_rng([seed, 0x7A1])
    val = []
    for c in np.unique(labels):
        pos = np.flatnonzero(labels == c)
        k = int(round(fraction * len(pos)))
        if len(pos) >= 2:
            k = min(max(k, 1), len(pos) - 1)
        else:
            k = 0
        val.append(rng.permutation(pos)[:k])
    val_idx = np.sort(np.concatenate(val)) if val else np.empty(0, dtype=np.int64)
    train_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    return train_idx, val_idx


def _drawings(dataset, positions: np.ndarray) -> list:
    """The drawings at `positions`, in the simplified 0-255 space (raw ones simplified once, here)."""
    return [canonical_strokes(dataset[int(i)][0]) for i in positions]


def _bitmap_source(dataset, positions: np.ndarray, size: int | None) -> BatchSource:
    side = size or dataset.image_size or 28
    if len(positions) * side * side <= IN_MEMORY_BYTES:
        return MemoryBitmaps(dataset.bitmaps(positions, size=size), dataset.labels[positions])
    return StreamedBitmaps(dataset, positions, size)


def make_source(dataset, positions: np.ndarray, input_kind: str, size: int, *, augmenting: bool) -> BatchSource:
    """The right `BatchSource` for this data (bitmaps or strokes) and this model input."""
    positions = np.asarray(positions, dtype=np.int64)
    if input_kind == "strokes":
        if dataset.kind != "strokes":
            raise ConfigError(
                f"this model reads stroke sequences, but {dataset.path} holds bitmaps ({dataset.source}); "
                "use a bitmap model or a stroke data set (simplified/raw ndjson, .bin, sketch-rnn .npz)"
            )
        return StrokeSequences(_drawings(dataset, positions), dataset.labels[positions])
    if dataset.kind == "strokes" and augmenting:
        return RasterizedStrokes(_drawings(dataset, positions), dataset.labels[positions], size)
    resize = None if dataset.kind == "bitmap" and dataset.image_size == size else size
    return _bitmap_source(dataset, positions, resize)


def auxiliary_source(train: BatchSource, cfg, classes: list[str], size: int, *, progress: bool) -> tuple[BatchSource, dict]:
    """`train` with the training drawings of `cfg.aux_data`'s shown categories (`shown_categories`: every
    other one the model lacks, less the `teaching_categories` kept for calibrating teaching) as classes
    numbered from len(classes) on, and what was added (for the run's record and the exported file's
    metadata: these categories are no longer unseen by the model)."""
    if not isinstance(train, MemoryBitmaps):
        raise ConfigError("--aux-data needs a bitmap data set that fits in memory for --data (e.g. numpy_bitmap)")
    whole = open_dataset(cfg.aux_data, split="all", progress=False)
    kept = set(teaching_categories(whole.classes, classes))
    aux_classes = [c for c in shown_categories(whole.classes, classes) if c not in kept]
    if not aux_classes:
        raise ConfigError(f"--aux-data {cfg.aux_data} holds no category that {cfg.data} lacks")
    aux = open_dataset(cfg.aux_data, split="train", classes=aux_classes, progress=progress)
    if len(aux) == 0:
        raise ConfigError(f"--aux-data {cfg.aux_data} has no training drawings of the categories {cfg.data} lacks")
    pixels = aux.bitmaps(np.arange(len(aux)), size=size)
    joined = train.joined(pixels, np.asarray(aux.labels, dtype=np.int64) + len(classes), cfg.aux_repeat)
    record = {"data": str(cfg.aux_data), "split": "train",
              "rule": "every other category the model lacks, sorted, less every fourth of those",
              "classes": list(aux.classes), "drawings": int(len(aux)), "repeat": int(cfg.aux_repeat)}
    return joined, record


def synth_splits(cfg, input_kind: str) -> Splits:
    """A synthetic data set's splits: training samples new every epoch, validation and test fixed."""
    spec = SynthSpec.parse(cfg.data)
    if cfg.aux_data:
        raise ConfigError("--aux-data is for real data sets; a synthetic one can make more classes itself")
    if input_kind != "bitmap":
        raise ConfigError(f"{cfg.data} makes bitmaps; train a bitmap model on it")
    synth = spec.synthesizer
    size = int(cfg.size or 64)
    prep = recorded_preprocessing("bitmap")
    n_classes = len(synth.classes)

    def fixed(per_class: int, base: int) -> SynthesizedSamples | None:
        if per_class == 0:
            return None
        labels = np.tile(np.arange(n_classes), per_class)
        return SynthesizedSamples(synth, labels, size, prep, fixed=True, base=base)

    if spec.fonts > 0 or (synth.bank_index < 0).any():  # some samples are drawn from fonts
        synth.prepare_glyphs(size, preprocessing=prep, workers=max(1, cfg.workers), progress=cfg.progress)
    train = SynthesizedSamples(synth, np.repeat(np.arange(n_classes), spec.class_repeats()), size, prep, fixed=False)
    val = fixed(spec.val_per_class, mix_base(cfg.seed, 1))
    test = fixed(spec.test_per_class, mix_base(cfg.seed, 2)) if cfg.evaluate_test else None
    data = {
        "path": str(cfg.data), "source": "synth", "kind": "bitmap", "n_train": len(train),
        "n_val": len(val) if val else 0, "n_test": len(test) if test else 0, "split_mode": "synthetic",
        "unwritable": len(synth.unwritable), "vocabulary": spec.vocabulary,
    }
    inp = InputSpec(kind="bitmap", size=size).as_input()
    return Splits(list(synth.classes), inp, data, train, val, test, info={"vocabulary": spec.vocabulary})


def mix_base(seed: int, part: int) -> int:
    """A 31-bit seed base for the fixed samples of one split."""
    return int(np.random.SeedSequence([seed, part, 0x5E7]).generate_state(1)[0] >> 1)


def load_splits(cfg, input_kind: str, *, augmenting: bool, progress: bool = True) -> Splits:
    """Open the training (and test) split of `cfg.data` and cut the validation split from training."""
    if is_synth(cfg.data):
        return synth_splits(cfg, input_kind)
    common = dict(split_mode=cfg.split_mode, seed=cfg.seed, max_per_class=cfg.max_per_class, classes=cfg.classes)
    train_ds = open_dataset(cfg.data, split="train", progress=progress, **common)
    if len(train_ds) == 0:
        raise ConfigError(f"the data set {cfg.data} has no training samples (split {cfg.split_mode!r})")
    classes = list(train_ds.classes)
    present = np.unique(train_ds.labels)
    if len(present) < 2:
        raise ConfigError(
            f"the data set {cfg.data} has training samples of {len(present)} class(es); a classifier needs at least 2"
        )
    if input_kind == "bitmap":
        size = int(cfg.size or train_ds.image_size or 28)
    else:
        size = None
    train_pos, val_pos = validation_split(train_ds.labels, cfg.val_fraction, cfg.seed)
    train = make_source(train_ds, train_pos, input_kind, size, augmenting=augmenting)
    val = make_source(train_ds, val_pos, input_kind, size, augmenting=False) if len(val_pos) else None
    test = None
    n_test = 0
    if cfg.evaluate_test:
        # The cap is on training samples: the test split is always scored whole, so that test figures of
        # runs with different caps compare.
        test_ds = open_dataset(cfg.data, split="test", progress=progress, **{**common, "max_per_class": None})
        if len(test_ds):
            if list(test_ds.classes) != classes:
                raise ConfigError(f"the train and test splits of {cfg.data} have different class maps")
            test = make_source(test_ds, np.arange(len(test_ds)), input_kind, size, augmenting=False)
            n_test = len(test_ds)
    info = {}
    if cfg.aux_data:
        if input_kind != "bitmap":
            raise ConfigError("--aux-data is for bitmap models")
        train, info["auxiliary"] = auxiliary_source(train, cfg, classes, size, progress=progress)
    inp = InputSpec(kind=input_kind, size=size or 0).as_input()
    data = {
        "path": str(cfg.data),
        "source": train_ds.source,
        "kind": train_ds.kind,
        "n_train": len(train_pos),
        "n_val": len(val_pos),
        "n_test": int(n_test),
        "split_mode": cfg.split_mode,
    }
    return Splits(classes, inp, data, train, val, test, info=info)


# ----------------------------------------------------------------------------------------- order


def epoch_batches(n: int, batch_size: int, *, epoch: int, seed: int, rank: int = 0, world: int = 1,
                  shuffle: bool = True) -> list[np.ndarray]:
    """This process's batches of sample positions for one epoch.

    Training (`shuffle`): the order comes from `DistributedSampler` (seed + epoch; padded so every
    process gets the same number of samples, which DDP needs), cut into batches of exactly
    `batch_size`; the remainder (fewer than `batch_size` samples, different ones every epoch) is left
    out, so every step has the same shape (no recompiles, no tiny batch for batch norm). Evaluation:
    every sample once, in order, the last batch possibly shorter.
    """
    if shuffle:
        sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
        order = np.fromiter(iter(sampler), dtype=np.int64)
    else:
        order = np.arange(rank, n, world, dtype=np.int64)
    if len(order) == 0:
        return []
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle and len(batches) > 1 and len(batches[-1]) < batch_size:
        batches.pop()
    return batches


def batch_seed(seed: int, epoch: int, rank: int, batch: int) -> list[int]:
    return [seed, epoch, rank, batch]


def iter_inputs(source: BatchSource, batches: list[np.ndarray], strength: float, *, seed: int, epoch: int,
                rank: int, workers: int = 0) -> Iterator[tuple[int, np.ndarray, tuple[torch.Tensor, ...]]]:
    """(batch number, positions, input tensors) in order; with `workers`, prepared ahead in threads."""

    def make(b: int):
        rng = np.random.default_rng(batch_seed(seed, epoch, rank, b))
        return b, batches[b], source.inputs(batches[b], strength, rng)

    if workers <= 0 or isinstance(source, MemoryBitmaps):
        for b in range(len(batches)):
            yield make(b)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = [pool.submit(make, b) for b in range(min(len(batches), 2 * workers))]
        nxt = len(pending)
        while pending:
            result = pending.pop(0).result()
            if nxt < len(batches):
                pending.append(pool.submit(make, nxt))
                nxt += 1
            yield result


class InkTorchDataset(Dataset):
    """An `InkDataset` as a map-style torch `Dataset` of (float32 (1, H, W) in [0, 1], label), for use
    with a DataLoader outside inkrec's own training loop. Stroke data sets are rasterized at `size`."""

    def __init__(self, dataset, size: int | None = None):
        self.dataset = dataset
        self.size = size

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        img = self.dataset.bitmaps([int(i)], size=self.size)[0]
        return torch.from_numpy(img).float().div_(255).unsqueeze(0), int(self.dataset.labels[int(i)])
