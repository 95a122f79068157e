"""Synthesis speed on one core: can the handwriting synthesizer keep ahead of training?

Measured in one process, one thread, on the whole `zh` vocabulary with the training mix (common characters
boosted, a quarter of the median-backed samples from fonts):

- ink: characters/s written as ink (the numba kernel), the figure the synthesizer must keep above 2,000;
- ink + rasterized at the model's size (what a training batch of ink costs);
- fonts, first sight (glyph drawn and framed) and cached (framed glyph warped), and the training mix;
- the baseline measured in the same run: reading the same number of real characters from the CASIA ``.pot``
  file and rasterizing them (what training on real ink would cost), so the ratio is machine-independent.

    python benchmarks/synth_speed.py [--n 4000] [--size 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

from inkrec.data.formats.pot import iter_pot
from inkrec.data.synth import SynthSpec
from inkrec.preprocess.raster import rasterize_many, rasterize_packed
from inkrec.preprocess.strokes import normalize_strokes

REPO = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("INKREC_DATASETS", REPO.parent / "shared" / "datasets"))


def rate(fn, n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    try:
        import torch  # only to pin torch's threads where it is installed: one core is the claim

        torch.set_num_threads(1)
    except ImportError:
        pass
    spec = SynthSpec.parse("synth:hanzi?charset=zh")
    synth = spec.synthesizer
    rng = np.random.default_rng(0)
    pool = np.repeat(np.arange(len(synth.classes)), spec.class_repeats())
    labels = rng.choice(pool, args.n)
    seeds = rng.integers(0, 2**62, args.n)
    ink_labels = labels[synth.bank_index[labels] >= 0]
    ink_seeds = seeds[: len(ink_labels)]
    synth.ink(ink_labels[:8], ink_seeds[:8])  # compile
    results: dict = {"n": args.n, "size": args.size, "classes": len(synth.classes)}
    results["ink_per_s"] = rate(lambda: synth.ink(ink_labels, ink_seeds), len(ink_labels))
    packed = synth.ink(ink_labels, ink_seeds)
    results["ink_raster_per_s"] = 1 / (1 / results["ink_per_s"] + 1 / rate(
        lambda: rasterize_packed(*packed, args.size), len(ink_labels)))
    font = synth.use_font(labels, seeds)
    f_labels, f_seeds = labels[font][:500], seeds[font][:500]
    prep = synth.preprocessing_defaults()
    cold = time.perf_counter()
    synth.font_bitmaps(f_labels, f_seeds, args.size, *prep)
    results["font_first_per_s"] = len(f_labels) / (time.perf_counter() - cold)
    results["font_cached_per_s"] = rate(lambda: synth.font_bitmaps(f_labels, f_seeds, args.size, *prep), len(f_labels))
    mix_l, mix_s = labels[:1000], seeds[:1000]
    synth.bitmaps(mix_l, mix_s, args.size)  # glyphs framed once, as after training's first epoch
    results["training_mix_per_s"] = rate(lambda: synth.bitmaps(mix_l, mix_s, args.size), len(mix_l))
    results["training_mix_font_share"] = float(synth.use_font(mix_l, mix_s).mean())

    real = [normalize_strokes([s[:2] for s in d.strokes]) for d in iter_pot(DATASETS / "casia-olhwdb" / "1043-c.pot")]
    real = (real * (args.n // len(real) + 1))[: args.n]
    results["baseline_real_pot_raster_per_s"] = rate(lambda: rasterize_many(real, args.size), len(real))
    results["ink_vs_baseline"] = results["ink_raster_per_s"] / results["baseline_real_pot_raster_per_s"]
    for k, v in results.items():
        print(f"{k:34s} {v:,.2f}" if isinstance(v, float) else f"{k:34s} {v}")
    print("ok: ink above 2,000 characters/s on one core" if results["ink_per_s"] >= 2000
          else "BELOW 2,000 characters/s on one core")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    sys.exit(0 if main()["ink_per_s"] >= 2000 else 1)
