"""Teaching and "not sure", measured on drawings the model never saw.

1. few-shot doodles: categories of Quick, Draw!'s simplified set that the doodles model lacks and was never
   shown in any form (neither its `auxiliary` categories, learnt as extra classes in training, nor the
   outliers its open-set rule and teaching calibration were fit on), taught with `inkrec teach` from the
   first 10 drawings of each (base classes kept); top-1 over all the taught model's classes on the other 15
   drawings of those categories, and what teaching costs the model's own test top-1.
   Averaged over 50 draws of 8 categories (10 draws vary by +-0.03). The 8-way figure (taught classes only,
   --new-only) is printed beside it.
2. one-shot: 20-way runs on an alphabet the model never saw (Tegaki's Latin letters, one writer, 8 samples a
   letter): 20 letters, one example each, every other sample of those letters to recognise (--new-only), for
   the digits, doodles and hanzi models (hanzi's 15,433 Chinese characters hold no Latin letter). Also Chinese
   MNIST's 15 numerals (writers 1-64: one example each, writers 65-80 to recognise: 15-way) for the models
   that do not know them.
3. open set, doodles: AUROC between the model's own test drawings (those not used to pick its threshold)
   and drawings of categories it never saw (in training, as auxiliary classes, or as outliers), for the top
   probability, the
   energy score and the model's own rule; the threshold's accepted/rejected shares.

    python benchmarks/teach.py [--model models/doodles.onnx] [--digits models/digits.onnx]
        [--hanzi models/hanzi.onnx] [--runs 50] [--json bench-results/teach.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from inkrec.data.dataset import open_dataset
from inkrec.evaluate.metrics import auroc
from inkrec.export.equip import model_outputs
from inkrec.export.teach import TaughtClass, teach_model
from inkrec.preprocess.batch import dataset_batch
from inkrec.runtime import metadata as md
from inkrec.runtime.onnx_model import OnnxModel, softmax

REPO = Path(__file__).resolve().parents[1]


def datasets_dir() -> Path:
    env = os.environ.get("INKREC_DATASETS")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


def shown(model: OnnxModel) -> set[str]:
    """Categories the model was shown beyond its labels: its auxiliary classes, and those its open-set rule
    and teaching calibration were fit on."""
    return (set((model.meta.get("auxiliary") or {}).get("classes") or [])
            | set((model.open_set or {}).get("outlier_classes") or []))


def few_shot_doodles(model_path: Path, runs: int, shots: int = 10, ways: int = 8, seed: int = 0) -> dict:
    data = datasets_dir() / "quickdraw"
    base = OnnxModel(model_path)
    simplified = open_dataset(data / "simplified", split="all", progress=False)
    left_out = set(base.labels) | shown(base)
    unseen = sorted(c for c in simplified.classes if c not in left_out)
    known_test = open_dataset(data / "numpy_bitmap", split="test", classes=base.labels, max_per_class=200,
                              progress=False)
    x_known = dataset_batch(known_test, np.arange(len(known_test)), base.spec)
    y_known = np.asarray(known_test.labels)
    base_top1 = float((base.predict(x_known).argmax(1) == y_known).mean())
    rng = np.random.default_rng(seed)
    all_classes, new_only, known_after = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            cats = sorted(rng.choice(unseen, ways, replace=False).tolist())
            ds = open_dataset(data / "simplified", split="all", classes=cats, progress=False)
            labels = np.asarray(ds.labels)
            taught, queries, truth = [], [], []
            for k, c in enumerate(cats):
                rows = np.flatnonzero(labels == k)
                taught.append(TaughtClass(c, dataset_batch(ds, rows[:shots], base.spec)))
                queries.append(rows[shots:])
                truth += [c] * len(rows[shots:])
            q = np.concatenate(queries)
            xq = dataset_batch(ds, q, base.spec)
            for only, sink in ((False, all_classes), (True, new_only)):
                out = Path(tmp) / f"taught-{only}.onnx"
                teach_model(model_path, taught, out, new_only=only)
                m = OnnxModel(out)
                guess = np.asarray(m.labels)[m.predict(xq).argmax(1)]
                sink.append(float((guess == np.asarray(truth)).mean()))
                if not only:
                    known_after.append(float((m.predict(x_known).argmax(1) == y_known).mean()))
    return {
        "model": str(model_path), "ways": ways, "shots": shots, "runs": runs, "pool_categories": len(unseen),
        "queries_per_class": 25 - shots,
        "top1_over_all_classes": float(np.mean(all_classes)), "top1_runs": all_classes,
        "top1_new_only": float(np.mean(new_only)),
        "base_test_top1_before": base_top1, "base_test_top1_after": float(np.mean(known_after)),
    }


def one_shot(model_path: Path, data: Path, runs: int, ways: int, *, support_from=None, seed: int = 0) -> dict:
    """Mean accuracy of `ways`-way one-shot runs: one example per class, every other sample to recognise
    (or, with `support_from` (train, test) data sets, examples from the first and queries from the second)."""
    model = OnnxModel(model_path)
    rng = np.random.default_rng(seed)
    if support_from is None:
        ds = open_dataset(data, split="all", progress=False)
        pool_s = pool_q = ds
    else:
        pool_s, pool_q = (open_dataset(data, split=s, progress=False) for s in support_from)
    ls, lq = np.asarray(pool_s.labels), np.asarray(pool_q.labels)
    emb_s = model_outputs(model, pool_s, np.arange(len(pool_s)))[1]
    emb_q = emb_s if pool_q is pool_s else model_outputs(model, pool_q, np.arange(len(pool_q)))[1]
    classes = np.unique(ls)
    ways = min(ways, len(classes))
    acc = []
    for _ in range(runs):
        chosen = rng.choice(classes, ways, replace=False)
        support = np.array([rng.choice(np.flatnonzero(ls == c)) for c in chosen])
        protos = emb_s[support]
        qmask = np.isin(lq, chosen)
        if pool_q is pool_s:
            qmask[support] = False
        q = np.flatnonzero(qmask)
        guess = chosen[(emb_q[q] @ protos.T).argmax(1)]
        acc.append(float((guess == lq[q]).mean()))
    return {"model": str(model_path), "data": str(data), "ways": int(ways), "runs": runs,
            "accuracy": float(np.mean(acc)), "std": float(np.std(acc))}


def open_set(model_path: Path) -> dict:
    data = datasets_dir() / "quickdraw"
    model = OnnxModel(model_path)
    rule = model.open_set
    test = open_dataset(data / "numpy_bitmap", split="test", classes=model.labels, progress=False)
    labels = np.asarray(test.labels)
    held = np.concatenate([np.flatnonzero(labels == c)[1::2] for c in range(len(model.labels))])  # not the threshold's
    seen = shown(model)
    simplified = open_dataset(data / "simplified", split="all", progress=False)
    never = [c for c in simplified.classes if c not in set(model.labels) and c not in seen]
    unk = open_dataset(data / "simplified", split="all", classes=never, progress=False)
    zk, ek = model_outputs(model, test, held)
    zu, eu = model_outputs(model, unk, np.arange(len(unk)))
    out = {"model": str(model_path), "known": int(len(held)), "unknown": int(len(unk)),
           "unknown_categories": len(never), "shown_categories": len(seen)}
    for name, fn in {
        "top_probability": lambda z, e: softmax(z).max(1),
        "energy": lambda z, e: md.open_set_score({"score": "energy"}, z, e),
        **({"model_rule": lambda z, e: md.open_set_score(rule, z, e)} if rule else {}),
    }.items():
        out[f"auroc_{name}"] = auroc(fn(zk, ek), fn(zu, eu))
    if rule:
        sk, su = md.open_set_score(rule, zk, ek), md.open_set_score(rule, zu, eu)
        accepted = sk >= rule["threshold"]
        out.update(rule=rule["score"], threshold=rule["threshold"], known_accepted=float(accepted.mean()),
                   accuracy_on_accepted=float((zk.argmax(1) == labels[held])[accepted].mean()),
                   accuracy_all_known=float((zk.argmax(1) == labels[held]).mean()),
                   unknown_rejected=float((su < rule["threshold"]).mean()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=REPO / "models" / "doodles.onnx")
    ap.add_argument("--digits", type=Path, default=REPO / "models" / "digits.onnx")
    ap.add_argument("--hanzi", type=Path, default=REPO / "models" / "hanzi.onnx")
    ap.add_argument("--runs", type=int, default=50, help="draws of 8 categories (few-shot; 10 runs vary by +-0.03)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    data = datasets_dir()
    latin = data / "tegaki" / "tegaki-lab"
    result = {"few_shot_doodles": few_shot_doodles(args.model, args.runs)}
    print(json.dumps(result["few_shot_doodles"], indent=1))
    result["one_shot"] = []
    numerals = sorted(p.name for p in (data / "chinese-mnist").iterdir() if p.is_dir())
    for model in (args.digits, args.model, args.hanzi):
        latin_all = Path(tempfile.mkdtemp()) / "latin"
        latin_all.mkdir()
        for part in ("train", "eval"):
            (latin_all / part).symlink_to(latin / part / "latin-writer1")
        r = one_shot(model, latin_all, 200, 20)
        r["data"] = "tegaki-lab latin-writer1 (train + eval sessions)"
        result["one_shot"].append(r)
        print(json.dumps(r))
        if set(numerals) & set(OnnxModel(model).labels):
            continue  # a model that knows the numerals has seen them: not a one-shot task for it
        r = one_shot(model, data / "chinese-mnist", 200, 15, support_from=("train", "test"))
        result["one_shot"].append(r)
        print(json.dumps(r))
    result["open_set"] = open_set(args.model)
    print(json.dumps(result["open_set"], indent=1))
    result["seconds"] = time.perf_counter() - t0
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
