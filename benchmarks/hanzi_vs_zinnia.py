"""inkrec's Chinese model against Zinnia, the Tegaki project's recognizer, on the same real handwriting.

Data (real people, test only): CASIA writer 1043 (`casia-olhwdb/1043-c.pot`, 1,000 GB2312 level-1
characters in a fast, joined-up hand), the Tegaki project's Traditional Chinese samples, and the Japanese
kanji of tegaki-lab (native and learner writers, every session). Each set is cut to the characters our model
knows (labels matched by character), and both recognizers see the same ink: the drawings as inkrec's data
sets hold them (the simplified 0-255 space).

- Ours: the ONNX model (`--model`, default models/hanzi.onnx) through inkrec's evaluation code (the path of
  `inkrec eval`: the model's recorded preprocessing, scoring over its whole vocabulary); ms per character
  with one character per call, as the server and the page run it.
- Zinnia: the `zinnia` command (Debian `zinnia-utils`) with the Tegaki Simplified Chinese model
  (`tegaki-zinnia-simplified-chinese`, /usr/share/tegaki/models/zinnia/handwriting-zh_CN.model; 6,763 GB2312
  characters), fed Zinnia's S-expressions (`(character (width 1000)(height 1000)(strokes ((x y)...)...))`,
  the drawing centred in the 1000 box as Tegaki's pad records it); ms per character is a run of at least
  1,000 characters less a one-character run (model loading), over the characters recognised. The set-up installs both packages with apt when they are
  missing (the benchmark's need, never the app's).

Printed as a table (top-1, top-10, ms per character, and how many of a set's characters Zinnia's vocabulary
has at all) and written to `--json` (default bench-results/hanzi_vs_zinnia.json).

    python benchmarks/hanzi_vs_zinnia.py [--model models/hanzi.onnx] [--data ../shared/datasets]
                                         [--limit N] [--json PATH] [--zinnia-only zh]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from inkrec.data.charsets import charset  # noqa: E402
from inkrec.data.dataset import open_dataset  # noqa: E402
from inkrec.evaluate.metrics import top_k_accuracy  # noqa: E402
from inkrec.evaluate.predict import load_model, predict_dataset, prepare_batch  # noqa: E402
from inkrec.jsonio import write_json  # noqa: E402

ZINNIA_MODEL = Path("/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model")
ZINNIA_PACKAGES = ("zinnia-utils", "tegaki-zinnia-simplified-chinese")
ZINNIA_VOCABULARY = "gb2312"  # the Tegaki zh_CN model's 6,763 characters
TOP = 10


def data_sets(data: Path) -> dict[str, list[Path]]:
    lab = data / "tegaki" / "tegaki-lab"
    return {
        "CASIA writer 1043 (.pot)": [data / "casia-olhwdb" / "1043-c.pot"],
        "Tegaki Traditional Chinese": [data / "tegaki" / "traditional-chinese"],
        "Tegaki kanji (native)": [lab / s / "japanese-native1" for s in ("train", "eval")],
        "Tegaki kanji (learner)": [lab / s / "japanese-learner1" for s in ("train", "eval")],
    }


def ensure_zinnia() -> None:
    """Install Zinnia and the Tegaki model with apt when they are missing (benchmark set-up only)."""
    if shutil.which("zinnia") and ZINNIA_MODEL.is_file():
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    print(f"installing {' '.join(ZINNIA_PACKAGES)} with apt ...", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", *ZINNIA_PACKAGES]):
        subprocess.run([*sudo, *cmd], check=False, env=env)
    if not (shutil.which("zinnia") and ZINNIA_MODEL.is_file()):
        sys.exit(f"Zinnia is not available: install {' '.join(ZINNIA_PACKAGES)} (Debian/Ubuntu) and run again")


def sexp(strokes) -> str:
    """A drawing in the 0-255 space as Zinnia's S-expression, centred in a 1000x1000 box with a margin."""
    pts = np.concatenate([np.asarray(s, dtype=np.float64)[:2] for s in strokes], axis=1)
    lo, hi = pts.min(axis=1), pts.max(axis=1)
    scale = 800.0 / max(float((hi - lo).max()), 1e-6)
    off = 500.0 - (lo + hi) / 2 * scale
    parts = []
    for s in strokes:
        xy = np.rint(np.asarray(s, dtype=np.float64)[:2].T * scale + off).astype(int)
        parts.append("(" + "".join(f"({x} {y})" for x, y in xy) + ")")
    return f"(character (width 1000)(height 1000)(strokes {''.join(parts)}))"


def run_zinnia(lines: list[str], work: Path) -> tuple[list[list[str]], float]:
    """Zinnia's 10 best for each line, and the seconds the run took."""
    src = work / "input.sexp"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    t0 = time.perf_counter()
    out = subprocess.run(["zinnia", "-m", str(ZINNIA_MODEL), "-n", str(TOP), str(src)],
                         capture_output=True, check=True).stdout.decode("utf-8")
    seconds = time.perf_counter() - t0
    answers: list[list[str]] = []
    for block in out.split("Answer:")[1:]:
        answers.append([line.split()[0] for line in block.strip().splitlines() if line.split()])
    if len(answers) != len(lines):
        raise RuntimeError(f"zinnia answered {len(answers)} of {len(lines)} characters")
    return answers, seconds


def zinnia_scores(strokes: list, labels: list[str], work: Path) -> dict:
    lines = [sexp(s) for s in strokes]
    answers, _ = run_zinnia(lines, work)
    repeat = -(-1000 // len(lines))  # time at least 1,000 characters, less a one-character run (loading)
    _, seconds = run_zinnia(lines * repeat, work)
    _, load = run_zinnia(lines[:1], work)
    top1 = float(np.mean([a[:1] == [y] for a, y in zip(answers, labels)]))
    top10 = float(np.mean([y in a[:TOP] for a, y in zip(answers, labels)]))
    return {"top1": top1, "top10": top10, "ms_per_char": 1000 * max(seconds - load, 0.0) / (len(lines) * repeat)}


def ours_scores(model, parts: list) -> dict:
    y_true, probs = [], []
    for ds in parts:
        preds = predict_dataset(model, ds, progress=False)
        y_true.append(preds.y_true)
        probs.append(preds.probs)
    y, p = np.concatenate(y_true), np.concatenate(probs)
    n = sum(len(ds) for ds in parts)
    t0 = time.perf_counter()
    for ds in parts:  # one character per call, as the server and the page run it
        for i in range(len(ds)):
            model.predict(prepare_batch(model, ds, np.array([i])))
    ms = 1000 * (time.perf_counter() - t0) / n
    return {"top1": top_k_accuracy(y, p, 1), "top10": top_k_accuracy(y, p, TOP), "ms_per_char": ms}


def open_known(path: Path, vocabulary: set[str], limit: int | None):
    """The data set cut to the characters the model knows (labels matched by character), or None."""
    whole = open_dataset(path, progress=False)
    keep = [c for c in whole.classes if c in vocabulary]
    if not keep:
        return None
    ds = open_dataset(path, classes=keep, progress=False)
    return ds.subset(np.arange(limit)) if limit and len(ds) > limit else ds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(REPO / "models" / "hanzi.onnx"))
    ap.add_argument("--data", default=os.environ.get("INKREC_DATASETS", str(REPO.parent / "shared" / "datasets")))
    ap.add_argument("--limit", type=int, default=None, help="At most N characters of each folder or file.")
    ap.add_argument("--json", default=str(REPO / "bench-results" / "hanzi_vs_zinnia.json"))
    ap.add_argument("--zinnia-only", metavar="CHARSET", default=None,
                    help="Score Zinnia alone on the characters of this vocabulary (e.g. zh), without a model.")
    args = ap.parse_args()
    ensure_zinnia()
    model = None if args.zinnia_only else load_model(args.model)
    vocabulary = set(charset(args.zinnia_only)) if model is None else set(model.classes)
    zinnia_vocabulary = set(charset(ZINNIA_VOCABULARY))
    rows = []
    with tempfile.TemporaryDirectory(prefix="zinnia-") as tmp:
        for name, paths in data_sets(Path(args.data)).items():
            parts = [ds for p in paths if (ds := open_known(p, vocabulary, args.limit)) is not None]
            if not parts:
                rows.append({"data": name, "n": 0, "note": "no character of this set is in the model"})
                continue
            labels = [ds.classes[int(y)] for ds in parts for y in ds.labels]
            strokes = [ds[i][0] for ds in parts for i in range(len(ds))]
            row = {"data": name, "n": len(labels), "characters": len(set(labels)),
                   "in_zinnia_vocabulary": float(np.mean([y in zinnia_vocabulary for y in labels])),
                   "ours": ours_scores(model, parts) if model is not None else None,
                   "zinnia": zinnia_scores(strokes, labels, Path(tmp))}
            rows.append(row)
    what = f"vocabulary {args.zinnia_only}" if model is None else str(args.model)
    result = {"model": what, "model_classes": len(vocabulary), "zinnia_model": str(ZINNIA_MODEL),
              "top": TOP, "rows": rows}
    print(f"{what} ({len(vocabulary):,} characters) vs Zinnia ({ZINNIA_MODEL.name})")
    print(f"{'data':30} {'n':>5} {'zinnia knows':>12} | {'ours top1':>9} {'top10':>6} {'ms':>6} "
          f"| {'zinnia top1':>11} {'top10':>6} {'ms':>6}")
    for r in rows:
        if not r["n"]:
            print(f"{r['data']:30} {0:>5}   {r['note']}")
            continue
        o, z = r["ours"], r["zinnia"]
        ours = f"{o['top1']:>9.1%} {o['top10']:>6.1%} {o['ms_per_char']:>6.2f}" if o else f"{'-':>9} {'-':>6} {'-':>6}"
        print(f"{r['data']:30} {r['n']:>5} {r['in_zinnia_vocabulary']:>12.1%} | {ours} | {z['top1']:>11.1%} "
              f"{z['top10']:>6.1%} {z['ms_per_char']:>6.2f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    write_json(args.json, result)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
