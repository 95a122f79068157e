"""Quality and training speed on the real data of `../shared/datasets`, every row measured in one run.

Trains and evaluates on the standard splits and prints one table (model, data set, top-1, top-3, epochs,
train seconds, train samples/s, peak RSS), then checks the bars inkrec promises against the course stack:

- Quick, Draw! 18 categories (numpy_bitmap): `inknet` vs `seed-cnn` with the same epoch budget (inknet at
  least 4 points better, trained in under 15 minutes), and the course Keras CNN trained as the course does
  (Adam, batch 256, validation split 0.1, early stopping patience 3): our `seed-cnn` must train at least as
  many samples per second as Keras.
- MNIST (5,000 train digits -> official 10,000 t10k): inknet top-1 >= 99.0%.
- Chinese MNIST (writers 1-64 train, 65-80 test): inknet top-1 >= 98.5%.
- Cross-format: the Quick, Draw! inknet scored on our rasterization of the `simplified` drawings of the same
  18 categories: top-1 within 3 points of its numpy_bitmap test top-1.
- 344-category simplified strokes (20 train / 5 test each): `stroke-rnn`, `inknet` on the same drawings
  rasterized, and the two combined (averaged probabilities).

Each training runs in its own process, so its peak RSS is its own and the Keras baseline's TensorFlow threads
never share a process with torch. Training goes through inkrec's own Python training API (the code path of
`inkrec train`) and scoring through `inkrec.evaluate` (the code path of `inkrec eval`).

    python benchmarks/quality.py [--only quickdraw,keras,cross,mnist,chinese,strokes] [--quick]
                                 [--data ../shared/datasets] [--out bench-results]

The table is also written to `bench-results/quality.json` and `bench-results/quality.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GROUPS = ("quickdraw", "keras", "cross", "mnist", "chinese", "strokes", "speed")
# "speed": seed-cnn (our trainer) and the Keras course CNN back to back, to compare training speed alone.
SEED = 0


def datasets_dir(arg: str | None = None) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("INKREC_DATASETS")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


# ----------------------------------------------------------------------------------------- results


@dataclass
class Row:
    """One line of the table."""

    key: str
    model: str
    dataset: str
    top1: float | None = None
    top3: float | None = None
    n_test: int | None = None
    epochs: int | None = None
    train_seconds: float | None = None
    train_samples: int | None = None
    samples_per_s: float | None = None
    peak_rss_mb: float | None = None
    note: str = ""
    details: dict = field(default_factory=dict)  # everything else the run reported (JSON only)


@dataclass
class Check:
    """One promised bar, with the measured figure and whether it holds."""

    name: str
    passed: bool | None
    detail: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.key == key), None)


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def in_child(fn, *args, **kwargs):
    """Run `fn` in a fresh process (spawned, not forked: no inherited threads or memory) and return its result.

    A fresh process per training makes each peak RSS that training's own and keeps TensorFlow and torch apart.
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def scores(y_true: np.ndarray, probs: np.ndarray) -> dict:
    """Top-1 and top-3 with inkrec's own metric code."""
    from inkrec.evaluate.metrics import top_k_accuracy

    return {
        "top1": top_k_accuracy(y_true, probs, 1),
        "top3": top_k_accuracy(y_true, probs, 3),
        "n": len(y_true),
    }


def evaluate_model(model: str | Path, dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y_true, probs, dataset indices) of a run directory or ONNX file on an `InkDataset`, as `inkrec eval`
    computes them (same label alignment, same preprocessing)."""
    from inkrec.evaluate.predict import load_model, predict_dataset

    preds = predict_dataset(load_model(model), dataset, progress=False)
    return preds.y_true, preds.probs, preds.indices


def combine(prob_sets: list[np.ndarray]) -> np.ndarray:
    """Average the class probabilities of several models scored on the same samples in the same order."""
    if not prob_sets:
        raise ValueError("nothing to combine")
    shapes = {p.shape for p in prob_sets}
    if len(shapes) != 1:
        raise ValueError(f"probability arrays differ in shape: {sorted(shapes)}")
    return np.mean(np.stack([np.asarray(p, dtype=np.float64) for p in prob_sets]), axis=0)


# ------------------------------------------------------------------------------------- formatting


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _num(v: float | None, fmt: str = "{:,.0f}") -> str:
    return "-" if v is None else fmt.format(v)


COLUMNS = (
    "model",
    "data set",
    "top-1",
    "top-3",
    "epochs",
    "train s",
    "train samples/s",
    "peak RSS MiB",
    "note",
)


def row_cells(r: Row) -> list[str]:
    return [
        r.model,
        r.dataset,
        _pct(r.top1),
        _pct(r.top3),
        _num(r.epochs),
        _num(r.train_seconds, "{:,.1f}"),
        _num(r.samples_per_s),
        _num(r.peak_rss_mb),
        r.note,
    ]


def markdown(report: Report) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row_cells(r)) + " |" for r in report.rows]
    if report.checks:
        lines += ["", "| bar | holds | measured |", "|---|---|---|"]
        for c in report.checks:
            mark = "n/a" if c.passed is None else ("yes" if c.passed else "**NO**")
            lines.append(f"| {c.name} | {mark} | {c.detail} |")
    meta = ", ".join(f"{k}: {v}" for k, v in report.meta.items())
    return "\n".join(lines) + (f"\n\n{meta}\n" if meta else "\n")


def print_report(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="inkrec quality (standard splits of ../shared/datasets)")
    for c in COLUMNS:
        table.add_column(c, justify="left" if c in ("model", "data set", "note") else "right")
    for r in report.rows:
        table.add_row(*row_cells(r))
    console.print(table)
    if report.checks:
        bars = Table(title="bars")
        for c in ("bar", "holds", "measured"):
            bars.add_column(c)
        for c in report.checks:
            mark = "n/a" if c.passed is None else ("[green]yes[/green]" if c.passed else "[red]NO[/red]")
            bars.add_row(c.name, mark, c.detail)
        console.print(bars)
    console.print(", ".join(f"{k}: {v}" for k, v in report.meta.items()))


def write_results(report: Report, out_dir: Path) -> tuple[Path, Path]:
    """`quality.json` and `quality.md` in `out_dir`, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "rows": [asdict(r) for r in report.rows],
        "checks": [asdict(c) for c in report.checks],
        "meta": report.meta,
    }
    paths = []
    for name, text in (
        ("quality.json", json.dumps(payload, indent=2) + "\n"),
        ("quality.md", markdown(report)),
    ):
        path = out_dir / name
        fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        paths.append(path)
    return paths[0], paths[1]


# ------------------------------------------------------------------------------------- workers
# Each runs in its own spawned process (see `in_child`) and returns plain data.


def keras_worker(data: str, max_epochs: int, seed: int, max_per_class: int | None) -> dict:
    """The course stack on the Quick, Draw! standard split: Keras CNN trained as the course does."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from course_keras import predict_probs, train_course_cnn

    from inkrec.data.dataset import open_dataset

    train = open_dataset(data, split="train", max_per_class=max_per_class, progress=False)
    test = open_dataset(data, split="test", classes=train.classes, progress=False)
    x_train, y_train = train.bitmaps(), train.labels
    x_test, y_test = test.bitmaps(), test.labels
    model, stats = train_course_cnn(x_train, y_train, len(train.classes), max_epochs=max_epochs, seed=seed)
    probs = predict_probs(model, x_test)
    import tensorflow as tf

    return {
        **scores(y_test, probs),
        **stats,
        "train_samples": int(len(x_train) * 0.9),
        "peak_rss_mb": peak_rss_mb(),
        "version": f"tensorflow {tf.__version__}",
    }


def ours_worker(options: dict) -> dict:
    """One inkrec training run through the Python training API (the code path of `inkrec train`).

    `options` are `TrainConfig` fields. The test split is scored afterwards by `inkrec.evaluate`, so the
    wall-clock time here covers what Keras' `fit` covers: training epochs plus per-epoch validation (and
    our data set stacking on top, which the Keras baseline does before `fit`).
    """
    from inkrec.train.config import make_config
    from inkrec.train.loop import train

    config = make_config(**{"evaluate_test": False, "track": False, "progress": False, **options})
    t0 = time.perf_counter()
    result = train(config)
    wall = time.perf_counter() - t0
    per_epoch = [h.get("samples", 0) for h in result.history]
    return {
        "epochs": result.epochs_run,
        "best_epoch": result.best_epoch,
        "train_seconds": wall,
        "step_seconds": result.train_seconds,
        "train_samples": int(per_epoch[0]) if per_epoch else 0,
        "samples_seen": int(result.train_samples),
        "samples_per_s": result.train_samples / wall if wall else None,
        "step_samples_per_s": result.samples_per_s,
        "best_val_top1": result.best_val_top1,
        "environment": result.environment,
        "peak_rss_mb": peak_rss_mb(),
    }


# ------------------------------------------------------------------------------------- recipes


@dataclass(frozen=True)
class Budget:
    """Epochs and caps for one run of the benchmark; `--quick` swaps in a tiny one (a smoke run)."""

    quickdraw_epochs: int = 10
    keras_max_epochs: int = 30
    mnist_epochs: int = 30
    chinese_epochs: int = 12
    strokes_epochs: int = 10
    strokes_inknet_epochs: int = 8
    quickdraw_per_class: int | None = None
    mnist_per_class: int | None = None
    chinese_per_class: int | None = None
    strokes_classes: int | None = None  # None: all 344


FULL = Budget()
QUICK = Budget(
    quickdraw_epochs=1,
    keras_max_epochs=1,
    mnist_epochs=1,
    chinese_epochs=1,
    strokes_epochs=1,
    strokes_inknet_epochs=1,
    quickdraw_per_class=60,
    mnist_per_class=30,
    chinese_per_class=30,
    strokes_classes=12,
)

# Training options per row, on top of TrainConfig's defaults (AdamW, warm-up + cosine, label smoothing 0.1,
# light augmentation, a 10% validation split, channels-last). Bitmap models train with bfloat16 autocast
# (AMX/AVX-512 BF16 CPUs; plain float32 elsewhere). No early stopping: every row runs its whole epoch budget,
# so inknet and seed-cnn get the same one.
INKNET_RECIPE = {"patience": None, "amp": True, "augment": "light", "lr": 3e-3}
# seed-cnn is the course's network: trained the course's way (no augmentation, no label smoothing, no weight
# decay, lr 1e-3) but by our trainer, which is what is being measured against Keras.
SEED_CNN_RECIPE = {
    "patience": None,
    "amp": True,
    "augment": "none",
    "lr": 1e-3,
    "label_smoothing": 0.0,
    "weight_decay": 0.0,
    "warmup_epochs": 0.0,
}
# stroke-rnn's default size (3 bidirectional LSTM layers of 128) trains at about 50 drawings/s on this 2-core
# machine, too slow for its budget; one layer of 64 keeps the design (1-D convolutions, then a bidirectional
# LSTM over the point sequence) at about 170 drawings/s.
STROKE_RNN_RECIPE = {"patience": None, "model_kwargs": {"hidden": 64, "layers": 1}}


def train_row(key: str, label: str, dataset: str, options: dict, runs: Path, data: str) -> tuple[Row, Path]:
    """Train in a child process; the returned row has no scores yet (see `score_row`)."""
    out = runs / key
    stats = in_child(ours_worker, {"data": data, "out": str(out), "seed": SEED, **options})
    note = f"best epoch {stats['best_epoch']}; steps only {stats['step_samples_per_s']:,.0f}/s"
    row = Row(
        key=key,
        model=label,
        dataset=dataset,
        epochs=stats["epochs"],
        train_seconds=stats["train_seconds"],
        train_samples=stats["train_samples"],
        samples_per_s=stats["samples_per_s"],
        peak_rss_mb=stats["peak_rss_mb"],
        note=note,
    )
    row.details = {k: v for k, v in stats.items() if k not in ("environment",)}
    row.details["environment"] = stats.get("environment")
    return row, out


def score_row(row: Row, model: Path, dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, probs, idx = evaluate_model(model, dataset)
    s = scores(y, probs)
    row.top1, row.top3, row.n_test = s["top1"], s["top3"], s["n"]
    return y, probs, idx


# ------------------------------------------------------------------------------------- the run


def _check(report: Report, name: str, passed: bool | None, detail: str) -> None:
    report.checks.append(Check(name, passed, detail))


def run(groups: list[str], budget: Budget, data_root: Path, out_dir: Path, threads: int | None = 1) -> Report:
    """Train and score the chosen row groups; the report is rewritten to `out_dir` after every row."""
    from inkrec.data.dataset import open_dataset

    extra = {"threads": threads} if threads else {}
    report = Report()
    report.meta = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "budget": "quick (smoke run)" if budget == QUICK else "full",
        "seed": SEED,
        "torch_threads_per_training": threads or "trainer default",
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    runs = out_dir / "runs"
    qd_bitmaps = data_root / "quickdraw" / "numpy_bitmap"
    qd_strokes = data_root / "quickdraw" / "simplified"

    def save() -> None:
        write_results(report, out_dir)

    # ---- Quick, Draw! 18 categories, numpy_bitmap: inknet vs seed-cnn vs the course Keras CNN
    qd_run = None
    qd_test = None
    common = {"epochs": budget.quickdraw_epochs, "max_per_class": budget.quickdraw_per_class, **extra}
    if {"quickdraw", "cross", "speed"} & set(groups):
        qd_test = open_dataset(qd_bitmaps, split="test", progress=False)
    if "quickdraw" in groups or "cross" in groups:
        row, qd_run = train_row(
            "quickdraw-inknet",
            "inknet",
            "Quick, Draw! 18 (numpy_bitmap)",
            {**INKNET_RECIPE, **common, "model": "inknet"},
            runs,
            str(qd_bitmaps),
        )
        score_row(row, qd_run, qd_test)
        report.rows.append(row)
        save()
    if "quickdraw" in groups or "speed" in groups:
        row, seed_run = train_row(
            "quickdraw-seed-cnn",
            "seed-cnn",
            "Quick, Draw! 18 (numpy_bitmap)",
            {**SEED_CNN_RECIPE, **common, "model": "seed-cnn"},
            runs,
            str(qd_bitmaps),
        )
        score_row(row, seed_run, qd_test)
        report.rows.append(row)
        save()
    if "keras" in groups or "speed" in groups:
        k = in_child(keras_worker, str(qd_bitmaps), budget.keras_max_epochs, SEED, budget.quickdraw_per_class)
        report.rows.append(
            Row(
                key="quickdraw-keras",
                model="course CNN (Keras)",
                dataset="Quick, Draw! 18 (numpy_bitmap)",
                top1=k["top1"],
                top3=k["top3"],
                n_test=k["n"],
                epochs=k["epochs"],
                train_seconds=k["train_seconds"],
                train_samples=k["train_samples"],
                samples_per_s=k["samples_per_s"],
                peak_rss_mb=k["peak_rss_mb"],
                note=f"{k['version']}; Adam, batch 256, val 0.1, early stop patience 3",
                details=k,
            )
        )
        save()

    # ---- cross-format: the numpy_bitmap inknet on our rasterization of Google's simplified strokes
    if "cross" in groups:
        classes = open_dataset(qd_bitmaps, split="test", progress=False).classes
        strokes = open_dataset(qd_strokes, classes=classes, progress=False)  # all 25 of each
        row = Row(
            key="cross-format",
            model="inknet (numpy_bitmap-trained)",
            dataset="Quick, Draw! 18 simplified, rasterized by inkrec.preprocess.raster",
            note=f"all {len(strokes)} drawings",
        )
        score_row(row, qd_run, strokes)
        report.rows.append(row)
        save()

    # ---- MNIST and Chinese MNIST
    if "mnist" in groups:
        mnist = data_root / "mnist"
        row, path = train_row(
            "mnist-inknet",
            "inknet",
            "MNIST 5k -> t10k",
            {
                **INKNET_RECIPE,
                **extra,
                "model": "inknet",
                "epochs": budget.mnist_epochs,
                "max_per_class": budget.mnist_per_class,
            },
            runs,
            str(mnist),
        )
        score_row(row, path, open_dataset(mnist, split="test", progress=False))
        report.rows.append(row)
        save()
    if "chinese" in groups:
        cm = data_root / "chinese-mnist"
        row, path = train_row(
            "chinese-mnist-inknet",
            "inknet",
            "Chinese MNIST writers 1-64 -> 65-80",
            {
                **INKNET_RECIPE,
                **extra,
                "model": "inknet",
                "epochs": budget.chinese_epochs,
                "max_per_class": budget.chinese_per_class,
            },
            runs,
            str(cm),
        )
        score_row(row, path, open_dataset(cm, split="test", progress=False))
        report.rows.append(row)
        save()

    # ---- 344-category simplified strokes: stroke-rnn, inknet on the rasterized drawings, both combined
    if "strokes" in groups:
        all_classes = open_dataset(qd_strokes, split="test", progress=False).classes
        classes = all_classes[: budget.strokes_classes] if budget.strokes_classes else None
        test = open_dataset(qd_strokes, split="test", classes=classes, progress=False)
        name = f"simplified {len(test.classes)} categories (20 train / 5 test)"
        rows, probs = [], []
        for key, model, label, epochs, recipe in (
            (
                "strokes-rnn",
                "stroke-rnn",
                "stroke-rnn (1 x 64 LSTM)",
                budget.strokes_epochs,
                STROKE_RNN_RECIPE,
            ),
            (
                "strokes-inknet",
                "inknet",
                "inknet (rasterized strokes)",
                budget.strokes_inknet_epochs,
                INKNET_RECIPE,
            ),
        ):
            row, path = train_row(
                key,
                label,
                name,
                {**recipe, **extra, "model": model, "epochs": epochs, "classes": classes},
                runs,
                str(qd_strokes),
            )
            y, p, idx = score_row(row, path, test)
            rows.append(row)
            probs.append((y, p, idx))
            report.rows.append(row)
            save()
        (y0, p0, i0), (y1, p1, i1) = probs
        if not (np.array_equal(i0, i1) and np.array_equal(y0, y1)):
            raise RuntimeError("the two stroke models were scored on different samples")
        both = scores(y0, combine([p0, p1]))
        report.rows.append(
            Row(
                key="strokes-combined",
                model="stroke-rnn + inknet (mean probabilities)",
                dataset=name,
                top1=both["top1"],
                top3=both["top3"],
                n_test=both["n"],
                epochs=None,
                train_seconds=sum(r.train_seconds or 0 for r in rows),
                note="sum of both trainings",
            )
        )
        save()

    add_checks(report)
    report.meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    report.meta["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    save()
    return report


def add_checks(report: Report) -> None:
    """The promised bars, judged on this run's figures only (a row that did not run is 'n/a')."""
    ink, seed, keras = (
        report.row("quickdraw-inknet"),
        report.row("quickdraw-seed-cnn"),
        report.row("quickdraw-keras"),
    )
    if ink and seed:
        gap = 100 * (ink.top1 - seed.top1)
        _check(
            report,
            "Quick, Draw!: inknet top-1 >= seed-cnn + 4 points (same epochs)",
            gap >= 4.0,
            f"{_pct(ink.top1)} vs {_pct(seed.top1)}: {gap:+.2f} points at {ink.epochs} vs {seed.epochs} epochs",
        )
    if ink:
        _check(
            report,
            "Quick, Draw!: inknet trains in < 15 min",
            ink.train_seconds < 15 * 60,
            f"{ink.train_seconds / 60:.1f} min",
        )
    if seed and keras:
        ratio = seed.samples_per_s / keras.samples_per_s
        _check(
            report,
            "seed-cnn train samples/s >= Keras'",
            ratio >= 1.0,
            f"{seed.samples_per_s:,.0f} vs {keras.samples_per_s:,.0f} samples/s: {ratio:.2f}x",
        )
        gap = 100 * (seed.top1 - keras.top1)
        _check(
            report,
            "seed-cnn top-1 about Keras' (same CNN)",
            None,
            f"{_pct(seed.top1)} vs {_pct(keras.top1)} ({gap:+.2f} points; seed-cnn {seed.epochs} epochs, "
            f"Keras {keras.epochs} epochs with early stopping)",
        )
    mnist = report.row("mnist-inknet")
    if mnist:
        _check(report, "MNIST: inknet top-1 >= 99.0%", mnist.top1 >= 0.99, _pct(mnist.top1))
    cm = report.row("chinese-mnist-inknet")
    if cm:
        _check(report, "Chinese MNIST: inknet top-1 >= 98.5%", cm.top1 >= 0.985, _pct(cm.top1))
    cross = report.row("cross-format")
    if cross and ink:
        gap = 100 * (cross.top1 - ink.top1)
        _check(
            report,
            "cross-format top-1 within 3 points of numpy_bitmap test",
            abs(gap) <= 3.0,
            f"{_pct(cross.top1)} on rasterized simplified vs {_pct(ink.top1)} on numpy_bitmap ({gap:+.2f})",
        )
    rnn, inkr, both = report.row("strokes-rnn"), report.row("strokes-inknet"), report.row("strokes-combined")
    if rnn and inkr and both:
        _check(
            report,
            "strokes: stroke-rnn, inknet, combined (reported)",
            None,
            f"{_pct(rnn.top1)}, {_pct(inkr.top1)}, {_pct(both.top1)}",
        )


def parse_groups(text: str | None) -> list[str]:
    if not text:
        return list(GROUPS)
    groups = [g.strip() for g in text.split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise SystemExit(f"unknown row group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    return groups


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help=f"comma-separated row groups: {', '.join(GROUPS)} (default: all)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: tiny subsets, one epoch each")
    ap.add_argument("--data", help="the data sets folder (default ../shared/datasets or $INKREC_DATASETS)")
    ap.add_argument("--out", default=str(REPO / "bench-results"), help="where the table and runs go")
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads per training (default 0: the trainer's own choice, every core; on a machine that "
        "other work shares, 1 trains these small CNNs faster, as an OpenMP team stalls whenever a core is taken)",
    )
    args = ap.parse_args(argv)
    groups = parse_groups(args.only)
    data_root = datasets_dir(args.data)
    if not (data_root / "quickdraw").is_dir():
        raise SystemExit(f"no data sets at {data_root} (give --data or set INKREC_DATASETS)")
    out_dir = Path(args.out)
    if args.quick:  # a smoke run must never overwrite a measured table
        out_dir = out_dir / "quick"
    report = run(groups, QUICK if args.quick else FULL, data_root, out_dir, threads=args.threads or None)
    print_report(report)
    json_path, md_path = write_results(report, out_dir)
    print(f"written: {json_path}, {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
