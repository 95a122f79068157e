"""The course-style way to put a drawing model on the web: Flask + the Keras CNN + `model.predict` per upload.

This is the baseline `serve_latency.py` measures inkrec's server against, in the same run. It is written
the way course demos write it, on purpose:

- Flask's built-in server (`app.run`, one thread per request), no batching, no model warm-up;
- the upload is opened with Pillow, made grey, inverted (pages draw dark ink on white), squashed to 28x28
  (no cropping or centring), divided by 255 ... and fed to a model that has its own Rescaling(1/255)
  layer. The double division makes every input nearly black, so the model answers the same class for
  every drawing; the benchmark counts the distinct answers to show it. (inkrec's ONNX files carry their
  preprocessing in their metadata, so a server cannot apply it twice.)

Needs the `bench` extra (tensorflow-cpu, flask).

    python benchmarks/course_flask_baseline.py train [--out bench-results/course_cnn.keras]
    python benchmarks/course_flask_baseline.py serve --model bench-results/course_cnn.keras --port 8001
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO / "bench-results" / "course_cnn.keras"


def datasets_dir() -> Path:
    env = os.environ.get("INKREC_DATASETS")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


def train(out: Path, max_per_class: int, max_epochs: int) -> Path:
    """Train the course CNN on the standard train split of the shared numpy_bitmap files."""
    from course_keras import train_course_cnn

    folder = datasets_dir() / "quickdraw" / "numpy_bitmap"
    classes = sorted(p.stem for p in folder.glob("*.npy"))
    xs, ys = [], []
    for i, name in enumerate(classes):
        a = np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        train_rows = np.asarray(a[: int(len(a) * 0.8)][:max_per_class])
        xs.append(train_rows.reshape(-1, 28, 28))
        ys.append(np.full(len(train_rows), i))
    x, y = np.concatenate(xs), np.concatenate(ys)
    print(f"training the course CNN on {len(x)} drawings of {len(classes)} categories ...", flush=True)
    model, stats = train_course_cnn(x, y, len(classes), max_epochs=max_epochs)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".part.keras")
    model.save(tmp)
    os.replace(tmp, out)
    out.with_suffix(".classes.json").write_text(json.dumps(classes))
    print(f"saved {out} ({stats['epochs']} epochs, {stats['train_seconds']:.0f} s)", flush=True)
    return out


def serve(model_path: Path, host: str, port: int) -> None:
    import keras
    from flask import Flask, jsonify, request
    from PIL import Image, ImageOps

    model = keras.models.load_model(model_path)
    classes = json.loads(model_path.with_suffix(".classes.json").read_text())
    app = Flask("course_demo")

    @app.route("/predict", methods=["POST"])
    def predict():
        t0 = time.perf_counter()
        img = Image.open(request.files["file"]).convert("L")
        img = ImageOps.invert(img).resize((28, 28))
        x = np.array(img) / 255.0  # the course's scaling, on top of the model's own Rescaling(1/255)
        probs = model.predict(x.reshape(1, 28, 28, 1), verbose=0)[0]
        best = int(np.argmax(probs))
        return jsonify({"label": classes[best], "ms": (time.perf_counter() - t0) * 1e3})

    @app.route("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    app.run(host=host, port=port)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    t.add_argument("--max-per-class", type=int, default=1000)
    t.add_argument("--max-epochs", type=int, default=10)
    s = sub.add_parser("serve")
    s.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8001)
    args = ap.parse_args()
    if args.cmd == "train":
        train(args.out, args.max_per_class, args.max_epochs)
    else:
        serve(args.model, args.host, args.port)


if __name__ == "__main__":
    main()
