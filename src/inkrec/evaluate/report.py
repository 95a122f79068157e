"""The evaluation report: one self-contained folder (index.html + PNGs) that shows where a model fails.

Numbers in a JSON say how good a model is; this page says *why* it is not better: which classes it mixes
up, which drawings fool it and how sure it was, whether its confidence can be trusted, and how training went.
Everything is drawn with matplotlib's Agg backend so it works on a server with no display.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from inkrec.atomic import write_bytes_atomic
from inkrec.evaluate import metrics as M
from inkrec.figures import pyplot, save_figure, save_png

ImageSource = np.ndarray | Callable[[np.ndarray], np.ndarray] | None

# Above this many classes the confusion matrix loses per-cell numbers and tick labels: they would overlap.
_CELL_TEXT_MAX = 25
_TICK_LABELS_MAX = 60


# --------------------------------------------------------------------------------------------------- plots


def plot_confusion(
    cm: np.ndarray,
    classes: Sequence[str],
    path: Path,
    title: str | None = None,
    row_totals: np.ndarray | None = None,
) -> None:
    """Row-normalised confusion matrix (each row = where a true class went).

    Rows are normalised so that rare and common classes read alike. At large class counts the cells carry no
    text and the axes no names (the ranked list of confused pairs and the close-up name them instead), and
    the colour scale is a power law so that a 2% confusion still shows next to a 90% diagonal.
    """
    from matplotlib.colors import Normalize, PowerNorm  # optional extra: pyplot()'s own import stays lazy

    plt = pyplot()
    n = len(classes)
    support = (cm.sum(axis=1) if row_totals is None else np.asarray(row_totals))[:, None]
    norm = np.divide(cm, support, out=np.zeros(cm.shape, dtype=float), where=support > 0)
    side = float(np.clip(0.32 * n + 2.5, 5.0, 14.0))
    fig, ax = plt.subplots(figsize=(side + 1.2, side))
    large = n > _TICK_LABELS_MAX
    scale = PowerNorm(gamma=0.3, vmin=0.0, vmax=1.0) if large else Normalize(vmin=0.0, vmax=1.0)
    im = ax.imshow(norm, cmap="viridis", norm=scale, interpolation="nearest")
    label = "share of true class" + (" (power scale)" if large else "")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=label)
    if n <= _TICK_LABELS_MAX:
        ax.set_xticks(range(n), labels=list(classes), rotation=90, fontsize=8 if n > 20 else 9)
        ax.set_yticks(range(n), labels=list(classes), fontsize=8 if n > 20 else 9)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    if n <= _CELL_TEXT_MAX:
        for t in range(n):
            for p in range(n):
                if cm[t, p]:
                    ax.text(
                        p,
                        t,
                        str(int(cm[t, p])),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="black" if norm[t, p] > 0.6 else "white",
                    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"Confusion matrix ({n} classes, rows normalised)")
    save_figure(fig, path)


def confused_classes(cm: np.ndarray, classes: Sequence[str], limit: int = 20) -> list[int]:
    """Indices of the classes taking part in the largest confusions, at most `limit`, in first-seen order."""
    picked: list[int] = []
    index = {c: i for i, c in enumerate(classes)}
    for pair in M.most_confused_pairs(cm, classes, top=cm.shape[0] * 4):
        for name in (pair["true"], pair["predicted"]):
            i = index[name]
            if i not in picked and len(picked) < limit:
                picked.append(i)
        if len(picked) >= limit:
            break
    return picked


def plot_confidence_histograms(probs: np.ndarray, y_true: np.ndarray, path: Path) -> None:
    """Top-class confidence for right and for wrong answers: a good model is sure when right, unsure when wrong."""
    plt = pyplot()
    conf = probs.max(axis=1)
    right = probs.argmax(axis=1) == y_true
    bins = np.linspace(0, 1, 26)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(conf[right], bins=bins, alpha=0.65, label=f"right ({int(right.sum())})", color="tab:green")
    ax.hist(conf[~right], bins=bins, alpha=0.65, label=f"wrong ({int((~right).sum())})", color="tab:red")
    ax.set_xlabel("confidence of the top guess")
    ax.set_ylabel("samples")
    ax.set_title("Confidence of right and wrong answers")
    ax.legend()
    save_figure(fig, path)


def plot_reliability(bins: list[dict], ece: float, path: Path) -> None:
    """Accuracy per confidence bin against the diagonal of perfect calibration."""
    plt = pyplot()
    fig, (ax, axn) = plt.subplots(2, 1, figsize=(6, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    width = bins[0]["hi"] - bins[0]["lo"] if bins else 0.1
    centres = [(b["lo"] + b["hi"]) / 2 for b in bins]
    acc = [b["accuracy"] if b["count"] else 0.0 for b in bins]
    conf = [b["confidence"] if b["count"] else 0.0 for b in bins]
    ax.bar(centres, acc, width=width * 0.95, color="tab:blue", edgecolor="black", label="accuracy")
    # The gap between accuracy and mean confidence, drawn hatched over or above the bar (Guo et al. 2017).
    lo = np.minimum(acc, conf)
    ax.bar(
        centres,
        np.abs(np.array(conf) - np.array(acc)),
        bottom=lo,
        width=width * 0.95,
        fill=False,
        edgecolor="tab:red",
        hatch="//",
        linewidth=0.8,
        label="gap to mean confidence",
    )
    ax.plot([0, 1], [0, 1], "k--", label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability diagram (ECE = {ece:.3f})")
    ax.legend(loc="best", fontsize=8)
    axn.bar(centres, [b["count"] for b in bins], width=width * 0.95, color="grey")
    axn.set_xlabel("confidence")
    axn.set_ylabel("samples")
    save_figure(fig, path)


def plot_learning_curves(history: list[dict], path: Path) -> None:
    """Loss and validation accuracy per epoch, from a run's metrics.json."""
    plt = pyplot()
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, style in (("train_loss", "-o"), ("val_loss", "-s")):
        vals = [h.get(key) for h in history]
        if any(v is not None for v in vals):
            ax.plot(epochs, [np.nan if v is None else v for v in vals], style, label=key.replace("_", " "))
    from matplotlib.ticker import MaxNLocator  # optional extra, like pyplot() itself

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    acc = [h.get("val_top1") for h in history]
    if any(v is not None for v in acc):
        ax2 = ax.twinx()
        ax2.plot(
            epochs, [np.nan if v is None else v for v in acc], "-^", color="tab:green", label="val top-1"
        )
        ax2.set_ylabel("validation top-1")
        ax2.set_ylim(0, 1)
        lines = ax.get_legend_handles_labels()
        lines2 = ax2.get_legend_handles_labels()
        ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center right")
    else:
        ax.legend()
    ax.set_title("Learning curves")
    save_figure(fig, path)


# --------------------------------------------------------------------------------------------------- page

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em}
.card b{display:block;font-size:1.5em}
.gallery{display:flex;flex-wrap:wrap;gap:.8em}.gallery figure{margin:0;width:110px;font-size:.8em}
.gallery img{width:84px;height:84px;image-rendering:pixelated;background:#000;display:block}
.truth{color:#070}.guess{color:#b00}
.row{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}
img.plot{max-width:100%}
"""


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.2f}%"


def _load_images(images: ImageSource, indices: np.ndarray) -> np.ndarray | None:
    if images is None or len(indices) == 0:
        return None
    if callable(images):
        return np.asarray(images(indices))
    return np.asarray(images)[indices]


def write_report(
    out_dir: str | Path,
    y_true: np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    *,
    summary: dict | None = None,
    images: ImageSource = None,
    history: list[dict] | None = None,
    title: str = "inkrec evaluation",
    subtitle: str = "",
    sample_ids: np.ndarray | None = None,
    max_failures: int = 60,
    top_pairs: int = 30,
    worst_classes: int = 20,
) -> Path:
    """Write `out_dir/index.html` and its PNGs; returns the path of the page.

    `images` is an (N, H, W) uint8 array aligned with `y_true`, or a function from sample indices to such an
    array (so that only the failures shown are rasterized), or None for a report without a gallery.
    `history` is the per-epoch list from a run's metrics.json. `sample_ids` names each row in the gallery
    (the sample's index in the data set; default: the row number).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    classes = list(classes)
    s = summary if summary is not None else M.summarize(y, p, classes)
    pred = p.argmax(axis=1)
    conf = p.max(axis=1)
    cm = M.confusion_matrix(y, pred, len(classes))
    esc = html.escape

    plot_confusion(cm, classes, out / "confusion.png")
    # Above what a heat map can label, a labelled close-up of the classes in the worst confusions.
    close_up = confused_classes(cm, classes, _CELL_TEXT_MAX) if len(classes) > _CELL_TEXT_MAX else []
    if close_up:
        plot_confusion(
            cm[np.ix_(close_up, close_up)],
            [classes[i] for i in close_up],
            out / "confusion_top.png",
            title=f"Close-up: the {len(close_up)} classes in the largest confusions",
            row_totals=cm.sum(axis=1)[close_up],  # shares of the whole true class, not of the close-up
        )
    plot_confidence_histograms(p, y, out / "confidence.png")
    plot_reliability(s["reliability"], s["ece"], out / "reliability.png")
    has_curves = bool(history)
    if has_curves:
        plot_learning_curves(history, out / "learning_curves.png")

    parts: list[str] = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1><p class='sub'>{esc(subtitle)}</p>",
        "<div class='cards'>",
    ]
    for label, key in (("top-1", "top1"), ("top-3", "top3"), ("top-5", "top5"), ("MAP@3", "map3")):
        parts.append(f"<div class='card'>{label}<b>{_pct(s[key])}</b></div>")
    parts.append(f"<div class='card'>samples<b>{s['n']:,}</b></div>")
    parts.append(f"<div class='card'>classes<b>{len(classes)}</b></div>")
    parts.append(f"<div class='card'>ECE<b>{s['ece']:.3f}</b></div></div>")

    # Confusion matrix + most confused pairs.
    parts.append("<h2 id='confusion'>Confusion</h2><div class='row'>")
    parts.append("<div><img class='plot' src='confusion.png' alt='confusion matrix'></div><div>")
    pairs = M.most_confused_pairs(cm, classes, top_pairs)
    parts.append(f"<h3>Most confused pairs (top {len(pairs)})</h3>")
    if pairs:
        parts.append(
            "<table><tr><th>#</th><th>true</th><th>predicted as</th><th>count</th><th>share</th></tr>"
        )
        for i, pr in enumerate(pairs, 1):
            parts.append(
                f"<tr><td class='num'>{i}</td><td>{esc(pr['true'])}</td><td>{esc(pr['predicted'])}</td>"
                f"<td class='num'>{pr['count']}</td><td class='num'>{_pct(pr['rate'])}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p>No confusions: every sample was classified correctly.</p>")
    parts.append("</div></div>")
    if close_up:
        parts.append("<img class='plot' src='confusion_top.png' alt='close-up of the most confused classes'>")

    # Least recognised classes.
    recall = np.array([s["per_class"][c]["recall"] for c in classes])
    support = np.array([s["per_class"][c]["support"] for c in classes])
    present = np.flatnonzero(support > 0)
    worst = present[np.lexsort((present, recall[present]))][:worst_classes]
    parts.append(f"<h2 id='worst'>Least recognised classes (lowest recall, {len(worst)} shown)</h2>")
    parts.append(
        "<table><tr><th>class</th><th>recall</th><th>precision</th><th>F1</th><th>support</th>"
        "<th>most often taken for</th></tr>"
    )
    for c in worst:
        row = cm[c].copy()
        row[c] = 0
        taken = f"{esc(classes[int(row.argmax())])} ({int(row.max())})" if row.max() > 0 else "-"
        pc = s["per_class"][classes[c]]
        parts.append(
            f"<tr><td>{esc(classes[c])}</td><td class='num'>{_pct(pc['recall'])}</td>"
            f"<td class='num'>{_pct(pc['precision'])}</td><td class='num'>{pc['f1']:.3f}</td>"
            f"<td class='num'>{pc['support']}</td><td>{taken}</td></tr>"
        )
    parts.append("</table>")

    # Failure gallery: the most confident mistakes first, they are the most instructive.
    ids = np.arange(len(y)) if sample_ids is None else np.asarray(sample_ids)
    wrong = np.flatnonzero(pred != y)
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")][:max_failures]
    parts.append(f"<h2 id='failures'>Failures ({int((pred != y).sum()):,} in all; most confident first)</h2>")
    imgs = _load_images(images, wrong)
    if imgs is not None:
        (out / "failures").mkdir(exist_ok=True)
        parts.append("<div class='gallery'>")
        for j, idx in enumerate(wrong):
            name = f"failures/{j:03d}.png"
            save_png(imgs[j], out / name)
            parts.append(
                f"<figure><img src='{name}' alt='sample {int(ids[idx])}'><figcaption>"
                f"<span class='truth'>truth: {esc(classes[y[idx]])}</span><br>"
                f"<span class='guess'>guess: {esc(classes[pred[idx]])}</span><br>"
                f"confidence {100 * conf[idx]:.1f}%<br><small>#{int(ids[idx])}</small></figcaption></figure>"
            )
        parts.append("</div>")
    elif len(wrong):
        parts.append("<p>No images available for this data set.</p>")
    else:
        parts.append("<p>No failures.</p>")

    # Calibration.
    parts.append("<h2 id='calibration'>Confidence and calibration</h2><div class='row'>")
    parts.append("<img class='plot' src='confidence.png' alt='confidence histograms'>")
    parts.append("<img class='plot' src='reliability.png' alt='reliability diagram'></div>")
    parts.append(
        f"<p>Expected calibration error: <b>{s['ece']:.4f}</b> (mean gap between confidence and accuracy over "
        f"{len(s['reliability'])} equal-width bins, weighted by samples).</p>"
    )

    parts.append("<h2 id='training'>Learning curves</h2>")
    if has_curves:
        parts.append("<img class='plot' src='learning_curves.png' alt='learning curves'>")
    else:
        parts.append("<p>No training history (the model was not given as a run directory).</p>")

    parts.append(
        "<h2 id='per-class'>All classes</h2><table><tr><th>class</th><th>precision</th><th>recall</th>"
    )
    parts.append("<th>F1</th><th>support</th></tr>")
    for c in classes:
        pc = s["per_class"][c]
        parts.append(
            f"<tr><td>{esc(c)}</td><td class='num'>{_pct(pc['precision'])}</td>"
            f"<td class='num'>{_pct(pc['recall'])}</td><td class='num'>{pc['f1']:.3f}</td>"
            f"<td class='num'>{pc['support']}</td></tr>"
        )
    parts.append("</table></body></html>")
    page = out / "index.html"
    write_bytes_atomic(page, "\n".join(parts).encode("utf-8"))
    return page
