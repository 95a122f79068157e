// The drawing page: draw, and the model guesses live.
//
// Strokes -> ink.js (the twin of inkrec.preprocess: simplify like the data set, then rasterize like its bitmaps)
// -> the model in this browser (onnxruntime-web) -> top-5 guesses (for a character model with many classes,
// ten candidates to tap into a text: writing.js). Everything that is slow to start (the
// runtime's wasm compile, the model list, the model bytes) starts at once, in parallel, at module load.
// An uploaded picture goes the same way through picture.js (the twin of inkrec.preprocess.pictures), so a static
// copy of the page reads pictures too; only when the model runs on the server does the picture go there.

import { simplify, rasterize } from "./preprocess/ink.js";
import { InkPad } from "./pad.js";
import { LineMode } from "./line.js";
import { pictureToModelInput } from "./preprocess/picture.js";
import { CANDIDATES, WritingPad } from "./writing.js";
import {
  ApiClient, WasmModel, chooseThreads, loadManifest, loadOrt, wasmAvailable,
} from "./runtime.js";
import { judge, mountTeach, renderNotSure } from "./teach.js";

const TOP = 5;
const top = () => (writing.active ? CANDIDATES : TOP); // a writing pad offers ten candidates
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

// Test and benchmark hooks: the state an outside observer may read. Kept stable on purpose.
const state = {
  ready: null, // Promise: resolves when the first guess can be made
  isReady: false,
  readyMs: null, // ms since navigation start when the page could first guess
  backend: null, // "wasm" | "api"
  threads: null,
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  model: null, // id of the model in use
  models: [],
  strokes: [], // the raw strokes the pad recorded
  version: 0, // bumps on every change of the drawing or model
  guessedVersion: 0, // the version the shown guesses belong to
  lastInput: null, // Uint8Array size*size: the exact model input
  lastInferenceMs: null,
  lastPredictions: [],
  notSure: null, // whether the shown guesses fall below the model's open-set threshold (null: no rule)
  lastStrokeLatencyMs: null, // from a stroke's last point to its guesses on screen
  layout: "drawing", // "writing" for a character model with many classes (writing.js)
  switchMs: null, // from choosing a model in the picker to its first possible guess
  error: null,
  /** Run a model (default: the current one) in this browser on an input (Uint8Array size*size). */
  infer: async (pixels, id = state.model) => (await current(id)).run(pixels),
};
window.inkrec = state;

const wantApi = params.get("backend") === "api";
const threads = chooseThreads(Number.parseInt(params.get("threads") || "", 10));
const canWasm = !wantApi && wasmAvailable();
// Start the runtime now: fetching and compiling its wasm is the slowest part of start-up.
const ortPromise = canWasm ? loadOrt(threads) : null;
const manifestPromise = loadManifest().then((m) => { performance.mark("inkrec:manifest"); return m; });

let manifest = null;
let api = null;
const sessions = new Map(); // model id -> Promise<WasmModel>
let strokeEndAt = null; // when the last stroke ended, until its guesses are shown
let lineMode = null; // the "Write a line" panel (line.js), once the page is ready

function modelInfo(id) {
  return manifest.models.find((m) => m.id === id);
}

async function fetchModel(info) {
  const url = new URL(info.url, manifest.base).href;
  const r = await fetch(url);
  if (!r.ok) throw new Error(`model ${info.id}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function session(id) {
  if (!sessions.has(id)) {
    const info = modelInfo(id);
    const mark = (what) => performance.mark(`inkrec:${what}:${id}`);
    const p = Promise.all([
      ortPromise,
      fetchModel(info).then((bytes) => { mark("model-fetched"); return bytes; }),
    ]).then(([ort, bytes]) => WasmModel.create(ort, info, bytes, mark));
    p.catch(() => sessions.delete(id)); // a failed load may be retried on the next pick
    sessions.set(id, p);
  }
  return sessions.get(id);
}

async function current(id = state.model) {
  if (state.backend !== "wasm") throw new Error("no in-browser model (the server is guessing)");
  if (!modelInfo(id)) throw new Error(`unknown model ${id}`);
  return session(id);
}

function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// ---------------------------------------------------------------- guesses
const guessList = $("guesses");
function renderGuesses(preds) {
  guessList.replaceChildren();
  if (writing.render(preds)) return;
  $("live-top").textContent = preds.length ? `${preds[0].label} ${Math.round(preds[0].probability * 100)}%` : "";
  if (!preds.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = state.isReady ? "Draw something, and the model will guess." : "Loading…";
    guessList.append(li);
    return;
  }
  preds.forEach((p, i) => {
    const li = document.createElement("li");
    li.className = "guess";
    li.dataset.testid = `guess-${i}`;
    li.setAttribute("data-testid", `guess-${i}`);
    const pct = Math.round(p.probability * 1000) / 10;
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = p.label;
    const value = document.createElement("span");
    value.className = "pct";
    value.textContent = ` ${pct.toFixed(1)}%`;
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.setAttribute("role", "presentation");
    const fill = document.createElement("span");
    fill.style.width = `${Math.max(0, Math.min(100, p.probability * 100))}%`;
    bar.append(fill);
    li.append(label, value, bar);
    li.setAttribute("aria-label", `${p.label}, ${pct.toFixed(0)} percent`);
    guessList.append(li);
  });
}

// ---------------------------------------------------------------- the model's view
const inputCanvas = $("model-input");
function renderInput(pixels, size) {
  if (inputCanvas.width !== size) {
    inputCanvas.width = size;
    inputCanvas.height = size;
    $("input-size").textContent = `${size}×${size}`;
  }
  const ctx = inputCanvas.getContext("2d");
  const img = ctx.createImageData(size, size);
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    img.data[4 * i] = v; img.data[4 * i + 1] = v; img.data[4 * i + 2] = v; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// ---------------------------------------------------------------- the live loop
const num = (v, fallback) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);

/** Raw strokes as the model sees them: simplified like the data set, then rasterized by the model's recipe. */
function modelInput(raw, info) {
  const size = info.input.size;
  const strokes = raw.length ? simplify(raw) : [];
  const pre = info.preprocessing || {};
  const pixels = strokes.length
    ? rasterize(strokes, size, num(pre.line_diameter, 16), num(pre.padding, 16))
    : new Uint8Array(size * size);
  return { strokes, pixels };
}

let scheduled = false;
let busy = false;
let again = false;

function requestGuess() {
  state.version += 1;
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(guessNow); // at most one guess per frame, however fast the pointer moves
  }
}

async function guessNow() {
  scheduled = false;
  if (!state.isReady) return; // the ready handler guesses once it is
  if (busy) { again = true; return; }
  busy = true;
  const version = state.version;
  const endAt = strokeEndAt;
  try {
    const info = modelInfo(state.model);
    const raw = pad.rawStrokes();
    state.strokes = raw;
    const { strokes, pixels } = modelInput(raw, info);
    state.lastInput = pixels;
    renderInput(pixels, info.input.size);
    let preds = [];
    if (strokes.length) {
      if (state.backend === "wasm") {
        const m = await session(state.model);
        const out = await m.run(pixels);
        state.lastInferenceMs = out.ms;
        ({ predictions: preds, notSure: state.notSure } = judge(info, out, top()));
      } else {
        const r = await api.predictStrokes(state.model, raw, top());
        state.lastInferenceMs = r.ms;
        preds = r.predictions;
        state.notSure = r.not_sure ?? null;
      }
    }
    state.lastPredictions = preds;
    renderGuesses(preds);
    renderNotSure(preds.length > 0 && state.notSure === true);
    if (preds.length && state.lastInferenceMs !== null) {
      const el = $("model-time");
      if (el) el.textContent = `${state.lastInferenceMs.toFixed(2)} ms${state.backend === "api" ? " (server)" : ""}`;
    }
    state.guessedVersion = version;
    if (endAt !== null && endAt === strokeEndAt) {
      state.lastStrokeLatencyMs = performance.now() - endAt;
      strokeEndAt = null;
    }
    if (state.error) {
      state.error = null;
      setStatus(readyText());
    }
  } catch (err) {
    // Give up on this drawing state (no retry every frame); the next change of the drawing tries again.
    state.guessedVersion = version;
    state.error = String(err?.message || err);
    setStatus(`Could not guess: ${state.error}`, true);
  } finally {
    busy = false;
    if (again || state.version !== state.guessedVersion) {
      again = false;
      if (!scheduled) { scheduled = true; requestAnimationFrame(guessNow); }
    }
  }
}

const pad = new InkPad($("ink-canvas"), {
  onChange(reason, at) {
    if (reason === "stroke-end") strokeEndAt = at;
    const empty = pad.isEmpty;
    $("undo").disabled = empty || pad.isDrawing;
    $("clear").disabled = empty;
    $("pad-hint").classList.toggle("gone", !empty);
    if (writing.active && reason === "move") return; // a writing pad guesses once a stroke is done
    requestGuess();
  },
});
const writing = new WritingPad(document.querySelector(".board .tabs"), { onPick: () => pad.clear() });

// What the "Teach me" panel (teach.js) may read and do.
const teachHooks = {
  get model() { return state.model; },
  /** The drawing on the pad right now (not the last one guessed): its raw strokes and the model's input. */
  drawing: () => {
    const strokes = pad.rawStrokes();
    return { strokes, pixels: modelInput(strokes, modelInfo(state.model)).pixels };
  },
  infer: (pixels, id) => state.infer(pixels, id),
  modelInfo: (id) => modelInfo(id),
  clear: () => pad.clear(),
  refresh: () => requestGuess(),
};

$("undo").addEventListener("click", () => pad.undo());
$("clear").addEventListener("click", () => pad.clear());
document.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") { e.preventDefault(); pad.undo(); }
  else if (e.key === "Escape") pad.clear();
});

// ---------------------------------------------------------------- tabs
const tabs = [...document.querySelectorAll(".tabs [role=tab]")];
function selectTab(tab) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute("aria-controls")).hidden = !on;
  }
}
for (const t of tabs) {
  t.addEventListener("click", () => selectTab(t));
  t.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const next = tabs[(tabs.indexOf(t) + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    selectTab(next);
    next.focus();
  });
}

// ---------------------------------------------------------------- upload a picture
let uploads = 0; // a newer upload supersedes one still being read

async function upload(file) {
  if (!file) return;
  const note = $("upload-note");
  const preview = $("upload-preview");
  const mine = ++uploads;
  preview.src = URL.createObjectURL(file);
  preview.alt = `The uploaded picture: ${file.name || "pasted image"}`;
  preview.hidden = false;
  if (state.backend === "wasm") {
    note.textContent = "Reading the picture…";
    try {
      const id = state.model;
      const info = modelInfo(id);
      // the same framing parameters the server takes from the model's metadata
      const pixels = await pictureToModelInput(file, info.input.size, info.preprocessing);
      if (mine !== uploads) return;
      if (!pixels.some((v) => v > 0)) throw new Error("no ink was found in the picture");
      state.lastInput = pixels;
      renderInput(pixels, info.input.size);
      const out = await (await session(id)).run(pixels);
      const { ms } = out;
      if (mine !== uploads) return;
      const { predictions: preds, notSure } = judge(info, out, top());
      renderNotSure(notSure === true);
      state.lastInferenceMs = ms;
      state.lastPredictions = preds;
      renderGuesses(preds);
      note.textContent = `Recognised in this browser in ${ms.toFixed(1)} ms; the picture did not leave it.`;
    } catch (err) {
      if (mine === uploads) note.textContent = `Could not read this picture: ${err?.message || err}`;
    }
    return;
  }
  if (!api) {
    note.textContent = "Recognising pictures needs the inkrec server (this copy of the page is static).";
    return;
  }
  note.textContent = "Sending the picture to the server…";
  try {
    const r = await api.predictImage(state.model, file, top());
    state.lastPredictions = r.predictions;
    renderGuesses(r.predictions);
    note.textContent = `The server answered in ${r.ms.toFixed(1)} ms (${r.roundTripMs.toFixed(0)} ms round trip).`;
  } catch (err) {
    note.textContent = `The server could not read this picture: ${err.message}`;
  }
}
$("upload-file").addEventListener("change", (e) => upload(e.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  upload(e.dataTransfer.files[0]);
});
document.addEventListener("paste", (e) => {
  const item = [...(e.clipboardData?.items || [])].find((i) => i.type.startsWith("image/"));
  if (item) { selectTab($("tab-upload")); upload(item.getAsFile()); }
});

// ---------------------------------------------------------------- models
function fmtMetric(key, v) {
  if (typeof v !== "number") return null;
  return key.includes("top") || key.includes("acc") ? `${(v * 100).toFixed(1)}%` : v.toFixed(3);
}

function showModelFacts(info) {
  const facts = $("facts");
  facts.replaceChildren();
  const add = (k, v) => {
    if (v === null || v === undefined || v === "") return;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    facts.append(dt, dd);
  };
  add("Classes", String(info.labels.length));
  const metrics = info.metrics?.test || info.metrics || {};
  for (const [k, v] of Object.entries(metrics)) {
    const s = fmtMetric(k, v);
    if (s && /top|acc/.test(k)) add(`Test ${k.replace(/_/g, " ")}`, s);
  }
  add("Runs", state.backend === "wasm"
    ? `in this browser (WebAssembly, ${state.threads} thread${state.threads === 1 ? "" : "s"})`
    : "on the inkrec server");
  add("Model time", "–");
  facts.lastElementChild.id = "model-time";
  $("attribution").textContent = info.attribution || "";
}

function readyText() {
  const id = state.model;
  return state.backend === "wasm" ? `Ready: ${id} runs in your browser.` : `Ready: ${id} runs on the server.`;
}

async function useModel(id) {
  const info = modelInfo(id);
  if (state.backend === "wasm") {
    setStatus(`Loading ${id}…`);
    await session(id);
  }
  state.model = id; // only now: until the new model is loaded, the old one keeps guessing
  state.layout = info.layout === "writing" ? "writing" : "drawing";
  writing.setActive(state.layout === "writing");
  await teachHooks.onModel?.(id);
  setStatus(readyText());
  showModelFacts(info);
  requestGuess();
  lineMode?.refresh();
}

$("model-picker").addEventListener("change", async (e) => {
  const picker = e.target;
  picker.disabled = true;
  const t0 = performance.now();
  try {
    await useModel(picker.value);
    state.switchMs = performance.now() - t0;
  } catch (err) {
    setStatus(`Could not load ${picker.value}: ${err.message}`, true);
  } finally {
    picker.disabled = false;
  }
});

/**
 * Let the JavaScript engine optimise the ink code before the first real stroke: its first few dozen
 * calls run unoptimised and take ~10x longer. Done in idle time after start-up, a slice at a time.
 */
function warmUpInk(size) {
  const stroke = (cx, cy, r, n) => {
    const xs = [], ys = [], ts = [];
    for (let i = 0; i <= n; i++) {
      const a = (i / n) * 5 * Math.PI;
      xs.push(cx + r * (0.4 + i / n) * Math.cos(a));
      ys.push(cy + r * (0.4 + i / n) * Math.sin(a));
      ts.push(i * 16);
    }
    return [xs, ys, ts];
  };
  const raw = [stroke(200, 200, 120, 60), [[80, 320], [60, 340], [0, 30]], stroke(300, 120, 40, 20)];
  let runs = 0;
  const slice = (deadline) => {
    while (runs < 40 && deadline.timeRemaining() > 4) {
      rasterize(simplify(raw), size);
      runs += 1;
    }
    if (runs < 40) schedule(slice);
  };
  const schedule = (fn) => (window.requestIdleCallback
    ? requestIdleCallback(fn, { timeout: 2000 })
    : setTimeout(() => fn({ timeRemaining: () => 8 }), 50));
  schedule(slice);
}

async function start() {
  manifest = await manifestPromise;
  const usable = manifest.models.filter((m) => m.input?.kind === "bitmap" && Number.isInteger(m.input?.size));
  if (!usable.length) {
    throw new Error(manifest.message || "no model that takes drawings is loaded");
  }
  manifest.models = usable;
  state.models = usable.map((m) => m.id);
  if (manifest.api) api = new ApiClient(document.baseURI); // the API lives beside the page
  const picker = $("model-picker");
  picker.replaceChildren(...usable.map((m) => {
    const o = document.createElement("option");
    o.value = m.id;
    o.textContent = `${m.id} (${m.labels.length} classes)`;
    return o;
  }));
  const first = usable.find((m) => m.id === params.get("model")) || usable[0];
  picker.value = first.id;
  state.model = first.id;
  state.layout = first.layout === "writing" ? "writing" : "drawing"; // known before the page says it is ready
  writing.setActive(state.layout === "writing");

  state.backend = canWasm ? "wasm" : "api";
  if (canWasm) {
    try {
      state.threads = threads;
      await session(first.id);
    } catch (err) {
      if (!api) throw err;
      console.warn("in-browser model failed, asking the server instead:", err);
      state.backend = "api";
    }
  }
  if (state.backend === "api") {
    if (!api) throw new Error("this browser cannot run WebAssembly and there is no server to ask");
    state.threads = null;
  }
  $("privacy").textContent = state.backend === "api"
    ? "This browser cannot run the model itself, so drawings and pictures are sent to the inkrec server to be recognised."
    : "Drawings and pictures are recognised in this browser by ONNX Runtime Web.";
  picker.disabled = false;
  if (state.backend === "wasm") await mountTeach(teachHooks);
  lineMode = new LineMode($("panel-line"), {
    info: () => modelInfo(state.model),
    run: async (pixels) => (await session(state.model)).run(pixels),
    backend: () => state.backend,
  });
  state.line = lineMode.state;
  await useModel(first.id);
  // ready only now: the model, its layout, the taught classes and the line reader are all in place
  state.isReady = true;
  state.readyMs = performance.now();
  performance.mark("inkrec:ready");
  document.body.dataset.ready = "true";
  document.body.dataset.backend = state.backend;
  renderGuesses([]);
  warmUpInk(first.input.size);
}

renderGuesses([]);
state.ready = start().catch((err) => {
  state.error = String(err?.message || err);
  setStatus(`The page cannot guess: ${state.error}`, true);
  document.body.dataset.ready = "error";
  throw err;
});
state.ready.catch(() => {});
