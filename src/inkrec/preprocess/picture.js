// picture.js - the JavaScript twin of inkrec's picture preprocessing (src/inkrec/data/images.py), so
// that a page without a server (a static copy, `inkrec export RUN --web DIR`) reads an uploaded picture
// exactly as `POST /v1/predict` would. An ES module without dependencies, for node and the browser.
//
//   normalizeInk(grey, w, h)            grey Uint8Array (row-major) -> white ink on black, contrast
//                                       stretched (normalize_ink)
//   toModelInput(ink, w, h, size, opts) white-on-black ink -> Uint8Array(size * size) framed like the
//                                       Quick, Draw! bitmaps (to_model_input)
//   framingOf(preprocessing)            the model metadata's parameters that to_model_input takes
//   decodePicture(blob, opts)           (browser only) a picture file -> {grey, width, height}
//   pictureToModelInput(blob, size, preprocessing)  all of the above (image_to_model_input)
//
// The steps repeat the Python code operation for operation: float32 where numpy works in float32
// (every such result goes through Math.fround), Pillow's resampling in its own 8-bit fixed point, and
// numpy's rounding (half to even). A model was trained on what the Python code produces, so any drift
// here is a drift in what the model sees; tests/preprocess/test_picture_js_parity.py measures it on real
// pictures. Read the Python module for the why of each step; the comments here say what differs.

import { roundHalfEven } from "./ink.js"; // numpy.round: ties to even

const f32 = Math.fround;

// Pillow's limits, as in inkrec.preprocess.pictures: refused from the header, before any pixel is decoded.
export const DEFAULT_MAX_PIXELS = 40_000_000;
export const QUICKDRAW_FRAME = Object.freeze({ canvas: 256, line_diameter: 16, padding: 16 });
// the percentile of inked pixels stretched to full white (pictures.INK_WHITE_PERCENTILE: why 85, not 99)
export const INK_WHITE_PERCENTILE = 85;
// The keyword arguments of to_model_input that a model's metadata may set (preprocess.batch._FRAME_KEYS).
const FRAMING_KEYS = ["canvas", "line_diameter", "padding", "supersample", "crisp"];

function checkGrey(grey, w, h, what) {
  if (!ArrayBuffer.isView(grey) || !Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1 || grey.length !== w * h) {
    throw new TypeError(`${what} takes a grey image: a typed array of width * height values`);
  }
}

// ------------------------------------------------------------------------------------------------
// numpy statistics (float32 inputs)

// np.median of float32 values: the middle one, or the float32 mean of the two middle ones
function median(values) {
  const a = Float32Array.from(values).sort();
  const n = a.length;
  const m = n >> 1;
  return n % 2 ? a[m] : f32(f32(a[m - 1] + a[m]) / 2);
}

// np.percentile(values, q), method "linear"; `sorted` is ascending
function percentileSorted(sorted, q) {
  const n = sorted.length;
  const idx = (q / 100) * (n - 1);
  const lo = Math.floor(idx);
  const hi = Math.min(lo + 1, n - 1);
  const g = idx - lo;
  const a = sorted[lo];
  const b = sorted[hi];
  const d = b - a;
  return g >= 0.5 ? b - d * (1 - g) : a + d * g;
}

// ------------------------------------------------------------------------------------------------
// Pillow's resampling (libImaging/Resample.c, Reduce.c)

const PRECISION_BITS = 22; // 32 - 8 - 2
const FILTERS = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0) },
  bilinear: { support: 1.0, fn: (x) => { const a = Math.abs(x); return a < 1.0 ? 1.0 - a : 0.0; } },
};

// precompute_coeffs: for each output pixel, the first input pixel and normalised filter weights
function coeffs(inSize, outSize, filter) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1.0);
  const support = filter.support * filterscale;
  const bounds = new Int32Array(outSize * 2);
  const weights = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1.0 / filterscale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const k = new Float64Array(Math.max(xmax, 0));
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    if (ww !== 0.0) for (let x = 0; x < xmax; x++) k[x] /= ww;
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
    weights.push(k);
  }
  return { bounds, weights };
}

// normalize_coeffs_8bpc: weights in 22-bit fixed point
function fixedWeights(weights) {
  return weights.map((k) => Int32Array.from(k, (v) => Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS))));
}

// clip8 of a fixed-point sum that started at half a unit (the rounding)
function clip8(ss) {
  if (ss >= 2 ** (PRECISION_BITS + 8)) return 255;
  if (ss <= 0) return 0;
  return Math.floor(ss / 2 ** PRECISION_BITS);
}

/**
 * Pillow's Image.resize(( outW, outH), BOX | BILINEAR) of an 8-bit grey image ("L"): separable,
 * horizontal pass first, each pass rounded back to 8 bits, as ImagingResample does.
 */
export function resizeL(src, w, h, outW, outH, filterName) {
  checkGrey(src, w, h, "resizeL");
  const filter = FILTERS[filterName];
  if (!filter) throw new RangeError(`unknown filter ${filterName}`);
  let img = Uint8Array.from(src);
  let curW = w;
  if (outW !== w) {
    const { bounds, weights } = coeffs(w, outW, filter);
    const kk = fixedWeights(weights);
    const out = new Uint8Array(outW * h);
    for (let y = 0; y < h; y++) {
      const row = y * w;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[2 * xx];
        const xmax = bounds[2 * xx + 1];
        const k = kk[xx];
        let ss = 1 << (PRECISION_BITS - 1);
        for (let x = 0; x < xmax; x++) ss += img[row + xmin + x] * k[x];
        out[y * outW + xx] = clip8(ss);
      }
    }
    img = out;
    curW = outW;
  }
  if (outH !== h) {
    const { bounds, weights } = coeffs(h, outH, filter);
    const kk = fixedWeights(weights);
    const out = new Uint8Array(curW * outH);
    for (let yy = 0; yy < outH; yy++) {
      const ymin = bounds[2 * yy];
      const ymax = bounds[2 * yy + 1];
      const k = kk[yy];
      for (let x = 0; x < curW; x++) {
        let ss = 1 << (PRECISION_BITS - 1);
        for (let y = 0; y < ymax; y++) ss += img[(ymin + y) * curW + x] * k[y];
        out[yy * curW + x] = clip8(ss);
      }
    }
    img = out;
  }
  return img;
}

/** Pillow's Image.resize of a float32 image ("F"), BILINEAR: the same weights, in float64, no rounding. */
function resizeF(src, w, h, outW, outH) {
  const filter = FILTERS.bilinear;
  let img = Float32Array.from(src);
  let curW = w;
  if (outW !== w) {
    const { bounds, weights } = coeffs(w, outW, filter);
    const out = new Float32Array(outW * h);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[2 * xx];
        const k = weights[xx];
        let ss = 0.0;
        for (let x = 0; x < k.length; x++) ss += img[y * w + xmin + x] * k[x];
        out[y * outW + xx] = ss;
      }
    }
    img = out;
    curW = outW;
  }
  if (outH !== h) {
    const { bounds, weights } = coeffs(h, outH, filter);
    const out = new Float32Array(curW * outH);
    for (let yy = 0; yy < outH; yy++) {
      const ymin = bounds[2 * yy];
      const k = weights[yy];
      for (let x = 0; x < curW; x++) {
        let ss = 0.0;
        for (let y = 0; y < k.length; y++) ss += img[(ymin + y) * curW + x] * k[y];
        out[yy * curW + x] = ss;
      }
    }
    img = out;
  }
  return img;
}

/** Pillow's Image.reduce(n) of an 8-bit grey image whose sides are multiples of n: the rounded box mean. */
export function reduceL(src, w, h, n) {
  checkGrey(src, w, h, "reduceL");
  if (w % n || h % n) throw new RangeError("reduceL takes sides that are multiples of the factor");
  const ow = w / n;
  const oh = h / n;
  // Reduce.c: ((sum + n*n/2) * multiplier) >> 24, multiplier = 2^32 / (256 n^2) truncated
  const multiplier = Math.trunc(4294967296 / (256 * n * n));
  const amend = Math.floor((n * n) / 2);
  const out = new Uint8Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let ss = amend;
      for (let dy = 0; dy < n; dy++) {
        const row = (y * n + dy) * w + x * n;
        for (let dx = 0; dx < n; dx++) ss += src[row + dx];
      }
      out[y * ow + x] = Math.floor((ss * multiplier) / 16777216);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// normalize_ink (mirrors inkrec.preprocess.pictures.normalize_ink)

function border(g, w, h) {
  const k = Math.max(1, roundHalfEven(Math.min(h, w) * 0.03));
  const out = [];
  for (let y = 0; y < Math.min(k, h); y++) for (let x = 0; x < w; x++) out.push(g[y * w + x]);
  for (let y = Math.max(h - k, 0); y < h; y++) for (let x = 0; x < w; x++) out.push(g[y * w + x]);
  for (let y = 0; y < h; y++) for (let x = 0; x < Math.min(k, w); x++) out.push(g[y * w + x]);
  for (let y = 0; y < h; y++) for (let x = Math.max(w - k, 0); x < w; x++) out.push(g[y * w + x]);
  return Float32Array.from(out);
}

// _background_surface: cell medians, a 3x3 median over cells, bilinear back to full size
function backgroundSurface(g, w, h, cells = 16) {
  const edges = (n) => Array.from({ length: cells + 1 }, (_, i) => (i === cells ? n : Math.trunc(i * (n / cells))));
  const ys = edges(h);
  const xs = edges(w);
  const grid = new Float32Array(cells * cells);
  for (let i = 0; i < cells; i++) {
    for (let j = 0; j < cells; j++) {
      const cell = [];
      for (let y = ys[i]; y < ys[i + 1]; y++) for (let x = xs[j]; x < xs[j + 1]; x++) cell.push(g[y * w + x]);
      grid[i * cells + j] = cell.length ? median(cell) : NaN;
    }
  }
  const at = (i, j) => grid[Math.min(Math.max(i, 0), cells - 1) * cells + Math.min(Math.max(j, 0), cells - 1)];
  const smooth = new Float32Array(cells * cells);
  for (let i = 0; i < cells; i++) {
    for (let j = 0; j < cells; j++) {
      const nine = [];
      for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) nine.push(at(i + di, j + dj));
      smooth[i * cells + j] = median(nine);
    }
  }
  return resizeF(smooth, cells, cells, w, h);
}

/** normalize_ink: any grey picture of ink -> Uint8Array of white ink on black, stretched to full contrast. */
export function normalizeInk(grey, w, h) {
  checkGrey(grey, w, h, "normalizeInk");
  const n = w * h;
  const g = Float32Array.from(grey);
  const b = border(g, w, h).sort();
  const bgLevel = median(b);
  const spread = percentileSorted(b, 90) - percentileSorted(b, 10);
  const background = Math.min(h, w) >= 96 && spread > 24 ? backgroundSurface(g, w, h) : null;
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) r[i] = f32(g[i] - (background ? background[i] : bgLevel));
  const mr = median(r);
  const dev = new Float32Array(n);
  for (let i = 0; i < n; i++) dev[i] = Math.abs(f32(r[i] - mr));
  const sigma = 1.4826 * median(dev);
  const t = Math.max(6.0, 3.0 * sigma);
  const t32 = f32(t);
  let light = 0;
  let dark = 0;
  for (let i = 0; i < n; i++) {
    light += Math.max(f32(r[i] - t32), 0);
    dark += Math.max(f32(-r[i] - t32), 0);
  }
  const sign = light >= dark ? 1 : -1;
  const ink = new Float32Array(n);
  const positive = [];
  for (let i = 0; i < n; i++) {
    const v = sign * r[i];
    ink[i] = v > t32 ? v : 0;
    if (ink[i] > 0) positive.push(ink[i]);
  }
  const out = new Uint8Array(n);
  if (!positive.length) return out;
  const hi = percentileSorted(Float32Array.from(positive).sort(), INK_WHITE_PERCENTILE);
  const scale = f32(Math.max(1.0, 255.0 / Math.max(hi, 1.0)));
  for (let i = 0; i < n; i++) out[i] = roundHalfEven(Math.min(Math.max(f32(ink[i] * scale), 0), 255));
  return out;
}

// ------------------------------------------------------------------------------------------------
// to_model_input (mirrors inkrec.preprocess.pictures.to_model_input)

/** ink_bbox: [top, bottom, left, right] (exclusive ends) of the ink, or null for a blank picture. */
export function inkBbox(ink, w, h, threshold = 0.2, trim = 0.001) {
  let top = 0;
  for (let i = 0; i < ink.length; i++) if (ink[i] > top) top = ink[i];
  if (top <= 0) return null;
  const cut = f32(threshold * top);
  const rows = new Float64Array(h);
  const cols = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = ink[y * w + x];
      if (v >= cut) { rows[y] += v; cols[x] += v; }
    }
  }
  let total = 0;
  for (let y = 0; y < h; y++) total += rows[y];
  total = f32(total);
  if (total <= 0) return null;
  // np.cumsum (float32) / total, then searchsorted (which compares in float64): the first index with
  // c > trim, and the first with c >= 1 - trim
  const span = (profile) => {
    let cum = 0;
    let lo = profile.length;
    let hi = profile.length;
    for (let i = 0; i < profile.length; i++) {
      cum = f32(cum + profile[i]);
      const c = f32(cum / total);
      if (lo === profile.length && c > trim) lo = i;
      if (hi === profile.length && c >= 1.0 - trim) hi = i;
    }
    return [lo, Math.max(hi + 1, lo + 1)];
  };
  const [t, b] = span(rows);
  const [l, r] = span(cols);
  return [t, b, l, r];
}

/** stroke_width: typical stroke width in pixels, 2 x ink mass / perimeter of the thresholded ink. */
export function strokeWidth(ink, w, h, threshold = 0.35) {
  let top = 0;
  let sum = 0;
  for (let i = 0; i < ink.length; i++) {
    if (ink[i] > top) top = ink[i];
    sum += ink[i];
  }
  if (top <= 0) return 0.0;
  const cut = f32(threshold * top);
  const on = (y, x) => (y >= 0 && y < h && x >= 0 && x < w && ink[y * w + x] >= cut ? 1 : 0);
  let perimeter = 0;
  for (let y = -1; y < h; y++) for (let x = 0; x < w; x++) if (on(y, x) !== on(y + 1, x)) perimeter++;
  for (let y = 0; y < h; y++) for (let x = -1; x < w; x++) if (on(y, x) !== on(y, x + 1)) perimeter++;
  const mass = f32(sum) / top;
  return (2.0 * mass) / Math.max(perimeter / 1.2, 1.0);
}

function diskOffsets(radius) {
  const r = Math.trunc(radius);
  const out = [];
  for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dy * dy + dx * dx <= r * r + r) out.push([dy, dx]);
  return out;
}

// _morph: grey dilation (max) or erosion (min) with a disk, zeros outside
function morph(a, side, radius, dilate) {
  const out = Float32Array.from(a);
  for (const [dy, dx] of diskOffsets(radius)) {
    for (let y = 0; y < side; y++) {
      const sy = y + dy;
      for (let x = 0; x < side; x++) {
        const sx = x + dx;
        const v = sy >= 0 && sy < side && sx >= 0 && sx < side ? a[sy * side + sx] : 0;
        const i = y * side + x;
        out[i] = dilate ? Math.max(out[i], v) : Math.min(out[i], v);
      }
    }
  }
  return out;
}

function morphFractional(a, side, radius, dilate) {
  const r0 = Math.floor(radius);
  const frac = radius - r0;
  const lo = r0 ? morph(a, side, r0, dilate) : a;
  if (frac < 1e-3) return lo;
  const hi = morph(a, side, r0 + 1, dilate);
  const wl = f32(1.0 - frac);
  const wh = f32(frac);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = f32(f32(wl * lo[i]) + f32(wh * hi[i]));
  return out;
}

/** to_model_input: white-on-black ink (Uint8Array w*h) -> Uint8Array(size*size) framed like Quick, Draw!. */
export function toModelInput(ink, w, h, size, opts = {}) {
  checkGrey(ink, w, h, "toModelInput");
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  const canvas = opts.canvas ?? QUICKDRAW_FRAME.canvas;
  const lineDiameter = opts.line_diameter === undefined ? QUICKDRAW_FRAME.line_diameter : opts.line_diameter;
  const padding = opts.padding ?? QUICKDRAW_FRAME.padding;
  const supersample = opts.supersample ?? 4;
  const crisp = opts.crisp ?? true;
  const box = inkBbox(ink, w, h);
  if (box === null) return new Uint8Array(size * size);
  const [top, bottom, left, right] = box;
  const ch = bottom - top;
  const cw = right - left;
  const crop = new Uint8Array(ch * cw);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) crop[y * cw + x] = ink[(top + y) * w + left + x];
  const widthSrc = strokeWidth(crop, cw, ch);
  const totalUnits = canvas + 2 * padding + (lineDiameter || 0);
  const big = size * supersample;
  const pxPerUnit = big / totalUnits;
  const centreSrc = Math.max(Math.max(ch, cw) - widthSrc, 1.0);
  const scale = ((canvas - 1) * pxPerUnit) / centreSrc;
  const newH = Math.max(1, roundHalfEven(ch * scale));
  const newW = Math.max(1, roundHalfEven(cw * scale));
  const scaled8 = resizeL(crop, cw, ch, newW, newH, scale < 1 ? "box" : "bilinear");
  let scaled = Float32Array.from(scaled8);
  const widthNow = widthSrc * scale;
  if (widthNow > 0 && widthNow < 1) {
    const d = f32(Math.max(widthNow, 0.25));
    scaled = scaled.map((v) => Math.min(f32(v / d), 255.0));
  }
  let delta = 0.0;
  if (lineDiameter) {
    delta = lineDiameter * pxPerUnit - Math.max(widthNow, 1.0);
    if (delta > -2.0 && delta < 0.5) delta = 0.0;
  }
  const pad = Math.ceil(Math.abs(delta) / 2.0) + 1;
  const side = big + 2 * pad;
  let work = new Float32Array(side * side);
  const oy = pad + roundHalfEven((big - newH) / 2);
  const ox = pad + roundHalfEven((big - newW) / 2);
  for (let y = Math.max(oy, 0); y < Math.min(oy + newH, side); y++) {
    for (let x = Math.max(ox, 0); x < Math.min(ox + newW, side); x++) work[y * side + x] = scaled[(y - oy) * newW + (x - ox)];
  }
  if (delta) work = morphFractional(work, side, Math.abs(delta) / 2.0, delta > 0);
  const k = f32(255.0 / 100.0);
  const px = new Uint8Array(big * big);
  for (let y = 0; y < big; y++) {
    for (let x = 0; x < big; x++) {
      let v = work[(y + pad) * side + x + pad];
      if (crisp) v = Math.min(Math.max(f32(f32(v - 80.0) * k), 0), 255);
      px[y * big + x] = roundHalfEven(Math.min(Math.max(v, 0), 255));
    }
  }
  return supersample > 1 ? reduceL(px, big, big, supersample) : px;
}

/** The model metadata's `preprocessing` entries that to_model_input takes (as the server passes them). */
export function framingOf(preprocessing) {
  const pre = preprocessing || {};
  const out = {};
  for (const key of FRAMING_KEYS) if (key in pre) out[key] = pre[key];
  return out;
}

// ------------------------------------------------------------------------------------------------
// decoding (browser only; mirrors decode_image and _to_grey)

/** Width and height from a PNG, GIF, BMP, JPEG or WebP header, or null: read before any decoding. */
export function headerSize(bytes) {
  const b = bytes;
  const u16be = (i) => (b[i] << 8) | b[i + 1];
  const u16le = (i) => b[i] | (b[i + 1] << 8);
  const u32be = (i) => ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
  const u32le = (i) => ((b[i + 3] << 24) >>> 0) + ((b[i + 2] << 16) | (b[i + 1] << 8) | b[i]);
  const ascii = (i, n) => String.fromCharCode(...b.subarray(i, i + n));
  if (b.length >= 24 && b[0] === 0x89 && ascii(1, 3) === "PNG") return [u32be(16), u32be(20)];
  if (b.length >= 10 && ascii(0, 3) === "GIF") return [u16le(6), u16le(8)];
  if (b.length >= 26 && ascii(0, 2) === "BM") return [Math.abs(u32le(18) | 0), Math.abs(u32le(22) | 0)];
  if (b.length >= 30 && ascii(0, 4) === "RIFF" && ascii(8, 4) === "WEBP") {
    const kind = ascii(12, 4);
    if (kind === "VP8X") return [1 + (b[24] | (b[25] << 8) | (b[26] << 16)), 1 + (b[27] | (b[28] << 8) | (b[29] << 16))];
    if (kind === "VP8L") { const v = u32le(21); return [1 + (v & 0x3fff), 1 + ((v >>> 14) & 0x3fff)]; }
    if (kind === "VP8 ") return [u16le(26) & 0x3fff, u16le(28) & 0x3fff];
    return null;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) { i++; continue; }
      const marker = b[i + 1];
      if (marker === 0xff) { i++; continue; }
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return [u16be(i + 7), u16be(i + 5)];
      }
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { i += 2; continue; }
      i += 2 + u16be(i + 2);
    }
  }
  return null;
}

/** _to_grey for RGBA pixels: Pillow's "L" (ITU-R 601-2 in 16-bit fixed point), transparency composited
 * onto a ground that contrasts with the ink. */
export function rgbaToGrey(rgba, w, h) {
  const n = w * h;
  const lum = new Uint8Array(n);
  let translucent = false;
  for (let i = 0; i < n; i++) {
    lum[i] = (rgba[4 * i] * 19595 + rgba[4 * i + 1] * 38470 + rgba[4 * i + 2] * 7471 + 0x8000) >>> 16;
    if (rgba[4 * i + 3] < 255) translucent = true;
  }
  if (!translucent) return lum;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) if (rgba[4 * i + 3] / 255 > 0.5) { sum += lum[i]; count++; }
  const inkLum = count ? f32(sum / count) : 0;
  const ground = inkLum < 128 ? 255 : 0;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = f32(rgba[4 * i + 3] / 255);
    out[i] = roundHalfEven(Math.min(Math.max(f32(f32(lum[i] * a) + f32(ground * f32(1 - a))), 0), 255));
  }
  return out;
}

/**
 * A picture file (Blob) -> {grey, width, height}, as decode_image reads it: the pixel count checked from
 * the header before decoding, EXIF rotation applied, no colour management (Pillow applies none), and a
 * picture larger than `maxSide` shrunk to fit. Pillow shrinks JPEGs while decoding (DCT scaling) and then
 * box-filters; the browser's own downscale stands in for both, so very large photos may differ by a level
 * here and there, which the normalising and framing that follow absorb.
 */
export async function decodePicture(blob, { maxPixels = DEFAULT_MAX_PIXELS, maxSide = null } = {}) {
  const head = new Uint8Array(await blob.slice(0, 1 << 16).arrayBuffer());
  const dims = headerSize(head);
  if (dims && dims[0] * dims[1] > maxPixels) {
    throw new RangeError(`the picture is ${dims[0]}×${dims[1]} = ${(dims[0] * dims[1] / 1e6).toFixed(1)} megapixels, `
      + `more than the limit of ${(maxPixels / 1e6).toFixed(1)} megapixels`);
  }
  if (!dims && blob.size > 64 * 1024 * 1024) throw new RangeError("the picture is too large to read");
  const options = { imageOrientation: "from-image", colorSpaceConversion: "none", premultiplyAlpha: "none" };
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, options);
  } catch {
    throw new TypeError("not a picture this browser can read (PNG, JPEG, GIF, BMP or WebP)");
  }
  let w = bitmap.width;
  let h = bitmap.height;
  if (w * h > maxPixels) { bitmap.close(); throw new RangeError(`the picture is ${w}×${h} pixels, more than ${maxPixels.toLocaleString()}`); }
  if (maxSide && Math.max(w, h) > maxSide) {
    // Image.thumbnail's size: the longer side becomes maxSide, the other keeps the aspect ratio
    const [tw, th] = w >= h ? [maxSide, Math.max(1, Math.round((h * maxSide) / w))] : [Math.max(1, Math.round((w * maxSide) / h)), maxSide];
    bitmap.close();
    bitmap = await createImageBitmap(blob, { ...options, resizeWidth: tw, resizeHeight: th, resizeQuality: "high" });
    w = tw;
    h = th;
  }
  const canvas = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(w, h) : Object.assign(document.createElement("canvas"), { width: w, height: h });
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, w, h).data;
  return { grey: rgbaToGrey(rgba, w, h), width: w, height: h };
}

/** image_to_model_input: a picture file -> the model's input, framed with the model's own parameters. */
export async function pictureToModelInput(blob, size, preprocessing, { maxPixels = DEFAULT_MAX_PIXELS } = {}) {
  const { grey, width, height } = await decodePicture(blob, { maxPixels, maxSide: Math.max(1024, 8 * size) });
  return toModelInput(normalizeInk(grey, width, height), width, height, size, framingOf(preprocessing));
}
