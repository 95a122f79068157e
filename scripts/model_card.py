"""Write a bundled model's card (`models/<id>.md`) and put its measured test scores into the ONNX itself.

The figures come from one `inkrec eval --json` of the exported `.onnx` on the standard test split, so the
card, the ONNX metadata (`metrics.test`, which `GET /v1/models` shows) and what anyone re-measures with
`inkrec eval` are the same numbers. Also rewrites `models/README.md`, the index of every bundled model.

    python scripts/model_card.py models/doodles.onnx --eval runs/bundled/doodles.test.json \
        --run runs/bundled/doodles

Licences, attribution and citations come from `inkrec.data.terms.dataset_terms`; after they change,
`python scripts/model_card.py --refresh models/*.onnx` writes them into the files' metadata (the weights and
the measured figures stay as they are) and rewrites the cards.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx

from inkrec.atomic import write_bytes_atomic
from inkrec.data.terms import dataset_terms
from inkrec.export.model_file import read_model_metadata, write_model
from inkrec.runtime.metadata import reads_lines
from inkrec.runtime.onnx_model import read_metadata

REPO = Path(__file__).resolve().parents[1]

# What each bundled model is for and where its data comes from, keyed by model id.
ABOUT = {
    "doodles": {
        "title": "Quick, Draw! doodles (18 categories)",
        "data": "Quick, Draw! `numpy_bitmap` files of 18 categories (`../shared/datasets/quickdraw/numpy_bitmap`, "
        "65,960 drawings); standard split: per category the first 80% of rows train, the last 20% test.",
        "use": "Live guessing on the drawing page and `POST /v1/predict` with strokes or a picture of a doodle.",
    },
    "digits": {
        "title": "Handwritten digits (MNIST)",
        "data": "MNIST (`../shared/datasets/mnist`): 5,000 training digits (500 per class, from the MNIST "
        "training set); test: the official 10,000-digit t10k set.",
        "use": "Digits 0-9 drawn on the page or uploaded as a picture.",
    },
    "hanzi-numerals": {
        "title": "Handwritten Chinese numerals (Chinese MNIST)",
        "data": "Chinese MNIST (`../shared/datasets/chinese-mnist`): 15 numerals, 80 writers x 10 samples x 15 "
        "characters as 64x64 JPEGs; standard split: writers 1-64 train, writers 65-80 test (writer-disjoint).",
        "use": "The 15 numerals 零一二三四五六七八九十百千万亿 drawn on the page or uploaded as a picture.",
    },
    "hanzi": {
        "title": "Chinese handwriting, every character (GB2312 + Big5: 15,433)",
        "data": "No handwriting at all: `inkrec`'s synthesizer (`synth:hanzi`, `inkrec data synth hanzi`) writes "
        "new samples every epoch from the stroke medians of npm's hanzi-writer-data (9,234 of the classes; "
        "joined-up and cursive forms, per-stroke drift, stroke-order swaps) and from Debian's handwriting-style "
        "fonts (warped glyphs; the only source of ~6,200 rarer Big5 characters): Kai fonts, and Japanese pen "
        "and brush fonts written by hand, semi-cursive forms included. GB2312 level-1 classes get 3x, "
        "other common Big5 classes 2x the samples. Real handwriting is used for testing only: CASIA OLHWDB "
        "writer 1043, Chinese MNIST writers 65-80, Tegaki's Traditional Chinese and kanji samples.",
        "use": "The Chinese writing pad of the drawing page (ten candidates after every stroke), "
        "`POST /v1/predict` with strokes or a photo of one character, and `inkrec read` for lines.",
    },
}


def _lines(meta: dict) -> list[str]:
    """The card's row on reading lines: whether it does, and the reader's priors the model sets for itself."""
    if not reads_lines(meta):
        return []
    own = "; ".join(f"{kind}: " + ", ".join(f"{k} {v:g}" for k, v in fields.items())
                    for kind, fields in (meta.get("line_priors") or {}).items())
    return [f"| lines | reads lines of several characters (`inkrec read`, `POST /v1/read`, the page's \"Write a "
            f"line\"){f'; its own line priors ({own}), chosen on lines of its training characters' if own else ''} |"]


def test_scores(eval_json: dict) -> dict:
    """The headline figures of an `inkrec eval --json` result, as stored in the model's metadata."""
    if eval_json.get("split") != "test":
        raise SystemExit(f"the evaluation must be on the test split, got {eval_json.get('split')!r}")
    out = {k: eval_json[k] for k in ("top1", "top3", "top5", "map3", "n")}
    out["split"] = "test (standard split)"
    out["measured_by"] = "inkrec eval"
    return out


def stamp_metadata(onnx_path: Path, scores: dict | None = None, training: dict | None = None,
                   speed: dict | None = None, real: dict | None = None) -> dict:
    """Put the measured test scores and the training recipe (when given) and the data's current terms
    (licences, attribution, citation) into the ONNX's inkrec metadata; the graph and weights stay as they are."""
    model, meta = read_model_metadata(onnx_path)
    if scores is not None:
        meta["metrics"] = {**(meta.get("metrics") or {}), "test": scores, "training": training or {}}
    if speed is not None:
        meta["metrics"] = {**(meta.get("metrics") or {}), "speed": speed}
    if real is not None:
        meta["metrics"] = {**(meta.get("metrics") or {}), "real": real}
    data = meta.get("dataset") or {}
    terms = dataset_terms(data.get("source"), data.get("path"))
    if terms["license"]:  # a data set inkrec knows: its terms as they stand now
        for key in ("license", "attribution", "citation", "weights_license"):
            meta[key] = terms[key]
    write_model(model, onnx_path, meta)
    return meta


def training_summary(run_dir: Path) -> dict:
    """How the model was trained, from its run directory (config.json and metrics.json)."""
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    keys = (
        "model",
        "model_kwargs",
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "label_smoothing",
        "schedule",
        "augment",
        "val_fraction",
        "patience",
        "seed",
        "pen",
        "line_context",
        "line_pairs",
        "distill_weight",
        "distill_temperature",
        "aux_repeat",
    )
    teachers = []
    for teacher in config.get("teacher") or []:
        tconf = json.loads((Path(teacher) / "config.json").read_text(encoding="utf-8"))
        teachers.append({k: tconf.get(k) for k in ("model", "model_kwargs", "epochs", "augment", "seed")})
    init = None
    if config.get("init"):
        start = Path(config["init"])
        start = start if start.is_dir() else start.parent
        if (start / "config.json").is_file() and (start / "metrics.json").is_file():
            init = training_summary(start)
    return {
        **{k: config.get(k) for k in keys},
        "data": config.get("data"),
        "teachers": teachers,
        "init": init,
        "epochs_run": len(metrics.get("history") or []),
        "best_epoch": (metrics.get("best") or {}).get("epoch"),
        "train_samples_per_epoch": (metrics.get("history") or [{}])[0].get("samples"),
        "train_seconds": round(float(metrics.get("train_seconds") or 0.0), 1),
        "device": (metrics.get("environment") or {}).get("device"),
    }


def _pct(v) -> str:
    return "-" if v is None else f"{100 * float(v):.2f}%"


def measured_speed(model_time: Path | None, browser: list[Path]) -> dict:
    """{model id: speed figures} from the benchmarks' JSON: the server's median (onnxruntime, one thread) and
    the page's (onnxruntime-web in headless Chromium, one thread, cross-origin isolated) with the course CNN
    timed in the same page and run as the reference."""
    speeds: dict[str, dict] = {}
    if model_time is not None:
        for row in json.loads(model_time.read_text(encoding="utf-8"))["results"]:
            speeds.setdefault(row["model"], {})["onnxruntime_ms"] = row["as shipped"]["median_ms"]
    for path in browser:
        doc = json.loads(path.read_text(encoding="utf-8"))
        row = next(r for r in doc["rows"] if r["setup"] == "isolated, 1 thread")
        speeds.setdefault(doc["model"], {}).update(
            page_ms=round(row["infer_median_ms"], 3), course_cnn_page_ms=round(row["course_median_ms"], 3))
    for figures in speeds.values():
        figures["how"] = (
            "Measured by `benchmarks/model_time.py` (onnxruntime, one drawing at a time, one thread) and "
            "`benchmarks/browser.py` (the drawing page in headless Chromium, wasm, one thread) on a 2-core CPU."
        )
    return speeds


def _validation(tr: dict) -> str:
    if str(tr.get("data") or "").startswith("synth:"):
        return "new synthetic samples every epoch; validation on fixed synthetic samples, one per class"
    return f"a {tr.get('val_fraction')} share of the training split held out for validation"


def _pen(tr: dict) -> str:
    out = f", pen-width variation on {tr['pen']:.0%} of the drawings" if tr.get("pen") else ""
    if tr.get("line_context"):
        out += (f", {tr['line_context']:.0%} of the drawings shown as a line's candidates (fragments of touching "
                "neighbours at their edges, cut and framed again)")
    if tr.get("line_pairs"):
        out += (f", {tr['line_pairs']:.0%} as two whole touching characters framed as one, taught as no character "
                "in particular")
    return out


def _distillation(tr: dict) -> str:
    """The distillation part of the recipe: which teachers, how their answers were weighed."""
    teachers = tr.get("teachers") or []
    if not teachers:
        return ""
    names = "; ".join(
        f"`{t.get('model')}` ({', '.join(f'{k}={v}' for k, v in (t.get('model_kwargs') or {}).items()) or 'defaults'}, "
        f"{t.get('epochs')} epochs, {t.get('augment')} augmentation, seed {t.get('seed')})"
        for t in teachers
    )
    return (
        f" It learnt from {len(teachers)} wider teacher{'s' if len(teachers) > 1 else ''} trained first on the same "
        f"data ({names}) by knowledge distillation: the loss weighs the teachers' averaged answers at "
        f"temperature {tr.get('distill_temperature')} by {tr.get('distill_weight')} and the labels by the rest."
    )


def _init(tr: dict, subject: str = "It") -> str:
    """The run it continued from (`inkrec train --init`), when it did, recursively."""
    init = tr.get("init")
    if not init:
        return ""
    return (
        f" {subject} started from the weights of an earlier run ({init.get('epochs_run')} epochs of "
        f"{init.get('train_samples_per_epoch') or 0:,} samples, batch {init.get('batch_size')}, AdamW lr {init.get('lr')}, "
        f"{init.get('train_seconds')} s of training steps on {init.get('device')}).{_init(init, 'That run')}"
    )


def _auxiliary(meta: dict) -> str:
    """The auxiliary categories the features learnt from, which the classifier no longer has."""
    aux = meta.get("auxiliary")
    if not aux:
        return ""
    n = len(aux.get("classes") or [])
    rule = aux.get("rule") or "every other category the model lacks, sorted"
    outliers = (meta.get("open_set") or {}).get("outlier_classes") or []
    kept = [c for c in outliers if c not in set(aux.get("classes") or [])]
    return (
        f" Beside its own classes it learnt {n} other categories as extra classes (`--aux-data`: the training "
        f"drawings of {rule} in `{aux.get('data')}`, {aux.get('drawings', 0):,} drawings, each seen "
        f"{aux.get('repeat', 1)} time{'s' if aux.get('repeat', 1) != 1 else ''} an epoch), cut from its classifier "
        f"when saved: they make its features tell more kinds of drawing apart (teaching, \"not sure\"). Its "
        + (f"open-set outliers are these {n} and the {len(kept)} others it did not learn from, on which how a "
           f"taught class scores was fit; " if kept else "open-set outliers are the same categories; ")
        + "measurements on unseen categories leave them all out (metadata `auxiliary` and `open_set`)."
    )


def _head(meta: dict) -> list[str]:
    """The classifier, when it is not the trained one, and how a taught class scores."""
    head, teach = meta.get("classifier") or {}, meta.get("teach") or {}
    if head.get("head") != "gaussian":
        return []
    return [
        f"| classifier | Gaussian: class means and one shared covariance on the embedding ({head.get('fit_on', '')}; "
        f"shrinkage {head.get('shrinkage', 0)}, temperature {head.get('temperature', 0):.3g}), in place of the trained "
        f"head; a class taught from a few drawings is one of the same kind, with a bias "
        + (f"of {teach.get('bias', 0):+.3g}" if not teach.get("bias_by_shots") else "for its number of drawings: " + ", ".join(
            f"{v:+.3g} from {k}" for k, v in sorted(teach["bias_by_shots"].items(), key=lambda kv: int(kv[0]))))
        + f" (fit on {teach.get('fit_on', '')}) |"
    ]


def _speed(meta: dict) -> list[str]:
    """The measured speed section, when `--speed` gave figures."""
    speed = (meta.get("metrics") or {}).get("speed")
    if not speed:
        return []
    rows = ["## Speed", "", speed.get("how", ""), "", "| where | median ms per drawing |", "|---|---|"]
    for key, label in (("onnxruntime_ms", "server (onnxruntime, one thread)"),
                       ("page_ms", "page (onnxruntime-web, wasm, headless Chromium)"),
                       ("course_cnn_page_ms", "the course CNN in the same page and run")):
        if speed.get(key) is not None:
            rows.append(f"| {label} | {speed[key]:.3f} |")
    return [*rows, ""]


def real_scores(specs: list[str]) -> dict:
    """`NAME=EVAL.json` pairs -> the headline figures of each `inkrec eval --json` on real handwriting."""
    out = {}
    for spec in specs:
        name, _, path = spec.partition("=")
        if not path:
            raise SystemExit(f"--real takes NAME=EVAL.json, got {spec!r}")
        e = json.loads(Path(path).read_text(encoding="utf-8"))
        out[name] = {k: e.get(k) for k in ("top1", "top10", "n", "split", "scored_over", "inputs")}
        out[name]["data"] = Path(str(e.get("data", ""))).name
        out[name]["measured_by"] = "inkrec eval"
    return out


def _real(meta: dict, onnx_path: Path) -> list[str]:
    real = (meta.get("metrics") or {}).get("real")
    if not real:
        return []
    rows = [
        f"| {name} | `{r['data']}` | {r['n']:,} | {_pct(r['top1'])} | {_pct(r.get('top10'))} | "
        f"{r.get('inputs') or ''}; {r.get('scored_over') or ''} |"
        for name, r in real.items()
    ]
    return [
        "## Accuracy on real handwriting",
        "",
        f"Measured by `inkrec eval --model models/{onnx_path.name} --data DATA --split all` (people's writing "
        "the model never saw; stored in the file's metadata as `metrics.real`):",
        "",
        "| handwriting | data | n | top-1 | top-10 | scored |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def synthetic_scores(run_dir: Path) -> dict:
    """The run's test figures on its own fixed synthetic samples (metrics.json)."""
    test = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")).get("test") or {}
    out = {k: test.get(k) for k in ("top1", "top3", "top5", "map3", "n")}
    out["split"] = "synthetic test samples"
    out["measured_by"] = "inkrec train"
    return out


def card(meta: dict, onnx_path: Path, params: int | None) -> str:
    mid = meta["id"]
    about = ABOUT.get(mid, {"title": mid, "data": meta["dataset"].get("name") or "", "use": ""})
    test = meta["metrics"]["test"]
    tr = meta["metrics"].get("training") or {}
    inp = meta["input"]
    pre = meta.get("preprocessing") or {}
    size = inp.get("size")
    labels = meta["labels"]
    kwargs = ", ".join(f"{k}={v}" for k, v in (tr.get("model_kwargs") or {}).items()) or "defaults"
    pre_text = ", ".join(f"{k}={v}" for k, v in pre.items()) or "none"
    lines = [
        f"# `{mid}`: {about['title']}",
        "",
        about["use"],
        "",
        "| | |",
        "|---|---|",
        (
            f"| file | `models/{onnx_path.name}` ({onnx_path.stat().st_size / 1024:,.0f} KiB, "
            f"{'int8' if meta.get('quantized') else 'fp32'} ONNX"
            f"{': ' + meta['quantization'] if meta.get('quantization') else ''}) |"
        ),
        f"| model | `{meta.get('model')}` ({kwargs}){f', {params:,} parameters' if params else ''} |",
        (f"| labels | {len(labels):,}: the `{meta['vocabulary']}` vocabulary (`inkrec.data.charsets`) |"
         if meta.get("vocabulary") and len(labels) > 50 else f"| labels | {len(labels)}: {', '.join(labels)} |"),
        (
            f"| input | `input`: float32 (N, 1, {size}, {size}) in [0, 1], white ink on black "
            f"(uint8 pixels x {inp.get('scale', 1 / 255):.6g}); output `logits` (N, {len(labels)})"
            f"{' and `embedding` (the penultimate features, L2-normalised: for `inkrec teach` and the page)' if meta.get('teach') else ''} |"
        ),
        *_head(meta),
        *([(
            f"| not sure | open-set rule `{meta['open_set']['score']}` ({meta['open_set'].get('fit_on', '')}); "
            f"threshold {meta['open_set']['threshold']:.3f} keeps {meta['open_set'].get('known_accept', 0.95):.0%} of "
            f"{meta['open_set'].get('threshold_on', 'held-out drawings')} |"
        )] if meta.get("open_set") else []),
        (
            f"| preprocessing | strokes (simplified 0-255 coordinates) are drawn by `inkrec.preprocess.raster` "
            f"({pre_text}); pictures are normalised to white ink on black and framed like the training "
            f"data by `inkrec.preprocess.pictures` |"
        ),
        *_lines(meta),
        "",
        *_real(meta, onnx_path),
        "## Test accuracy" if not meta["metrics"].get("real") else "## Accuracy on synthetic test samples",
        "",
        (
            f"Measured by `inkrec eval --model models/{onnx_path.name} --split test` on the standard test split "
            f"({test['n']:,} samples); the same figures are stored in the file's metadata (`metrics.test`)."
            if test.get("measured_by") == "inkrec eval" else
            f"The run's own fixed synthetic test samples ({test['n']:,}, one per class), scored at the end of "
            "training: how well the model fits the synthesizer, not how it reads people."
        ),
        "",
        "| top-1 | top-3 | top-5 | MAP@3 |",
        "|---|---|---|---|",
        f"| {_pct(test['top1'])} | {_pct(test.get('top3'))} | {_pct(test.get('top5'))} | {_pct(test.get('map3'))} |",
        "",
        "## Data",
        "",
        about["data"],
        "",
        "## Training",
        "",
        (
            f"Trained by `inkrec.train` (the code of `inkrec train`; recipe in `scripts/build-models.sh`): {tr.get('epochs_run')} epochs (best epoch "
            f"{tr.get('best_epoch')}), {tr.get('train_samples_per_epoch') or 0:,} training samples per epoch "
            f"({_validation(tr)}), batch "
            f"{tr.get('batch_size')}, AdamW lr {tr.get('lr')} weight decay {tr.get('weight_decay')}, "
            f"{tr.get('schedule')} schedule with warm-up, label smoothing {tr.get('label_smoothing')}, "
            f"{tr.get('augment')} augmentation{_pen(tr)}, seed {tr.get('seed')}; {tr.get('train_seconds')} s of "
            f"training steps on {tr.get('device')}.{_init(tr)}{_distillation(tr)}{_auxiliary(meta)}"
        ),
        "",
        *_speed(meta),
        "## Licence and attribution",
        "",
        f"- Weights: {meta.get('weights_license') or 'not stated'}.",
        f"- Training data: {meta['dataset'].get('name')}, {meta.get('license') or 'licence not stated'}. "
        f"{meta.get('attribution', '')}",
        f"- Cite the data as: {meta.get('citation') or '-'}",
        "- Code: inkrec, Apache-2.0.",
        "",
        "Rebuild with `bash scripts/build-models.sh`.",
        "",
    ]
    return "\n".join(lines)


def index(models_dir: Path) -> str:
    """`models/README.md`: every bundled model with its measured test top-1."""
    rows = []
    cites = {}
    for path in sorted(models_dir.glob("*.onnx")):
        meta = read_metadata(path)
        test = (meta.get("metrics") or {}).get("test") or {}
        about = ABOUT.get(meta["id"], {"title": meta["id"]})
        rows.append(
            f"| [`{meta['id']}`]({meta['id']}.md) | {about['title']} | {len(meta['labels'])} | "
            f"{meta['input'].get('size')}x{meta['input'].get('size')} | {_pct(test.get('top1'))} | "
            f"{_pct(test.get('top3'))} | {path.stat().st_size / 1024:,.0f} KiB | {meta.get('dataset', {}).get('name')} "
            f"({meta.get('license')}) |"
        )
        if meta.get("citation"):
            cites[meta["dataset"].get("name")] = f"{meta['dataset'].get('name')}: {meta['citation']}"
    return "\n".join(
        [
            "# Bundled models",
            "",
            "What `inkrec serve` serves out of the box (and the drawing page offers). Each `.onnx` carries its labels,",
            "input size, ink preprocessing, test scores and data attribution in its own metadata; each has a model card.",
            "Test accuracy is `inkrec eval` on the data set's standard test split.",
            "",
            "| id | what | classes | input | test top-1 | test top-3 | size | data (licence) |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Each model has two outputs: `logits` and `embedding` (its L2-normalised penultimate features, which",
            "`inkrec teach` and the page's \"Teach me\" build new classes on), and carries an open-set rule (`open_set` in",
            "its metadata: when to answer \"not sure\") fit on its own data; the doodles rule learnt from every other one of",
            "the Quick, Draw! simplified categories it lacks (outlier exposure), three quarters of which the doodles model",
            "learnt as auxiliary classes in training (`auxiliary` in its metadata); its classifier is a Gaussian one on the",
            "embedding, so a class taught to it is one of the same kind. `MODEL.pt` beside each `.onnx` holds its",
            "float weights (a weights-only checkpoint; `hanzi`'s in half precision) for fine-tuning: `inkrec train --init models/doodles.onnx ...`.",
            "",
            "Rebuild all of them from the real data in `../shared/datasets` with one command:",
            "",
            "    bash scripts/build-models.sh            # or: bash scripts/build-models.sh doodles",
            "",
            "Each model's weights carry its training data's terms (its card says which). The data sets, to cite:",
            "",
            *(f"- {c}" for c in cites.values()),
            "",
        ]
    )


def count_params(onnx_path: Path) -> int | None:
    model = onnx.load(str(onnx_path))
    return int(sum(np.prod(t.dims) for t in model.graph.initializer)) or None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("onnx", type=Path, nargs="+", help="the exported bundled model(s), models/<id>.onnx")
    ap.add_argument("--eval", type=Path, help="`inkrec eval --split test --json` of that file")
    ap.add_argument("--run", type=Path, help="the training run directory it was exported from")
    ap.add_argument("--real", action="append", default=[], metavar="NAME=EVAL.json",
                    help="an `inkrec eval --json` on real handwriting the model never saw (repeatable)")
    ap.add_argument("--model-time", type=Path, help="benchmarks/model_time.py's JSON (onnxruntime speed)")
    ap.add_argument("--browser", type=Path, nargs="*", default=[],
                    help="benchmarks/browser.py --json output(s), one per model (speed in the page)")
    ap.add_argument("--refresh", action="store_true",
                    help="only bring the data's terms in the metadata and the card(s) up to date")
    args = ap.parse_args(argv)
    speeds = measured_speed(args.model_time, args.browser)
    if args.refresh:
        for path in args.onnx:
            meta = stamp_metadata(path, speed=speeds.get(path.stem))
            write_bytes_atomic(path.with_suffix(".md"), card(meta, path, count_params(path)).encode("utf-8"))
            print(f"{meta['id']}: card {path.with_suffix('.md')} ({meta.get('weights_license')})")
        write_bytes_atomic(args.onnx[0].parent / "README.md", index(args.onnx[0].parent).encode("utf-8"))
        return 0
    if len(args.onnx) != 1 or args.run is None or (args.eval is None and not args.real):
        ap.error("give one model with --run and --eval (or --real for a synthetic run), or --refresh")
    args.onnx = args.onnx[0]
    if args.eval is not None:
        scores = test_scores(json.loads(args.eval.read_text(encoding="utf-8")))
    else:
        scores = synthetic_scores(args.run)
    meta = stamp_metadata(args.onnx, scores, training_summary(args.run), speeds.get(args.onnx.stem),
                          real=real_scores(args.real) if args.real else None)
    text = card(meta, args.onnx, count_params(args.onnx))
    write_bytes_atomic(args.onnx.with_suffix(".md"), text.encode("utf-8"))
    write_bytes_atomic(args.onnx.parent / "README.md", index(args.onnx.parent).encode("utf-8"))
    print(
        f"{meta['id']}: test top-1 {_pct(scores['top1'])} on {scores['n']:,} samples; "
        f"card {args.onnx.with_suffix('.md')}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
