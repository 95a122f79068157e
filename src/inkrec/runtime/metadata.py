"""The metadata an inkrec ONNX model carries inside itself.

A model file must be usable on its own: the server, the page and the static site learn the labels, the
input size and the ink preprocessing from the file, never from a side file or a default that could drift
(a model trained on strokes rasterized one way and served strokes rasterized another way answers nonsense
with full confidence). This module is the one place that knows the layout; it needs neither torch nor the
`onnx` package, so the slim serving install can use it.

Layout (JSON under the `metadata_props` key `inkrec`)::

    {"format": "inkrec-onnx/1", "id": "doodles", "labels": [...],
     "input": {"kind": "bitmap", "size": 28, "channels": 1, "scale": 1/255},
     "preprocessing": {... the rasterizer's parameters ...},
     "dataset": {"name": ..., "source": ..., "path": ...},
     "metrics": {...}, "license": "...", "attribution": "...", "citation": "...", "weights_license": "...",
     "model": "seed-cnn", "quantized": null, "lines": true}

`license` is the training data's licence, `weights_license` the terms of the model's own weights (both from
`inkrec.data.terms`). `lines` says whether the model can read a line of several characters (`inkrec read`,
`POST /v1/read`): true for a model of written characters (digits, Chinese), false for one of doodles. Export
writes it (`line_reader_default`: every label one character), `inkrec export --lines/--no-lines` overrides
it; a file without it is judged by the same rule (`reads_lines`).

Optional entries, absent from files written before they existed (every reader copes without them):

- `open_set`: how sure the model is that a drawing is one of its classes at all, and where it stops being
  sure. `{"score": "energy", "threshold": t}` (log-sum-exp of the logits) or `{"score": "linear", "weights":
  [...], "energy_weight": a, "max_logit_weight": m, "bias": b, "threshold": t}` (a linear rule on the
  `embedding` output and the logits, learnt with outlier exposure). Below `threshold` the answer is "not
  sure"; the threshold is chosen on held-out drawings of the model's own classes (`known_accept`, the
  share of them it keeps), and the entry says what it was fit on.
  A taught model (`inkrec teach`) has `{"score": "taught", "base": the base model's rule or null,
  "prototypes": [[...], ...], "new_from", "cos_threshold", "threshold": 0}`: the larger of the base score less
  its threshold and the best cosine of the embedding to a taught class's prototype (its drawings' mean
  embedding, normalised) less `cos_threshold`. (Files taught before `prototypes` existed have `"scale"` and
  `"bias"` instead, and the cosine is read back from the taught logits.)
- `teach`: how a class taught from a few drawings scores against the model's own. `{"scale": s, "bias": b}`:
  `s * cos(embedding, prototype) + b`; or, for a model with a Gaussian head, `{"kind": "gaussian",
  "precision": P, "bias": b, "bias_by_shots": {"1": b1, ...}}`: with `m` the mean of its drawings' embeddings,
  `embedding @ P @ m - m @ P @ m / 2 + b`, the model's own classes' formula (bias 0) plus the bias for that
  many drawings (the entry for the most drawings not above the class's; `bias` without a table).
- `classifier`: `{"head": "cosine", "scale": s}` for a model whose logits are `s * cos(embedding, weight)`
  (inknet's cosine head; a class taught to it scores the same way, `teach` is then `{"scale": s, "bias": 0}`),
  or `{"head": "gaussian", "temperature": t, ...}` for one whose logits are a Gaussian classifier on the
  embedding (class means, one shared covariance, `inkrec export --head gaussian`).
- `line_priors`: `{"ink": {...}, "pictures": {...}}`, how the model's characters sit in a line where they
  differ from the reader's defaults (`inkrec.read.search.Priors`, field by field, e.g. `{"ink": {"char_bonus":
  -0.4, "wide": 1.2, "wide_cost": 3.0}}` for Chinese, whose characters are wide and made of parts that read
  as characters themselves). `GET /v1/models` and models.json carry it, so the page's line reader reads
  alike.
- `auxiliary`: `{"data", "split", "rule", "classes": [...], "drawings", "repeat"}`, the other categories whose
  training drawings the model learnt as extra classes (`inkrec train --aux-data`) and dropped from its
  classifier: its features know them, so a measurement on "unseen" categories must leave them out.

Two optional keys say how the drawing page presents the model (`page_layout`):

- `vocabulary`: the name of the character set the labels are (`inkrec.data.charsets`, e.g. "zh"), written by
  whoever exports a character model;
- `page`: "writing" or "drawing", an explicit choice that overrides the rule below.

Without `page`, a bitmap model whose labels are all single characters is a *character model*; with a
`vocabulary`, or with at least `WRITING_MIN_CLASSES` labels, the page becomes a writing pad (a phone's
handwriting keyboard: ten candidates to tap into a text) instead of the live guesses with their
probabilities that suit a few dozen doodles, digits or letters. The server's `GET /v1/models` and the static
site's models.json carry the result as `layout`, so the page never repeats the rule.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from inkrec.errors import DataFormatError

METADATA_KEY = "inkrec"
FORMAT = "inkrec-onnx/1"
LINES_KEY = "lines"
# the reader's prior fields a model may set (inkrec.read.search.Priors; this layer sits below it)
LINE_PRIOR_FIELDS = ("max_span", "max_width", "wide", "wide_cost", "gap_cost", "short", "short_cost",
                     "char_bonus", "join_cost")
LINE_INPUTS = ("ink", "pictures")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LAYOUTS = ("drawing", "writing")
# Scripts with this many characters (Chinese, kanji) are written and picked from candidates; digits,
# letters, kana (49 in Kuzushiji-49) and doodles are fewer, and read best with their probabilities.
WRITING_MIN_CLASSES = 100


def valid_id(model_id: str) -> bool:
    """Model ids appear in URLs and JSON: letters, digits, '.', '_' and '-' only."""
    return bool(_ID_RE.match(model_id))


def line_reader_default(labels: list[str]) -> bool:
    """Whether a model of these labels reads lines when nobody says otherwise: each label one character
    (a character of a line is one label; doodles' multi-letter words are not characters of text)."""
    return bool(labels) and all(len(label) == 1 and not label.isspace() for label in labels)


def reads_lines(meta: dict) -> bool:
    """Whether the model with this metadata can read a line of characters."""
    flag = meta.get(LINES_KEY)
    return flag if isinstance(flag, bool) else line_reader_default(list(meta.get("labels") or []))


def validate(meta: Any, path: str | Path) -> dict:
    """Check that `meta` (parsed JSON) is inkrec model metadata; return it or raise DataFormatError."""
    if not isinstance(meta, dict):
        raise DataFormatError(path, f"'{METADATA_KEY}' metadata is not a JSON object")
    if meta.get("format") != FORMAT:
        raise DataFormatError(
            path, f"unsupported metadata format {meta.get('format')!r} (expected {FORMAT!r})"
        )
    labels = meta.get("labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise DataFormatError(path, "metadata 'labels' must be a non-empty list of strings")
    inp = meta.get("input")
    if not isinstance(inp, dict) or inp.get("kind") not in ("bitmap", "strokes"):
        raise DataFormatError(path, "metadata 'input.kind' must be 'bitmap' or 'strokes'")
    if inp["kind"] == "bitmap":
        size = inp.get("size")
        if not isinstance(size, int) or not 4 <= size <= 1024:
            raise DataFormatError(path, f"metadata 'input.size' must be an int in 4..1024, got {size!r}")
    if not isinstance(meta.get("id"), str) or not valid_id(meta["id"]):
        raise DataFormatError(path, f"metadata 'id' is not a valid model id: {meta.get('id')!r}")
    if not isinstance(meta.get("preprocessing", {}), dict):
        raise DataFormatError(path, "metadata 'preprocessing' must be a JSON object")
    open_set(meta, path)
    _teach(meta.get("teach"), path)
    if meta.get("page") is not None and meta["page"] not in LAYOUTS:
        raise DataFormatError(path, f"metadata 'page' must be one of {', '.join(LAYOUTS)}, got {meta['page']!r}")
    if meta.get("vocabulary") is not None and not isinstance(meta["vocabulary"], str):
        raise DataFormatError(path, f"metadata 'vocabulary' must be a name, got {meta['vocabulary']!r}")
    head = meta.get("classifier")
    if head is not None and not (isinstance(head, dict) and (
            (head.get("head") == "cosine" and _number(head.get("scale")) and head["scale"] > 0)
            or (head.get("head") == "gaussian" and _number(head.get("temperature")) and head["temperature"] > 0))):
        raise DataFormatError(path, "metadata 'classifier' must be {\"head\": \"cosine\", \"scale\": a positive number} "
                                    "or {\"head\": \"gaussian\", \"temperature\": a positive number}")
    aux = meta.get("auxiliary")
    if aux is not None and not (isinstance(aux, dict) and isinstance(aux.get("classes"), list)
                                and all(isinstance(c, str) for c in aux["classes"])):
        raise DataFormatError(path, "metadata 'auxiliary' needs 'classes', a list of category names")
    if not isinstance(meta.get(LINES_KEY, False), bool):
        raise DataFormatError(path, f"metadata '{LINES_KEY}' must be true or false")
    _line_priors(meta.get("line_priors"), path)
    return meta


def _line_priors(priors: Any, path: str | Path) -> None:
    """Check the `line_priors` entry (see the module's docstring)."""
    if priors is None:
        return
    if not isinstance(priors, dict) or not set(priors) <= set(LINE_INPUTS):
        raise DataFormatError(path, f"metadata 'line_priors' must map {' and/or '.join(LINE_INPUTS)} to priors")
    for kind, fields in priors.items():
        if not isinstance(fields, dict) or not set(fields) <= set(LINE_PRIOR_FIELDS) or not all(
            _number(v) and np.isfinite(v) for v in fields.values()
        ):
            raise DataFormatError(path, f"metadata 'line_priors.{kind}' must map fields of "
                                  f"{', '.join(LINE_PRIOR_FIELDS)} to numbers")
        span = fields.get("max_span", 1)
        if span != int(span) or span < 1:
            raise DataFormatError(path, f"metadata 'line_priors.{kind}.max_span' must be a whole number from 1")


def line_priors(meta: dict, kind: str) -> dict:
    """The model's own prior fields for reading lines of `kind` ("ink" or "pictures"); {} for the defaults."""
    return dict((meta.get("line_priors") or {}).get(kind) or {})


OPEN_SET_SCORES = ("energy", "linear", "taught")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def open_set(meta: dict, path: str | Path) -> dict | None:
    """The model's open-set rule, checked (None when it has none)."""
    rule = meta.get("open_set")
    if rule is None:
        return None
    if not isinstance(rule, dict) or rule.get("score") not in OPEN_SET_SCORES or not _number(rule.get("threshold")):
        raise DataFormatError(
            path, "metadata 'open_set' needs 'score' (energy, linear or taught) and a numeric 'threshold'")
    if rule["score"] == "linear":
        weights = rule.get("weights")
        if not isinstance(weights, list) or not weights or not all(_number(w) for w in weights):
            raise DataFormatError(path, "metadata 'open_set.weights' must be a list of numbers")
        if not all(_number(rule.get(k, 0.0)) for k in ("energy_weight", "max_logit_weight", "bias")):
            raise DataFormatError(path, "metadata 'open_set' weights must be numbers")
    if rule["score"] == "taught":
        protos = rule.get("prototypes")
        kept = (isinstance(protos, list) and protos and all(isinstance(p, list) and p and all(_number(v) for v in p)
                                                             for p in protos))
        read_back = all(_number(rule.get(k)) for k in ("scale", "bias")) and rule.get("scale") != 0
        if not (all(_number(rule.get(k)) for k in ("new_from", "cos_threshold")) and (kept or read_back)):
            raise DataFormatError(path, "metadata 'open_set' of a taught model needs new_from, cos_threshold and "
                                        "prototypes (or scale and bias)")
        if rule.get("base") is not None:
            open_set({"open_set": rule["base"]}, path)
    return rule


def _teach(teach: Any, path: str | Path) -> None:
    """Check the `teach` entry (see the module's docstring)."""
    if teach is None:
        return
    if not isinstance(teach, dict) or not _number(teach.get("bias")):
        raise DataFormatError(path, "metadata 'teach' needs a numeric 'bias'")
    if teach.get("kind", "cosine") == "cosine":
        if not _number(teach.get("scale")):
            raise DataFormatError(path, "metadata 'teach' needs numeric 'scale' and 'bias'")
        return
    if teach["kind"] != "gaussian":
        raise DataFormatError(path, f"metadata 'teach.kind' must be cosine or gaussian, got {teach['kind']!r}")
    p = teach.get("precision")
    if not (isinstance(p, list) and p and all(isinstance(r, list) and len(r) == len(p) and all(_number(v) for v in r)
                                              for r in p)):
        raise DataFormatError(path, "metadata 'teach.precision' must be a square matrix (a list of rows of numbers)")
    table = teach.get("bias_by_shots")
    if table is not None and not (isinstance(table, dict) and table and all(
            isinstance(k, str) and k.isdigit() and int(k) > 0 and _number(v) for k, v in table.items())):
        raise DataFormatError(path, "metadata 'teach.bias_by_shots' must map drawing counts (\"1\", \"3\", ...) "
                                    "to numbers")


def open_set_score(rule: dict, logits: Any, embedding: Any = None) -> np.ndarray:
    """Per-row open-set score (numpy, higher = more like the model's own classes) under `rule`."""
    z = np.asarray(logits, dtype=np.float64)
    if rule["score"] == "taught":
        # a taught class's logit is scale * cosine + bias: its best cosine, less the taught threshold,
        # against the base model's own score less its threshold
        new_from = int(rule["new_from"])
        if "prototypes" in rule:
            if embedding is None:
                raise ValueError("the taught open-set score needs the embedding output")
            e = np.asarray(embedding, dtype=np.float64)
            e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
            best_cos = (e @ np.asarray(rule["prototypes"], dtype=np.float64).T).max(axis=1)
        else:  # taught before prototypes were kept: the cosine read back from `scale * cos + bias`
            best_cos = (z[:, new_from:].max(axis=1) - float(rule["bias"])) / float(rule["scale"])
        score = best_cos - float(rule["cos_threshold"])
        base = rule.get("base")
        if base is not None and new_from > 0:
            own = open_set_score(base, z[:, :new_from], embedding) - float(base["threshold"])
            score = np.maximum(score, own)
        return score
    top = z.max(axis=1)
    energy = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    if rule["score"] == "energy":
        return energy
    if embedding is None:
        raise ValueError("the linear open-set score needs the embedding output")
    w = np.asarray(rule["weights"], dtype=np.float64)
    return (np.asarray(embedding, dtype=np.float64) @ w + float(rule.get("energy_weight", 0.0)) * energy
            + float(rule.get("max_logit_weight", 0.0)) * top + float(rule.get("bias", 0.0)))


def page_layout(meta: dict) -> str:
    """"writing" (a handwriting keyboard) for a character model with many classes, else "drawing"."""
    if meta.get("page") in LAYOUTS:
        return meta["page"]
    labels = meta["labels"]
    character_model = meta["input"]["kind"] == "bitmap" and all(len(label) == 1 for label in labels)
    many = bool(meta.get("vocabulary")) or len(labels) >= WRITING_MIN_CLASSES
    return "writing" if character_model and many else "drawing"


def page_fields(meta: dict) -> dict:
    """What the page needs to know of a model beyond its file's own entries: its vocabulary, layout, whether it
    reads lines and with which of its own priors. One place for `GET /v1/models` and a static site's
    models.json, which must say the same."""
    return {
        "vocabulary": meta.get("vocabulary"),
        "layout": page_layout(meta),
        "lines": reads_lines(meta),
        "line_priors": meta.get("line_priors"),
    }


def parse(text: str | None, path: str | Path) -> dict:
    """Parse the JSON string stored under the `inkrec` key."""
    if text is None:
        raise DataFormatError(path, f"not an inkrec model: no '{METADATA_KEY}' metadata in this ONNX file")
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise DataFormatError(path, f"'{METADATA_KEY}' metadata is not valid JSON: {exc}") from None
    return validate(meta, path)


def dumps(meta: dict) -> str:
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, allow_nan=False)
