// Where the guesses come from: the model itself, run in this browser by ONNX Runtime Web (WebAssembly),
// or, when the browser cannot run WebAssembly, the inkrec server's POST /v1/predict.
//
// The runtime's scripts and its .wasm are our own files next to this one (no CDN): the page works offline.

const here = (path) => new URL(path, import.meta.url).href;

/**
 * The model list: the inkrec server's GET v1/models, or the models.json of a static copy of the page
 * (the static-site writer points the page's <meta name="inkrec-models"> at it).
 */
export async function loadManifest() {
  const where = document.querySelector('meta[name="inkrec-models"]')?.content || "v1/models";
  const url = new URL(where, document.baseURI).href;
  const r = await fetch(url, { headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(`no model list at ${url} (HTTP ${r.status})`);
  const body = await r.json();
  const models = Array.isArray(body) ? body : body.models;
  if (!Array.isArray(models)) throw new Error(`${url} holds no model list`);
  // A static copy has no server: no uploads, and no fallback when WebAssembly is missing.
  const api = !where.endsWith(".json");
  return { base: r.url, models, message: body.message || null, api };
}

export function softmax(logits) {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/**
 * The k most likely labels, most likely first; ties keep the lower index first (as the server's stable
 * argsort does). One pass with a small sorted buffer: a character model has 15,000 classes and a full
 * sort of them would cost more than the model's own run.
 */
export function topIndices(probs, k) {
  const n = Math.min(k, probs.length);
  const idx = [];
  for (let i = 0; i < probs.length; i++) {
    const v = probs[i];
    if (idx.length === n && !(v > probs[idx[n - 1]])) continue;
    let j = idx.length === n ? n - 1 : idx.length;
    while (j > 0 && v > probs[idx[j - 1]]) { idx[j] = idx[j - 1]; j--; }
    idx[j] = i;
  }
  return idx;
}

export function topK(probs, labels, k) {
  return topIndices(probs, k).map((i) => ({ label: labels[i] ?? String(i), probability: probs[i] }));
}

export function wasmAvailable() {
  try {
    return typeof WebAssembly === "object" && typeof WebAssembly.instantiate === "function"
      && WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  } catch {
    return false;
  }
}

/** How many wasm threads: several only where the page is cross-origin isolated (SharedArrayBuffer). */
export function chooseThreads(requested) {
  const isolated = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === "function";
  if (!isolated) return 1;
  if (Number.isInteger(requested) && requested > 0) return requested;
  return Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 2) / 2)));
}

// The smallest ONNX model there is (y = Identity(x), 67 bytes). Creating a session for it starts the
// runtime's wasm download, compile and set-up at once, while the page is still fetching the model list
// and the real model, instead of after them.
const WARM_UP_MODEL = "CAgSADo3ChAKAXgSAXkiCElkZW50aXR5EgFnWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQDQ==";

let ortPromise = null;
/** Start loading the runtime and compiling its wasm; call as early as possible, it is idempotent. */
export function loadOrt(threads) {
  if (!ortPromise) {
    ortPromise = import("./vendor/ort.wasm.min.js").then((ort) => {
      performance.mark("inkrec:runtime-script");
      ort.env.wasm.wasmPaths = {
        mjs: here("vendor/ort-wasm-simd-threaded.js"),
        wasm: here("vendor/ort-wasm-simd-threaded.wasm"),
      };
      ort.env.wasm.numThreads = threads;
      ort.env.wasm.proxy = false;
      // A hung start must not hang the page: give up and fall back to the server.
      ort.env.wasm.initTimeout = 15000;
      ort.env.logLevel = "error";
      const bytes = Uint8Array.from(atob(WARM_UP_MODEL), (c) => c.charCodeAt(0));
      // Wait for the wasm set-up: a runtime that cannot start must fail here, where the page falls back.
      return ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] }).then((s) => {
        performance.mark("inkrec:runtime-ready");
        s.release();
        return ort;
      });
    });
  }
  return ortPromise;
}

/** Runs one model in this browser. */
export class WasmModel {
  static async create(ort, info, bytes, mark = () => {}) {
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
    });
    mark("session-created");
    const m = new WasmModel(ort, info, session);
    await m.run(new Uint8Array(m.size * m.size)); // the first run allocates; do it before anyone waits
    mark("warmed-up");
    return m;
  }

  constructor(ort, info, session) {
    this.ort = ort;
    this.info = info;
    this.session = session;
    this.size = info.input.size;
    this.scale = typeof info.input.scale === "number" ? info.input.scale : 1 / 255;
    this.inputName = session.inputNames.includes("input") ? "input" : session.inputNames[0];
    this.outputName = session.outputNames.includes("logits") ? "logits" : session.outputNames[0];
    this.buffer = new Float32Array(this.size * this.size);
    this.tensor = new ort.Tensor("float32", this.buffer, [1, 1, this.size, this.size]);
  }

  /** @param {Uint8Array} pixels size*size, white ink on black; returns {probs, ms, logits, embedding} */
  async run(pixels) {
    const buf = this.buffer;
    const s = this.scale;
    for (let i = 0; i < buf.length; i++) buf[i] = pixels[i] * s;
    const t0 = performance.now();
    const out = await this.session.run({ [this.inputName]: this.tensor });
    const ms = performance.now() - t0;
    const logits = out[this.outputName].data;
    // files exported before the embedding output existed have none (they cannot be taught)
    const embedding = out.embedding ? out.embedding.data : null;
    return { probs: softmax(logits), ms, logits, embedding };
  }
}

/** Asks the inkrec server. Used when this browser cannot run WebAssembly, and for uploaded pictures. */
export class ApiClient {
  constructor(base) {
    this.url = new URL("v1/predict", base).href;
  }

  async predictStrokes(modelId, rawStrokes, topK = 5) {
    return this._post(JSON.stringify({ model: modelId, strokes: rawStrokes, top_k: topK }), {
      "Content-Type": "application/json",
    });
  }

  async predictImage(modelId, file, topK = 5) {
    const form = new FormData();
    form.append("file", file);
    form.append("model", modelId);
    form.append("top_k", String(topK));
    return this._post(form, {});
  }

  async _post(body, headers) {
    const t0 = performance.now();
    const r = await fetch(this.url, { method: "POST", body, headers: { Accept: "application/json", ...headers } });
    let data = null;
    try { data = await r.json(); } catch { /* not JSON */ }
    if (!r.ok) {
      const msg = data?.error?.message || data?.detail || `HTTP ${r.status}`;
      throw new Error(typeof msg === "string" ? msg : JSON.stringify(msg));
    }
    return { ...data, roundTripMs: performance.now() - t0 };
  }
}
