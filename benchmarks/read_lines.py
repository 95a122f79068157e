"""How well and how fast `inkrec.read` reads lines, on lines made from real characters.

Digits: lines of 4-8 MNIST digits as pictures (t10k, the test set, by default; `--split train` builds the
same kind of lines from the 5,000 train digits, which is where the reader's priors are tuned) (varied size,
baseline and spacing, a quarter touching or overlapping a neighbour; dark on light or light on dark, some
unevenly lit): line accuracy and character accuracy (1 - CER). Chinese: ink lines of 4-8 characters of CASIA
writer 1043 (or of another ink data set, `--chinese-data`, e.g. a Tegaki folder), read with a Chinese model
(`--chinese-model`, e.g. models/hanzi.onnx): character accuracy beside the model's isolated top-1 on the
same characters (only characters in the model's vocabulary are used). Speed: a 10-character line read on
one core, against the same model reading one character in the same run. `--report` writes a PNG of a few
lines and their readings.

    python benchmarks/read_lines.py --lines 300 --report read_lines.png
    python benchmarks/read_lines.py --split train --lines 300
    python benchmarks/read_lines.py --chinese-model models/hanzi.onnx --lines 200
    python benchmarks/read_lines.py --chinese-model models/hanzi.onnx --chinese-data ../shared/datasets/tegaki/tegaki-lab
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from inkrec.data.charsets import charset as charset_of  # noqa: E402
from inkrec.data.dataset import open_dataset  # noqa: E402
from inkrec.data.formats.idx import load_idx  # noqa: E402
from inkrec.data.synth.hanzi import HanziSynth  # noqa: E402
from inkrec.preprocess.batch import bitmap_batch, picture_bitmap, rasterize_drawings  # noqa: E402
from inkrec.read.lines import ink_line, picture_line  # noqa: E402
from inkrec.read.reader import LineReader  # noqa: E402
from inkrec.read.score import LineScore  # noqa: E402
from inkrec.runtime.onnx_model import OnnxModel  # noqa: E402

DATASETS = Path(os.environ.get("INKREC_DATASETS", REPO.parent / "shared" / "datasets"))


def line_options(ap: argparse.ArgumentParser, split: str) -> None:
    """The options of every digit-line benchmark: the model, the MNIST folder and split, how many lines."""
    ap.add_argument("--model", default=str(REPO / "models" / "digits.onnx"))
    ap.add_argument("--mnist", type=Path, default=DATASETS / "mnist")
    ap.add_argument("--split", choices=("train", "t10k"), default=split,
                    help="MNIST digits the lines are made of: t10k (the test set) or train (for tuning)")
    ap.add_argument("--lines", type=int, default=300)
    ap.add_argument("--seed", type=int, default=11)


def digit_line_parts(mnist: Path, n: int, seed: int, split: str = "t10k"):
    """Lines of 4-8 MNIST digits as pictures, seeded: (picture, the digits' bitmaps, the box each was placed
    in, their labels)."""
    images = load_idx(mnist / f"{split}-images-idx3-ubyte.gz")
    labels = load_idx(mnist / f"{split}-labels-idx1-ubyte.gz")
    rng = np.random.default_rng(seed)
    for _ in range(n):
        idx = rng.choice(len(images), int(rng.integers(4, 9)), replace=False)
        bitmaps = [images[i] for i in idx]
        pic, boxes = picture_line(bitmaps, rng)
        yield pic, bitmaps, boxes, [int(labels[i]) for i in idx]


def digit_lines(mnist: Path, n: int, seed: int, split: str = "t10k") -> list[tuple[np.ndarray, str]]:
    """(picture, its text) of each line of `digit_line_parts`."""
    return [(pic, "".join(map(str, digits))) for pic, _, _, digits in digit_line_parts(mnist, n, seed, split)]


CHINESE_PICTURE_HEIGHT = 48  # pixels a character of a Chinese picture line is made (about its longer side)


def chinese_lines(data: Path, model: OnnxModel, n: int, seed: int, *, pictures: bool = False):
    """Lines of 4-8 characters of an ink data set (a CASIA .pot, a Tegaki folder: any `open_dataset` reads),
    only those in the model's vocabulary: (the characters as (strokes, character), the lines as (strokes,
    text), or with `pictures` as (picture, text): each character drawn as the model draws ink, then composed
    like the digit lines)."""
    ds = open_dataset(data, split="all", progress=False)
    vocab = set(model.labels)
    chars = [(ds[i][0], ds.classes[ds.labels[i]]) for i in range(len(ds)) if ds.classes[ds.labels[i]] in vocab]
    if len(chars) < 4:
        return chars, []
    drawn = rasterize_drawings([d for d, _ in chars], model.spec, raw=True) if pictures else None
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(4, 9))
        pick = rng.choice(len(chars), k, replace=len(chars) < k)
        text = "".join(chars[i][1] for i in pick)
        if pictures:
            out.append((picture_line([drawn[i] for i in pick], rng, height=CHINESE_PICTURE_HEIGHT)[0], text))
        else:
            out.append((ink_line([chars[i][0] for i in pick], rng)[0], text))
    return chars, out


def synth_chinese_lines(model: OnnxModel, n: int, seed: int, charset: str = "gb2312-1", *, pictures: bool = False):
    """Lines of 4-8 synthetic handwritten characters (the synthesizer the Chinese model learnt from; the
    common characters of `charset` that it writes from strokes), seeded: (strokes, text), or with `pictures`
    (picture, text) of the synthesizer's bitmaps. Training data, so the place to tune the reader's Chinese
    priors; real writers are for measuring."""
    synth = HanziSynth.open("zh")
    ids = {c: i for i, c in enumerate(synth.classes)}
    pool = np.array([ids[c] for c in charset_of(charset) if c in ids and c in set(model.labels)])
    pool = pool[synth.bank_index[pool] >= 0]  # written from strokes, not only drawn by a font
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        labels = rng.choice(pool, int(rng.integers(4, 9)))
        seeds = rng.integers(0, 2**31, len(labels))
        text = "".join(synth.classes[i] for i in labels)
        if pictures:
            bitmaps = synth.bitmaps(labels, seeds, int(model.spec.size), preprocessing=model.spec.preprocessing)
            out.append((picture_line(list(bitmaps), rng, height=CHINESE_PICTURE_HEIGHT)[0], text))
        else:
            out.append((ink_line(synth.drawings(labels, seeds), rng)[0], text))
    return out


def timed(fn, repeat: int) -> float:
    """Median wall time of `fn`, ms."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def report(path: Path, digit_items, ink_items) -> None:
    from inkrec.figures import pyplot, save_figure

    plt = pyplot()
    rows = len(digit_items) + len(ink_items)
    fig, axes = plt.subplots(rows, 1, figsize=(9, 1.6 * rows))
    axes = np.atleast_1d(axes)
    for ax, (pic, truth, reading) in zip(axes, digit_items, strict=False):
        ax.imshow(pic, cmap="gray", vmin=0, vmax=255)
        for c in reading["characters"]:
            x0, y0, x1, y1 = c["box"]
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="tab:red", lw=1))
            ax.text(x0, y0 - 2, c["candidates"][0]["label"], color="tab:red", fontsize=9)
        ax.set_title(f"truth {truth}   read {reading['text']}", fontsize=9, loc="left")
        ax.axis("off")
    for ax, (strokes, truth, reading) in zip(axes[len(digit_items):], ink_items, strict=False):
        for s in strokes:
            ax.plot(s[0], s[1], color="black", lw=1.2)
        for c in reading["characters"]:
            x0, y0, x1, y1 = c["box"]
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="tab:red", lw=1))
        ax.invert_yaxis()
        ax.set_aspect("equal")
        ax.set_title(f"truth {truth}   read {reading['text']}", fontsize=9, loc="left")
        ax.axis("off")
    save_figure(fig, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    line_options(ap, "t10k")
    ap.add_argument("--chinese-model", help="a Chinese model (models/hanzi.onnx); none: digits only")
    ap.add_argument("--chinese-data", type=Path, default=DATASETS / "casia-olhwdb" / "1043-c.pot",
                    help="the ink the Chinese lines are made of: a CASIA .pot, a Tegaki folder")
    ap.add_argument("--chinese-pictures", action="store_true",
                    help="Chinese lines as pictures (each character drawn, the line composed), not as ink")
    ap.add_argument("--report", type=Path, help="write a PNG of a few lines and their readings")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    figures: dict = {}
    shown_digits, shown_ink = [], []

    model = OnnxModel(args.model)
    reader = LineReader(model)
    lines = digit_lines(args.mnist, args.lines, args.seed, args.split)
    reader.read_picture(lines[0][0])  # compile the labeller once
    score = LineScore()
    for k, (pic, truth) in enumerate(lines):
        reading = reader.read_picture(pic)
        score.add(reading.text, truth)
        if k < 4:
            shown_digits.append((pic, truth, reading.to_json()))
    figures["digits"] = {"model": model.id, "split": args.split, "lines": score.lines, "line_accuracy": round(score.line_accuracy, 4),
                         "char_accuracy": round(score.char_accuracy, 4)}
    print(f"digits ({model.id}, {args.split} lines), {score.summary()}")

    images = load_idx(args.mnist / "t10k-images-idx3-ubyte.gz")
    rng = np.random.default_rng(args.seed + 1)
    ten, _ = picture_line([images[i] for i in rng.choice(len(images), 10, replace=False)], rng)
    one = 255 - images[0]
    line_ms = timed(lambda: reader.read_picture(ten), 30)
    char_ms = timed(lambda: model.predict(bitmap_batch(picture_bitmap(one, model.spec)[None], model.spec)), 30)
    figures["speed"] = {"line_10_chars_ms": round(line_ms, 2), "one_char_ms": round(char_ms, 3),
                        "ratio": round(line_ms / char_ms, 1)}
    print(f"speed: a 10-digit line {line_ms:.1f} ms, one digit picture {char_ms:.2f} ms "
          f"({line_ms / char_ms:.0f}x), one core")

    if args.chinese_model:
        cmodel = OnnxModel(args.chinese_model)
        creader = LineReader(cmodel)
        chars, clines = chinese_lines(args.chinese_data, cmodel, args.lines, args.seed,
                                      pictures=args.chinese_pictures)
        read = creader.read_picture if args.chinese_pictures else creader.read_strokes
        if not clines:
            print(f"chinese ({cmodel.id}): only {len(chars)} of the data set's characters are in its vocabulary")
        else:
            x = bitmap_batch(rasterize_drawings([d for d, _ in chars], cmodel.spec, raw=True), cmodel.spec)
            iso = float(np.mean([cmodel.labels[i] == c for i, (_, c) in zip(cmodel.predict(x).argmax(1), chars,
                                                                              strict=True)]))
            cscore = LineScore()
            for k, (line, truth) in enumerate(clines):
                reading = read(line)
                cscore.add(reading.text, truth)
                if k < 3:
                    (shown_digits if args.chinese_pictures else shown_ink).append((line, truth, reading.to_json()))
            ms = timed(lambda: read(clines[0][0]), 10)
            figures["chinese"] = {"model": cmodel.id, "data": args.chinese_data.name,
                                  "as": "pictures" if args.chinese_pictures else "ink",
                                  "characters_in_vocabulary": len(chars),
                                  "lines": cscore.lines, "char_accuracy": round(cscore.char_accuracy, 4),
                                  "line_accuracy": round(cscore.line_accuracy, 4),
                                  "isolated_top1": round(iso, 4), "line_ms": round(ms, 1)}
            print(f"chinese {'pictures' if args.chinese_pictures else 'ink'} ({cmodel.id}, {len(chars)} characters "
                  f"of {args.chinese_data.name} in its vocabulary), "
                  f"{cscore.summary()}; isolated top-1 on the same characters {iso:.4f}; "
                  f"{len(clines[0][1])}-character line {ms:.1f} ms")
    if args.report:
        report(args.report, shown_digits, shown_ink)
        print(f"report: {args.report}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
