// "Teach me" and "not sure": new classes from a few drawings, computed in this browser from the model's
// `embedding` output, and the model's open-set rule applied to every guess.
//
// A taught class is the mean of its drawings' embeddings; it scores beside the model's own logits as the
// model's `teach` metadata says: scale * cos(embedding, prototype) + bias (the mean normalised), or, for a
// model with a Gaussian head, as the model's own classes do plus a bias (embedding . P m - m . P m / 2 + b).
// The same arithmetic as `inkrec teach`, which turns this page's export file into a model for the server.
// Taught classes are kept per model in IndexedDB, so they survive a reload.
//
// The open-set rule is the twin of inkrec.runtime.metadata.open_set_score: energy (log-sum-exp of the
// logits) or a linear rule on the embedding and the logits, with the model's threshold. With classes
// taught here, a drawing is also "sure" when it is close enough to one of them (its cosine above a
// threshold chosen leave-one-out on their own drawings, as `inkrec teach` does).

import { topIndices } from "./runtime.js";

const DB_NAME = "inkrec-teach";
const STORE = "classes";
const PAGE_FORMAT = "inkrec-page-teach/1";
const KNOWN_ACCEPT = 0.95;
const DEFAULT_TEACH = { scale: 16, bias: -10 }; // what `inkrec teach` uses for a model without calibration

// ---------------------------------------------------------------- arithmetic (twins of the Python)

export function logSumExp(z) {
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  let s = 0;
  for (const v of z) s += Math.exp(v - max);
  return max + Math.log(s);
}

function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function normalised(v) {
  const n = Math.sqrt(dot(v, v)) || 1e-12;
  return Float32Array.from(v, (x) => x / n);
}

/** The open-set score of one drawing under a model's rule (higher: more like its classes), or null. */
export function openSetScore(rule, logits, embedding) {
  if (!rule) return null;
  const z = Array.from(logits);
  if (rule.score === "taught") {
    const from = rule.new_from;
    let bestCos;
    if (rule.prototypes) {
      if (!embedding) return null;
      const e = normalised(embedding);
      bestCos = Math.max(...rule.prototypes.map((p) => dot(p, e)));
    } else { // taught before prototypes were kept: the cosine read back from scale * cos + bias
      bestCos = (Math.max(...z.slice(from)) - rule.bias) / rule.scale;
    }
    let score = bestCos - rule.cos_threshold;
    if (rule.base && from > 0) {
      const own = openSetScore(rule.base, z.slice(0, from), embedding);
      if (own !== null) score = Math.max(score, own - rule.base.threshold);
    }
    return score;
  }
  const energy = logSumExp(z);
  if (rule.score === "energy") return energy;
  if (rule.score === "linear") {
    if (!embedding) return null;
    return dot(rule.weights, embedding) + (rule.energy_weight || 0) * energy
      + (rule.max_logit_weight || 0) * Math.max(...z) + (rule.bias || 0);
  }
  return null;
}

function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return 0.5;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** A taught class's mean and prototype (normalised), and the leave-one-out cosines of its drawings. */
function summarise(examples) {
  const dim = examples[0].embedding.length;
  const total = new Float64Array(dim);
  for (const ex of examples) for (let i = 0; i < dim; i++) total[i] += ex.embedding[i];
  const loo = examples.length > 1
    ? examples.map((ex) => dot(normalised(total.map((t, i) => t - ex.embedding[i])), ex.embedding))
    : [];
  return { mean: total.map((t) => t / examples.length), prototype: normalised(total), loo };
}

/** The bias of a class taught from this many drawings: the twin of inkrec.export.calibrate.taught_bias. */
function taughtBias(cal, drawings) {
  const table = cal.bias_by_shots || {};
  const keys = Object.keys(table).map(Number).sort((a, b) => a - b);
  if (!keys.length) return cal.bias;
  const fit = keys.filter((k) => k <= drawings);
  return table[String(fit.length ? fit[fit.length - 1] : keys[0])];
}

/** (weight row, bias) of a taught class: the twin of inkrec.export.calibrate.gaussian_class and of the
 * cosine rows `inkrec teach` writes. */
function taughtRow(cal, summary, drawings) {
  if (cal.kind === "gaussian") {
    const row = cal.precision.map((r) => dot(r, summary.mean));
    return { row, bias: -0.5 * dot(row, summary.mean) + taughtBias(cal, drawings) };
  }
  return { row: summary.prototype.map((v) => cal.scale * v), bias: cal.bias };
}

// ---------------------------------------------------------------- the taught classes of each model

const taught = new Map(); // model id -> [{label, examples: [{strokes, embedding}]}]

function classesOf(modelId) {
  if (!taught.has(modelId)) taught.set(modelId, []);
  return taught.get(modelId);
}

/**
 * The guesses for one drawing: the model's own classes and those taught here, most likely first, and
 * whether the model is "not sure". `out` is what the in-browser model returned ({probs, logits, embedding}).
 */
export function judge(info, out, k) {
  const classes = out.embedding ? classesOf(info.id).filter((c) => c.examples.length) : [];
  const cal = info.teach || DEFAULT_TEACH;
  const logits = Array.from(out.logits || []);
  const labels = [...info.labels];
  const loo = [];
  let bestCos = -Infinity;
  const e = out.embedding ? normalised(out.embedding) : null;
  for (const c of classes) {
    const summary = summarise(c.examples);
    const { row, bias } = taughtRow(cal, summary, c.examples.length);
    bestCos = Math.max(bestCos, dot(summary.prototype, e));
    logits.push(dot(row, out.embedding) + bias);
    labels.push(c.label);
    loo.push(...summary.loo);
  }
  let probs = out.probs;
  if (classes.length) {
    const lse = logSumExp(logits);
    probs = Float32Array.from(logits, (v) => Math.exp(v - lse));
  }
  const idx = topIndices(probs, k); // one pass: a character model has 15,000 classes
  const predictions = idx.map((i) => ({ label: labels[i], probability: probs[i], taught: i >= info.labels.length }));
  let notSure = null;
  const base = openSetScore(info.open_set, out.logits || [], out.embedding);
  if (base !== null) notSure = base < info.open_set.threshold;
  if (classes.length) {
    const cosThreshold = loo.length ? quantile(loo, 1 - KNOWN_ACCEPT) : 0.5;
    const closeEnough = bestCos >= cosThreshold;
    notSure = notSure === null ? !closeEnough : notSure && !closeEnough;
  }
  return { predictions, notSure };
}

/** Say "not sure" above the guesses (the guesses stay: they are still the model's best). */
export function renderNotSure(flag) {
  const el = document.getElementById("not-sure");
  if (!el) return;
  el.hidden = !flag;
}

// ---------------------------------------------------------------- IndexedDB

function openDb() {
  return new Promise((resolve, reject) => {
    if (!globalThis.indexedDB) { reject(new Error("this browser has no IndexedDB")); return; }
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function save(modelId) {
  const db = await openDb();
  const plain = classesOf(modelId).map((c) => ({
    label: c.label,
    examples: c.examples.map((ex) => ({ strokes: ex.strokes, embedding: Array.from(ex.embedding) })),
  }));
  await new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(plain, modelId);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

async function load(modelId) {
  const db = await openDb();
  const value = await new Promise((resolve, reject) => {
    const req = db.transaction(STORE, "readonly").objectStore(STORE).get(modelId);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  db.close();
  const classes = Array.isArray(value) ? value : [];
  taught.set(modelId, classes.map((c) => ({
    label: c.label,
    examples: c.examples.map((ex) => ({ strokes: ex.strokes, embedding: Float32Array.from(ex.embedding) })),
  })));
}

/** The file `inkrec teach --from-page FILE` reads: the taught drawings as strokes. */
export function exportFile(modelId) {
  return {
    format: PAGE_FORMAT,
    model: modelId,
    classes: classesOf(modelId).map((c) => ({ label: c.label, drawings: c.examples.map((ex) => ex.strokes) })),
  };
}

// ---------------------------------------------------------------- the panel

const STYLE = `
.teach { border-top: 1px solid var(--line); margin-top: 16px; padding-top: 12px; }
.teach h2 { font-size: 1rem; margin: 0 0 8px; }
.teach form { display: flex; flex-wrap: wrap; gap: 8px; }
.teach input { font: inherit; padding: 6px 8px; border-radius: 8px; border: 1px solid var(--line); flex: 1; min-width: 8em; }
.teach ul { list-style: none; padding: 0; margin: 8px 0; }
.teach li { display: flex; gap: 8px; align-items: center; }
.teach .note { color: var(--muted); font-size: .85rem; margin: 4px 0; }
.not-sure { margin: 0 0 8px; font-weight: 600; }
`;

function el(tag, attrs = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

/**
 * Build the "Teach me" panel under the guesses. `page` is the page's side of it: `model`, `modelInfo(id)`,
 * `drawing()` (the pad's strokes and model input right now), `infer(pixels, id)`, `clear()` (empty the pad)
 * and `refresh()` (guess again).
 */
export function mountTeach(page) {
  const results = document.querySelector(".results");
  if (!results || document.getElementById("teach")) return;
  document.head.append(el("style", {}, STYLE));
  const notSure = el("p", { id: "not-sure", class: "not-sure", "data-testid": "not-sure", role: "status" },
    "I'm not sure what that is. My best guesses:");
  notSure.hidden = true;
  document.getElementById("guesses").before(notSure);

  const panel = el("section", { id: "teach", class: "teach", "aria-labelledby": "teach-title" });
  panel.append(el("h2", { id: "teach-title" }, "Teach me"));
  panel.append(el("p", { class: "note" },
    "Name a new thing, then draw it and add each drawing (3 to 10 times). It joins the guesses at once."));
  const form = el("form", { "data-testid": "teach-form" });
  const name = el("input", { id: "teach-label", "data-testid": "teach-label", placeholder: "Name of the new thing",
    "aria-label": "Name of the new thing", maxlength: "64" });
  const add = el("button", { type: "submit", "data-testid": "teach-add" }, "Add this drawing");
  form.append(name, add);
  const list = el("ul", { "data-testid": "teach-list" });
  const note = el("p", { class: "note", "data-testid": "teach-note", "aria-live": "polite" });
  const exportBtn = el("button", { type: "button", "data-testid": "teach-export" }, "Export for the server");
  panel.append(form, list, note, exportBtn);
  results.append(panel);

  // Adds and forgets run one at a time, in the order they were asked for: each one awaits the model and
  // IndexedDB, and a person may well click "Add" again (or "Forget") before the last one is done.
  let pending = Promise.resolve();
  const queue = (job) => { pending = pending.then(job).catch(() => {}); return pending; };

  const render = () => {
    list.replaceChildren(...classesOf(page.model).map((c) => {
      const li = el("li", { "data-testid": `taught-${c.label}` });
      li.append(el("span", {}, `${c.label}: ${c.examples.length} drawing${c.examples.length === 1 ? "" : "s"}`));
      const forget = el("button", { type: "button", "aria-label": `Forget ${c.label}` }, "Forget");
      const modelId = page.model;
      forget.addEventListener("click", () => queue(async () => {
        const all = classesOf(modelId);
        const i = all.indexOf(c);
        if (i < 0) return; // forgotten already (a second click)
        all.splice(i, 1);
        await save(modelId).catch(() => {});
        render();
        page.refresh();
      }));
      li.append(forget);
      return li;
    }));
    exportBtn.disabled = !classesOf(page.model).length;
  };

  const addDrawing = async (modelId, label, strokes, pixels) => {
    let out;
    try {
      out = await page.infer(pixels, modelId);
    } catch (err) {
      note.textContent = `Teaching needs the model in this browser: ${err?.message || err}`;
      return;
    }
    if (!out.embedding) { note.textContent = "This model file has no embedding output: it cannot be taught."; return; }
    const all = classesOf(modelId);
    let c = all.find((x) => x.label === label);
    if (!c) { c = { label, examples: [] }; all.push(c); }
    c.examples.push({ strokes, embedding: Float32Array.from(out.embedding) });
    let kept = "";
    try { await save(modelId); } catch (err) { kept = ` Not kept across reloads: ${err?.message || err}`; }
    note.textContent = `${label}: ${c.examples.length} drawing${c.examples.length === 1 ? "" : "s"} taught.${kept}`;
    render();
    page.refresh(); // the drawing now on the pad is guessed with the new class too
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const label = name.value.trim();
    const modelId = page.model;
    const info = page.modelInfo(modelId);
    if (!label) { note.textContent = "Give the new thing a name first."; return; }
    if (info.labels.includes(label)) { note.textContent = `The model already knows "${label}".`; return; }
    if (info.embedding === false) { note.textContent = "This model file has no embedding output: it cannot be taught."; return; }
    // The drawing is taken now, as it is at the click, and the pad is emptied at once for the next one; its
    // embedding and storage follow in the queue. Clearing only after those awaits would wipe, or draw onto,
    // whatever the person had started drawing meanwhile.
    const { strokes, pixels } = page.drawing();
    if (!strokes.length) { note.textContent = "Draw it first."; return; }
    page.clear();
    note.textContent = `Adding a drawing of ${label}…`;
    queue(() => addDrawing(modelId, label, strokes, pixels));
  });

  exportBtn.addEventListener("click", async () => {
    await pending; // the drawings already added, every one of them
    const blob = new Blob([JSON.stringify(exportFile(page.model))], { type: "application/json" });
    const a = el("a", { href: URL.createObjectURL(blob), download: `${page.model}-taught.json` });
    document.body.append(a);
    a.click();
    a.remove();
  });

  page.onModel = async (id) => {
    if (!taught.has(id)) await load(id).catch(() => taught.set(id, []));
    render();
  };
  return page.onModel(page.model);
}
