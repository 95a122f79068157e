// "Write a line": several characters written in one go become text, read as the person writes.
//
// The twin of inkrec.read for ink (segment.ink_pieces, search.Priors, search.best_path): the strokes are
// grouped into pieces by their x-extent, every run of up to PRIORS.maxSpan consecutive pieces is simplified and
// rasterized like one drawing (ink.js, the model's own preprocessing) and shown to the model, and the best path
// through the pieces by the model's confidence and the width and gap priors (with the fields the model sets
// for itself, `line_priors`) is the reading. The same numbers as the Python, so the page and POST /v1/read
// read a line alike. Clicking a character lists its alternatives;
// picking one replaces it. Without WebAssembly the server reads the line (POST v1/read).

import { simplify, rasterize } from "./preprocess/ink.js";
import { InkPad } from "./pad.js";
import { topK } from "./runtime.js";

export const PRIORS = Object.freeze({
  maxSpan: 5, maxWidth: 1.6, wide: 1.0, wideCost: 1.0, gapCost: 3.0, short: 0.45, shortCost: 4.0, charBonus: 0.05,
});
// metadata.line_priors field names (Python's) -> PRIORS keys
const PRIOR_NAMES = Object.freeze({
  max_span: "maxSpan", max_width: "maxWidth", wide: "wide", wide_cost: "wideCost", gap_cost: "gapCost",
  short: "short", short_cost: "shortCost", char_bonus: "charBonus",
});
const MERGE_OVERLAP = 0.5;
const MAX_PIECES = 200;
const TOP = 5;

/** The extent holding all but `trim` of the points at each end (segment._band with equal weights). */
function band(values, trim = 0.02) {
  const v = Float64Array.from(values).sort();
  const n = v.length;
  let lo = 0;
  while (lo < n - 1 && (lo + 1) / n < trim) lo++;
  let hi = 0;
  while (hi < n - 1 && (hi + 1) / n < 1 - trim) hi++;
  return v[hi] - v[lo];
}

/** segment._merge_overlapping for ink: groups of stroke indices whose x-ranges overlap enough. */
function mergeOverlapping(boxes) {
  let groups = boxes.map((_, i) => [i]);
  let gbox = boxes.map((b) => b.slice());
  let changed = true;
  while (changed) {
    changed = false;
    const order = groups.map((_, g) => g).sort((p, q) => (gbox[p][0] + gbox[p][2]) / 2 - (gbox[q][0] + gbox[q][2]) / 2);
    groups = order.map((g) => groups[g]);
    gbox = order.map((g) => gbox[g]);
    let k = 0;
    while (k < groups.length - 1) {
      const a = gbox[k];
      const b = gbox[k + 1];
      const overlap = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
      const narrower = Math.max(Math.min(a[2] - a[0], b[2] - b[0]), 0); // a vertical bar has no width, yet overlaps
      if (overlap >= 0 && overlap >= MERGE_OVERLAP * narrower) {
        groups[k] = groups[k].concat(groups[k + 1]);
        groups.splice(k + 1, 1);
        gbox[k] = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
        gbox.splice(k + 1, 1);
        changed = true;
      } else {
        k++;
      }
    }
  }
  return groups;
}

function median(values) {
  const v = Float64Array.from(values).sort();
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Raw strokes [[x...], [y...], [t...]] -> {strokes, members, boxes, height} (segment.ink_pieces). */
export function inkPieces(rawStrokes) {
  const strokes = rawStrokes.filter((s) => s[0].length > 0);
  if (!strokes.length) throw new RangeError("the line has no strokes: nothing to read");
  const boxes = strokes.map(([xs, ys]) => [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]);
  const ys = strokes.flatMap((s) => s[1]);
  const extent = Math.max(...ys) - Math.min(...ys);
  const groups = mergeOverlapping(boxes);
  const gh = median(groups.map((g) => Math.max(...g.map((i) => boxes[i][3])) - Math.min(...g.map((i) => boxes[i][1]))));
  const height = Math.max(band(ys), gh, 0.5 * extent, 1e-6);
  const pen = 0.02 * height;
  if (groups.length > MAX_PIECES) {
    throw new RangeError(`the line has ${groups.length} separate marks; at most ${MAX_PIECES} are read`);
  }
  const members = groups.map((g) => g.slice().sort((a, b) => a - b));
  const pieceBoxes = members.map((g) => [
    Math.min(...g.map((i) => boxes[i][0])) - pen, Math.min(...g.map((i) => boxes[i][1])) - pen,
    Math.max(...g.map((i) => boxes[i][2])) + pen, Math.max(...g.map((i) => boxes[i][3])) + pen,
  ]);
  return { strokes, members, boxes: pieceBoxes, height };
}

function spanBox(boxes, i, j) {
  const b = boxes.slice(i, j + 1);
  return [Math.min(...b.map((x) => x[0])), Math.min(...b.map((x) => x[1])),
    Math.max(...b.map((x) => x[2])), Math.max(...b.map((x) => x[3]))];
}

/** Priors().updated(line_priors(meta, "ink")): PRIORS with the fields the model sets for its ink lines. */
export function priorsFor(info) {
  const own = ((info && info.line_priors) || {}).ink || {};
  const out = { ...PRIORS };
  for (const [name, value] of Object.entries(own)) if (name in PRIOR_NAMES) out[PRIOR_NAMES[name]] = value;
  return Object.freeze(out);
}

/** search.Priors.spans: runs of pieces that could be one character. */
export function spans(line, priors = PRIORS) {
  const out = [];
  const n = line.boxes.length;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < Math.min(n, i + priors.maxSpan); j++) {
      const box = spanBox(line.boxes, i, j);
      if (j > i && box[2] - box[0] > priors.maxWidth * line.height) break;
      out.push([i, j]);
    }
  }
  return out;
}

/** search.Priors.shape_scores: the prior part of each span's score. */
export function shapeScores(line, runs, priors = PRIORS) {
  const b = line.boxes;
  const gaps = [];
  let right = -Infinity;
  for (let k = 0; k + 1 < b.length; k++) {
    right = Math.max(right, b[k][2]);
    gaps.push(Math.max((b[k + 1][0] - right) / line.height, 0));
  }
  return runs.map(([i, j]) => {
    const box = spanBox(b, i, j);
    const width = (box[2] - box[0]) / line.height;
    const high = (box[3] - box[1]) / line.height;
    let inside = 0;
    for (let k = i; k < j; k++) inside += gaps[k];
    return priors.charBonus - priors.wideCost * Math.max(0, width - priors.wide)
      - priors.shortCost * Math.max(0, priors.short - high) - priors.gapCost * inside;
  });
}

/** search.best_path: indices into `runs` of the best path over pieces 0..n-1. */
export function bestPath(n, runs, scores) {
  const best = new Float64Array(n + 1).fill(-Infinity);
  best[0] = 0;
  const back = new Int32Array(n + 1).fill(-1);
  const ending = Array.from({ length: n }, () => []);
  runs.forEach(([, j], k) => ending[j].push(k));
  for (let j = 0; j < n; j++) {
    for (const k of ending[j]) {
      const s = best[runs[k][0]] + scores[k];
      if (s > best[j + 1]) { best[j + 1] = s; back[j + 1] = k; }
    }
  }
  const path = [];
  for (let at = n; at > 0; at = runs[back[at]][0]) path.push(back[at]);
  return path.reverse();
}

/**
 * Read a line of raw strokes with a model run in this browser.
 * @param rawStrokes [[x...], [y...], [t...]] per stroke
 * @param info the model's entry of the model list (labels, input, preprocessing)
 * @param run async (Uint8Array size*size) -> {probs}
 * @param seen optional Map kept between reads of one line: a candidate's probabilities and its last stroke, by
 *   its model and strokes (a candidate's pixels are its strokes' alone), so a new stroke costs only the
 *   candidates it is part of and an undo none; whoever removes strokes forgets what was read with them
 *   (`forgetStrokes`)
 */
export async function readLine(rawStrokes, info, run, seen = null) {
  const line = inkPieces(rawStrokes);
  const priors = priorsFor(info);
  const runs = spans(line, priors);
  const size = info.input.size;
  const pre = info.preprocessing || {};
  const ld = typeof pre.line_diameter === "number" ? pre.line_diameter : 16;
  const pad = typeof pre.padding === "number" ? pre.padding : 16;
  const probs = [];
  for (const [i, j] of runs) {
    const ids = [];
    for (let k = i; k <= j; k++) ids.push(...line.members[k]);
    ids.sort((a, b) => a - b);
    const key = `${info.id}:${ids.join(",")}`;
    if (seen && seen.has(key)) { probs.push(seen.get(key).probs); continue; }
    const pixels = rasterize(simplify(ids.map((s) => line.strokes[s])), size, ld, pad);
    const p = (await run(pixels)).probs;
    if (seen) seen.set(key, { probs: p, last: ids[ids.length - 1] });
    probs.push(p);
  }
  const prior = shapeScores(line, runs, priors);
  const scores = probs.map((p, k) => Math.log(Math.max(Math.max(...p), 1e-12)) + prior[k]);
  return bestPath(line.boxes.length, runs, scores).map((k) => {
    const [i, j] = runs[k];
    const strokes = [];
    for (let q = i; q <= j; q++) strokes.push(...line.members[q]);
    return { box: spanBox(line.boxes, i, j), candidates: topK(probs[k], info.labels, TOP), strokes: strokes.sort((a, b) => a - b) };
  });
}

/**
 * Forget the candidates of `readLine`'s `seen` read with a stroke numbered `from` or later: the strokes before
 * it are unchanged, so what was read of them still holds.
 */
export function forgetStrokes(seen, from) {
  for (const [key, { last }] of [...seen]) if (last >= from) seen.delete(key);
}

/** The "Write a line" panel: a wide pad, the text as read, each character's alternatives, copy. */
export class LineMode {
  /**
   * @param panel the (empty) tab panel to fill
   * @param deps {info: () => model entry, run: async (pixels) => {probs}, backend: () => "wasm"|"api"}
   */
  constructor(panel, deps) {
    this.deps = deps;
    this.characters = [];
    this.picked = new Map(); // the strokes of a character -> the label the person picked for it
    this.seen = new Map(); // candidates read so far in this line (readLine's `seen`)
    this.selected = null;
    this.busy = false;
    this.again = false;
    this.state = {
      text: "", characters: [], version: 0, readVersion: 0, lastReadMs: null, lastRan: null, error: null,
    };
    panel.innerHTML = `
      <div class="line-wrap">
        <canvas id="line-canvas" data-testid="line-canvas" class="pad line-pad" role="img" tabindex="0"
                aria-label="Writing area: write a line of characters from left to right."></canvas>
        <p class="pad-hint" id="line-hint" aria-hidden="true">Write a line here, left to right</p>
      </div>
      <div class="actions">
        <button id="line-undo" data-testid="line-undo" type="button" disabled>Undo</button>
        <button id="line-clear" data-testid="line-clear" type="button" disabled>Clear</button>
        <button id="line-copy" data-testid="line-copy" type="button" disabled>Copy the text</button>
      </div>
      <p class="line-text" id="line-text" data-testid="line-text" aria-live="polite"></p>
      <div class="line-chars" id="line-chars" data-testid="line-chars" role="group" aria-label="Characters read"></div>
      <ol class="line-alts" id="line-alts" data-testid="line-alts" aria-label="Alternatives for the chosen character"></ol>
      <p class="note" id="line-note"></p>`;
    const $ = (id) => panel.querySelector(`#${id}`);
    this.$ = $;
    this.pad = new InkPad($("line-canvas"), {
      onChange: (reason) => {
        const empty = this.pad.isEmpty;
        $("line-undo").disabled = empty || this.pad.isDrawing;
        $("line-clear").disabled = empty;
        $("line-hint").classList.toggle("gone", !empty);
        if (reason === "clear") this.seen.clear(); // stroke numbers will be reused
        // an undo takes the last stroke back and the next stroke takes its number: forget only what it was in
        if (reason === "undo") forgetStrokes(this.seen, this.pad.rawStrokes().length);
        if (reason !== "move" || empty) this.refresh();
      },
    });
    $("line-undo").addEventListener("click", () => this.pad.undo());
    $("line-clear").addEventListener("click", () => { this.picked.clear(); this.pad.clear(); });
    $("line-copy").addEventListener("click", () => this.copy());
  }

  get text() {
    return this.characters.map((c) => this.picked.get(c.strokes.join(",")) ?? c.candidates[0].label).join("");
  }

  /** Read the line again (after a stroke, an undo, a new model). */
  refresh() {
    this.state.version += 1;
    if (this.busy) { this.again = true; return; }
    this._read();
  }

  async _read() {
    this.busy = true;
    const version = this.state.version;
    const t0 = performance.now();
    let ran = 0; // candidates the model read this time (the rest were known from before)
    try {
      const raw = this.pad.rawStrokes();
      const info = this.deps.info();
      if (!raw.length) {
        this.characters = [];
      } else if (info.lines === false) {
        throw new Error(`the model ${info.id} does not read lines of characters; pick digits or a Chinese model`);
      } else if (this.deps.backend() === "wasm") {
        const run = (pixels) => { ran += 1; return this.deps.run(pixels); };
        this.characters = await readLine(raw, info, run, this.seen);
      } else {
        this.characters = await this._readOnServer(raw, info);
      }
      this.state.lastReadMs = performance.now() - t0;
      this.state.lastRan = ran;
      this.state.error = null;
      this.$("line-note").textContent = raw.length
        ? `Read in ${this.state.lastReadMs.toFixed(0)} ms${this.deps.backend() === "wasm" ? " in this browser" : " by the server"}.`
        : "";
    } catch (err) {
      this.characters = [];
      this.state.error = String(err?.message || err);
      this.$("line-note").textContent = `Could not read the line: ${this.state.error}`;
    } finally {
      this.busy = false;
      this.state.readVersion = version;
      this.render();
      if (this.again) { this.again = false; this.refresh(); }
    }
  }

  async _readOnServer(raw, info) {
    const r = await fetch(new URL("v1/read", document.baseURI).href, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ model: info.id, strokes: raw, top_k: TOP }),
    });
    const data = await r.json().catch(() => null);
    if (!r.ok) throw new Error(data?.error?.message || `HTTP ${r.status}`);
    // the server does not say which strokes made a character: its box stands in for them
    return data.characters.map((c) => ({ ...c, strokes: c.box.map((v) => v.toFixed(1)) }));
  }

  render() {
    const text = this.text;
    this.state.text = text;
    this.state.characters = this.characters.map((c) => ({ box: c.box, candidates: c.candidates }));
    this.$("line-text").textContent = text;
    this.$("line-copy").disabled = !text;
    const chars = this.$("line-chars");
    chars.replaceChildren(...this.characters.map((c, k) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "line-char";
      b.setAttribute("data-testid", `line-char-${k}`);
      b.textContent = this.picked.get(c.strokes.join(",")) ?? c.candidates[0].label;
      b.setAttribute("aria-pressed", String(this.selected === k));
      b.addEventListener("click", () => { this.selected = this.selected === k ? null : k; this.render(); });
      return b;
    }));
    if (this.selected !== null && this.selected >= this.characters.length) this.selected = null;
    const alts = this.$("line-alts");
    const c = this.selected === null ? null : this.characters[this.selected];
    alts.replaceChildren(...(c ? c.candidates : []).map((cand, i) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.setAttribute("data-testid", `line-alt-${i}`);
      b.textContent = `${cand.label} ${(cand.probability * 100).toFixed(1)}%`;
      b.addEventListener("click", () => {
        this.picked.set(c.strokes.join(","), cand.label);
        this.selected = null;
        this.render();
      });
      li.append(b);
      return li;
    }));
  }

  async copy() {
    const text = this.text;
    try {
      await navigator.clipboard.writeText(text);
      this.$("line-note").textContent = "Copied.";
    } catch {
      this.$("line-note").textContent = `Copy this: ${text}`;
    }
  }
}
