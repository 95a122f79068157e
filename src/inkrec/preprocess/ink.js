// ink.js - the JavaScript twin of inkrec's ink preprocessing (src/inkrec/preprocess/simplify.py and
// src/inkrec/preprocess/raster.py). An ES module without dependencies, for node and the browser.
//
//   simplify(rawStrokes)    raw [[x...], [y...], ([t...])] strokes -> Quick, Draw! "simplified"
//                           strokes [[x...], [y...]] (integers 0..255)
//   rasterize(strokes, size) simplified strokes -> Uint8Array(size * size), row-major, white ink on
//                           black: the Quick, Draw! numpy_bitmap rendering (cairo's pixels)
//
// Every step repeats the Python code operation for operation in float64 and exact integer
// arithmetic (all integers stay below 2^53), so both give the same points and the same pixels;
// tests/preprocess/test_js_parity.py checks it on real drawings. Read the Python modules for the why of each
// step; the comments here only say which Python function a function mirrors.

export const SCALE_MAX = 255.0;
export const EPSILON = 2.0;
const RESAMPLE_SPACING = 1.0;

const ORIGINAL_SIDE = 256.0;
const CAIRO_TOLERANCE = 0.1;
const GRID_Y = 15;
const COORD_CLAMP = 512.0;
export const MAX_SIZE = 512;

export const RASTER_PARAMS = Object.freeze({
  recipe: "quickdraw-vector_to_raster",
  coordinate_space: "simplified-0-255",
  original_side: 256,
  line_diameter: 16,
  padding: 16,
  centering: "bbox-max",
  cap: "round",
  join: "round",
  antialias: "cairo-best",
  foreground: 255,
  background: 0,
  dtype: "uint8",
});

// numpy.round / numba np.round: nearest integer, ties to even
export function roundHalfEven(v) {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return Math.abs(f % 2) === 0 ? f : f + 1;
}

function checkStrokes(strokes) {
  if (!Array.isArray(strokes)) throw new TypeError("strokes must be an array of [[x...], [y...](, [t...])]");
  const out = [];
  strokes.forEach((s, i) => {
    if (!Array.isArray(s) || s.length < 2 || !isArrayLike(s[0]) || !isArrayLike(s[1]) || s[0].length !== s[1].length) {
      throw new TypeError(`stroke ${i} must be [[x...], [y...](, [t...])] with rows of equal length`);
    }
    const n = s[0].length;
    const xs = new Float64Array(n);
    const ys = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const x = Number(s[0][k]);
      const y = Number(s[1][k]);
      if (!Number.isFinite(x) || !Number.isFinite(y)) throw new RangeError(`stroke ${i} has a coordinate that is not a finite number`);
      xs[k] = x;
      ys[k] = y;
    }
    out.push([xs, ys]);
  });
  return out;
}

function isArrayLike(a) {
  return Array.isArray(a) || ArrayBuffer.isView(a);
}

// ------------------------------------------------------------------------------------------------
// simplify (mirrors inkrec.preprocess.simplify)

function resample(x, y, n) {
  // _resample
  if (n === 1) return [[x[0], x[0]], [y[0], y[0]]];
  const cum = new Float64Array(n);
  for (let i = 1; i < n; i++) {
    const dx = x[i] - x[i - 1];
    const dy = y[i] - y[i - 1];
    cum[i] = cum[i - 1] + Math.sqrt(dx * dx + dy * dy);
  }
  const total = cum[n - 1];
  if (total === 0.0) return [[x[0], x[n - 1]], [y[0], y[n - 1]]];
  const rx = [];
  const ry = [];
  let j = 0;
  for (let k = 0; ; k++) {
    const t = k * RESAMPLE_SPACING;
    if (t >= total) break;
    while (cum[j + 1] <= t) j++;
    const span = cum[j + 1] - cum[j];
    const sx = (x[j + 1] - x[j]) / span;
    const sy = (y[j + 1] - y[j]) / span;
    rx.push(sx * (t - cum[j]) + x[j]);
    ry.push(sy * (t - cum[j]) + y[j]);
  }
  rx.push(x[n - 1]);
  ry.push(y[n - 1]);
  return [rx, ry];
}

function rdp(x, y, eps) {
  // rdp_keep
  const n = x.length;
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[n - 1] = 1;
  const stack = [0, n - 1];
  while (stack.length) {
    const b = stack.pop();
    const a = stack.pop();
    if (b <= a + 1) continue;
    const ax = x[a];
    const ay = y[a];
    const dx = x[b] - ax;
    const dy = y[b] - ay;
    const length = Math.sqrt(dx * dx + dy * dy);
    let best = -1.0;
    let bestI = -1;
    for (let i = a + 1; i < b; i++) {
      let d;
      if (length === 0.0) {
        const px = x[i] - ax;
        const py = y[i] - ay;
        d = Math.sqrt(px * px + py * py);
      } else {
        d = Math.abs(dx * (y[i] - ay) - dy * (x[i] - ax)) / length;
      }
      if (d > best) {
        best = d;
        bestI = i;
      }
    }
    if (best > eps) {
      keep[bestI] = 1;
      stack.push(a, bestI, bestI, b);
    }
  }
  return keep;
}

/** Raw strokes -> simplified strokes [[x...], [y...]] of integers (empty strokes dropped). */
export function simplify(rawStrokes, epsilon = EPSILON) {
  const strokes = checkStrokes(rawStrokes).filter(([xs]) => xs.length > 0);
  if (!strokes.length) throw new RangeError("the drawing has no points");
  let mnx = Infinity;
  let mny = Infinity;
  let mxx = -Infinity;
  let mxy = -Infinity;
  for (const [xs, ys] of strokes) {
    for (let i = 0; i < xs.length; i++) {
      mnx = Math.min(mnx, xs[i]);
      mny = Math.min(mny, ys[i]);
      mxx = Math.max(mxx, xs[i]);
      mxy = Math.max(mxy, ys[i]);
    }
  }
  let extent = Math.max(mxx - mnx, mxy - mny);
  if (extent <= 0.0) extent = Infinity;
  const out = [];
  for (const [xs, ys] of strokes) {
    const n = xs.length;
    const sx = new Float64Array(n);
    const sy = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sx[i] = ((xs[i] - mnx) * SCALE_MAX) / extent;
      sy[i] = ((ys[i] - mny) * SCALE_MAX) / extent;
    }
    const [rx, ry] = resample(sx, sy, n);
    const keep = rdp(rx, ry, epsilon);
    const ox = [];
    const oy = [];
    for (let i = 0; i < rx.length; i++) {
      if (keep[i]) {
        ox.push(roundHalfEven(rx[i]) + 0); // + 0 turns -0 into 0
        oy.push(roundHalfEven(ry[i]) + 0);
      }
    }
    out.push([ox, oy]);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// rasterize (mirrors inkrec.preprocess.raster)

function fixed(v) {
  // _fixed: cairo's 24.8 fixed point, ties to even
  return roundHalfEven(v * 256.0);
}

// floor division of integers (b > 0): [quotient, remainder 0 <= r < b]
function floorDivRem(a, b) {
  let q = Math.floor(a / b);
  let r = a - q * b;
  if (r < 0) {
    q -= 1;
    r += b;
  } else if (r >= b) {
    q += 1;
    r -= b;
  }
  return [q, r];
}

// C division (truncating) of integers (b > 0): [quotient, remainder with the sign of a]
function truncDivRem(a, b) {
  let q = Math.trunc(a / b);
  let r = a - q * b;
  if (a >= 0) {
    if (r < 0) {
      q -= 1;
      r += b;
    } else if (r >= b) {
      q += 1;
      r -= b;
    }
  } else if (r > 0) {
    q += 1;
    r -= b;
  } else if (r <= -b) {
    q -= 1;
    r += b;
  }
  return [q, r];
}

/** Vertices of cairo's polygonal pen at this size (pen_vertex_count). */
export function penVertexCount(size, lineDiameter = 16.0, padding = 16.0) {
  const scale = size / (ORIGINAL_SIDE + (padding * 2.0 + lineDiameter));
  const majorAxis = (lineDiameter / 2.0) * scale;
  if (CAIRO_TOLERANCE >= 4.0 * majorAxis) return 4;
  if (CAIRO_TOLERANCE >= majorAxis) return 4;
  const divisor = Math.acos(1.0 - CAIRO_TOLERANCE / majorAxis);
  let n = Math.ceil((2.0 * Math.PI) / divisor);
  if (n % 2) n += 1;
  return Math.max(n, 4);
}

function slopeCompare(adx, ady, bdx, bdy) {
  const lhs = ady * bdx;
  const rhs = bdy * adx;
  if (lhs < rhs) return -1;
  if (lhs > rhs) return 1;
  if (adx === 0 && ady === 0 && bdx === 0 && bdy === 0) return 0;
  if (adx === 0 && ady === 0) return 1;
  if (bdx === 0 && bdy === 0) return -1;
  if (adx < 0 !== bdx < 0 || ady < 0 !== bdy < 0) {
    if (adx > 0 || (adx === 0 && ady > 0)) return -1;
    return 1;
  }
  return 0;
}

function makePen(size, lineDiameter, padding) {
  // _pen and _pen_slopes
  const n = penVertexCount(size, lineDiameter, padding);
  const scale = size / (ORIGINAL_SIDE + (padding * 2.0 + lineDiameter));
  const radius = lineDiameter / 2.0;
  const pvx = new Float64Array(n);
  const pvy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const theta = (2.0 * Math.PI * i) / n;
    pvx[i] = fixed(scale * (radius * Math.cos(theta)));
    pvy[i] = fixed(scale * (radius * Math.sin(theta)));
  }
  const cwx = new Float64Array(n);
  const cwy = new Float64Array(n);
  const ccwx = new Float64Array(n);
  const ccwy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ip = i > 0 ? i - 1 : n - 1;
    const inx = i + 1 < n ? i + 1 : 0;
    cwx[i] = pvx[i] - pvx[ip];
    cwy[i] = pvy[i] - pvy[ip];
    ccwx[i] = pvx[inx] - pvx[i];
    ccwy[i] = pvy[inx] - pvy[i];
  }
  return { n, pvx, pvy, cwx, cwy, ccwx, ccwy };
}

function activeCw(pen, indx, indy, outdx, outdy) {
  const { n, cwx, cwy, ccwx, ccwy } = pen;
  let lo = 0;
  let hi = n;
  let i = (lo + hi) >> 1;
  for (;;) {
    if (slopeCompare(cwx[i], cwy[i], indx, indy) < 0) lo = i;
    else hi = i;
    i = (lo + hi) >> 1;
    if (hi - lo <= 1) break;
  }
  if (slopeCompare(cwx[i], cwy[i], indx, indy) < 0) {
    i += 1;
    if (i === n) i = 0;
  }
  const start = i;
  if (slopeCompare(outdx, outdy, ccwx[i], ccwy[i]) >= 0) {
    lo = i;
    hi = i + n;
    i = (lo + hi) >> 1;
    for (;;) {
      const j = i >= n ? i - n : i;
      if (slopeCompare(cwx[j], cwy[j], outdx, outdy) > 0) hi = i;
      else lo = i;
      i = (lo + hi) >> 1;
      if (hi - lo <= 1) break;
    }
    if (i >= n) i -= n;
  }
  return [start, i];
}

function activeCcw(pen, indx, indy, outdx, outdy) {
  const { n, cwx, cwy, ccwx, ccwy } = pen;
  let lo = 0;
  let hi = n;
  let i = (lo + hi) >> 1;
  for (;;) {
    if (slopeCompare(indx, indy, ccwx[i], ccwy[i]) < 0) lo = i;
    else hi = i;
    i = (lo + hi) >> 1;
    if (hi - lo <= 1) break;
  }
  if (slopeCompare(indx, indy, ccwx[i], ccwy[i]) < 0) {
    i += 1;
    if (i === n) i = 0;
  }
  const start = i;
  if (slopeCompare(cwx[i], cwy[i], outdx, outdy) <= 0) {
    lo = i;
    hi = i + n;
    i = (lo + hi) >> 1;
    for (;;) {
      const j = i >= n ? i - n : i;
      if (slopeCompare(outdx, outdy, ccwx[j], ccwy[j]) > 0) hi = i;
      else lo = i;
      i = (lo + hi) >> 1;
      if (hi - lo <= 1) break;
    }
    if (i >= n) i -= n;
  }
  return [start, i];
}

function addFan(pen, inDx, inDy, outDx, outDy, mx, my, clockwise, c) {
  // _add_fan; c = {x: [], y: []}
  const { n, pvx, pvy } = pen;
  if (clockwise) {
    let [start, stop] = activeCw(pen, inDx, inDy, outDx, outDy);
    while (start !== stop) {
      c.x.push(mx + pvx[start]);
      c.y.push(my + pvy[start]);
      start += 1;
      if (start === n) start = 0;
    }
  } else {
    let [start, stop] = activeCcw(pen, inDx, inDy, outDx, outDy);
    while (start !== stop) {
      c.x.push(mx + pvx[start]);
      c.y.push(my + pvy[start]);
      if (start === 0) start = n - 1;
      else start -= 1;
    }
  }
}

function normalize(dx, dy) {
  if (dx === 0.0) return [0.0, dy > 0.0 ? 1.0 : -1.0];
  if (dy === 0.0) return [dx > 0.0 ? 1.0 : -1.0, 0.0];
  const mag = Math.sqrt(dx * dx + dy * dy);
  return [dx / mag, dy / mag];
}

function faceOffset(dx, dy, scale, halfWidth) {
  // _face_offset
  let [sx, sy] = normalize(dx / 256.0, dy / 256.0);
  const inv = 1.0 / scale;
  [sx, sy] = normalize(inv * sx, inv * sy);
  const fdx = -sy * halfWidth;
  const fdy = sx * halfWidth;
  return [fixed(scale * fdx), fixed(scale * fdy)];
}

function addContour(c, direction, edges) {
  // _add_contour
  for (let i = 1; i < c.x.length; i++) {
    const x1 = c.x[i - 1];
    const y1 = c.y[i - 1];
    const x2 = c.x[i];
    const y2 = c.y[i];
    if (y1 === y2) continue;
    if (y1 < y2) edges.push([x1, y1, x2, y2, direction]);
    else edges.push([x2, y2, x1, y1, -direction]);
  }
}

function strokePolygon(px, py, m, pen, scale, halfWidth) {
  // _stroke_polygon -> edges [x1, y1, x2, y2, dir] (top to bottom)
  const edges = [];
  if (m === 1) {
    const [ox, oy] = faceOffset(256, 0, scale, halfWidth);
    const x0 = px[0];
    const y0 = py[0];
    const c = { x: [], y: [] };
    addFan(pen, -256, 0, 256, 0, x0, y0, false, c);
    c.x.push(x0 + ox);
    c.y.push(y0 + oy);
    addFan(pen, 256, 0, -256, 0, x0, y0, false, c);
    c.x.push(x0 - ox);
    c.y.push(y0 - oy);
    c.x.push(c.x[0]);
    c.y.push(c.y[0]);
    addContour(c, -1, edges);
    return edges;
  }
  const cw = { x: [], y: [] };
  const ccw = { x: [], y: [] };
  let curDx = 0;
  let curDy = 0;
  let curOx = 0;
  let curOy = 0;
  const firstDx = px[1] - px[0];
  const firstDy = py[1] - py[0];
  const [firstOx, firstOy] = faceOffset(firstDx, firstDy, scale, halfWidth);
  for (let k = 0; k < m - 1; k++) {
    const x0 = px[k];
    const y0 = py[k];
    const dx = px[k + 1] - x0;
    const dy = py[k + 1] - y0;
    const [ox, oy] = faceOffset(dx, dy, scale, halfWidth);
    if (k === 0) {
      cw.x.push(x0 - ox);
      cw.y.push(y0 - oy);
      ccw.x.push(x0 + ox);
      ccw.y.push(y0 + oy);
    } else {
      const c = slopeCompare(curDx, curDy, dx, dy);
      if (c !== 0) {
        const clockwise = c < 0;
        if (!(curOx === ox && curOy === oy)) {
          if (clockwise) {
            addFan(pen, curDx, curDy, dx, dy, x0, y0, true, cw);
            cw.x.push(x0 - ox);
            cw.y.push(y0 - oy);
          } else {
            addFan(pen, curDx, curDy, dx, dy, x0, y0, false, ccw);
            ccw.x.push(x0 + ox);
            ccw.y.push(y0 + oy);
          }
        }
        if (clockwise) {
          ccw.x.push(x0, x0 + ox);
          ccw.y.push(y0, y0 + oy);
        } else {
          cw.x.push(x0, x0 - ox);
          cw.y.push(y0, y0 - oy);
        }
      }
    }
    cw.x.push(px[k + 1] - ox);
    cw.y.push(py[k + 1] - oy);
    ccw.x.push(px[k + 1] + ox);
    ccw.y.push(py[k + 1] + oy);
    curDx = dx;
    curDy = dy;
    curOx = ox;
    curOy = oy;
  }
  const xe = px[m - 1];
  const ye = py[m - 1];
  addFan(pen, curDx, curDy, -curDx, -curDy, xe, ye, false, ccw);
  ccw.x.push(xe - curOx);
  ccw.y.push(ye - curOy);
  addContour(ccw, -1, edges);
  const x0 = px[0];
  const y0 = py[0];
  const lead = { x: [x0 - firstOx], y: [y0 - firstOy] };
  addFan(pen, -firstDx, -firstDy, firstDx, firstDy, x0, y0, false, lead);
  lead.x.push(x0 + firstOx);
  lead.y.push(y0 + firstOy);
  addContour(lead, -1, edges);
  addContour(cw, 1, edges);
  return edges;
}

function gridY(v) {
  // _grid_y (v * 15 + 128 stays far below 2^31 on and near the canvas)
  return Math.floor((v * GRID_Y + 128) / 256);
}

function xAt(e, j) {
  // _x_at -> [floored x, remainder, ey]
  const [xa, ya, xb, yb] = e;
  const ey = (yb - ya) * (GRID_Y * 512);
  const num = ((2 * j + 1) * 256 - ya * (2 * GRID_Y)) * ((xb - xa) * 256);
  const [q, r] = floorDivRem(num, ey);
  return [xa + q, r, ey];
}

function cellAt(e, j) {
  // _cell
  if (e[0] === e[2]) return e[0];
  const [q, r, ey] = xAt(e, j);
  return r >= Math.floor(ey / 2) ? q + 1 : q;
}

function cellAdd(ch, ua, ix, height, area, size) {
  // _cell_add
  if (ix < 0) ch[0] += height;
  else if (ix < size) {
    ch[ix] += height;
    ua[ix] += area;
  }
}

function renderEdge(ch, ua, e, j0, sign, size) {
  // _render_edge
  const [xa, ya, xb, yb] = e;
  let x1q;
  let x1r;
  let x2q;
  let x2r;
  let dy;
  if (xa === xb) {
    x1q = xa;
    x1r = 0;
    x2q = xa;
    x2r = 0;
    dy = 0;
  } else {
    [x1q, x1r, dy] = xAt(e, j0);
    const ex = (xb - xa) * 256;
    const [dq, dr] = truncDivRem(ex * 512, dy);
    const [fq, fr] = truncDivRem(ex * (2 * GRID_Y * 256), dy);
    x2q = x1q + fq;
    x2r = x1r + fr;
    if (x2r < 0) {
      x2q -= 1;
      x2r += dy;
    } else if (x2r >= dy) {
      x2q += 1;
      x2r -= dy;
    }
    const hq = truncDivRem(dq, 2)[0];
    const hr = truncDivRem(dr, 2)[0];
    x1q -= hq;
    x1r -= hr;
    if (x1r < 0) {
      x1q -= 1;
      x1r += dy;
    } else if (x1r >= dy) {
      x1q += 1;
      x1r -= dy;
    }
    x2q -= hq;
    x2r -= hr;
    if (x2r < 0) {
      x2q -= 1;
      x2r += dy;
    } else if (x2r >= dy) {
      x2q += 1;
      x2r -= dy;
    }
  }
  let ix1 = Math.floor(x1q / 256);
  let fx1 = x1q - ix1 * 256;
  let ix2 = Math.floor(x2q / 256);
  let fx2 = x2q - ix2 * 256;
  if (ix1 === ix2) {
    cellAdd(ch, ua, ix1, sign * GRID_Y, sign * (fx1 + fx2) * GRID_Y, size);
    return;
  }
  if (ix2 < ix1) {
    [ix1, ix2] = [ix2, ix1];
    [fx1, fx2] = [fx2, fx1];
    [x1q, x2q] = [x2q, x1q];
    [x1r, x2r] = [x2r, x1r];
  }
  const dx = (x2q - x1q) * dy + (x2r - x1r);
  const tmp = (((ix1 + 1) * 256 - x1q) * dy - x1r) * GRID_Y;
  let [yq, yr] = truncDivRem(tmp, dx);
  cellAdd(ch, ua, ix1, sign * yq, sign * yq * (256 + fx1), size);
  let yLast = yq;
  if (ix1 + 1 < ix2) {
    const [fq2, fr2] = truncDivRem(GRID_Y * 256 * dy, dx);
    for (let ix = ix1 + 1; ix < ix2; ix++) {
      yq += fq2;
      yr += fr2;
      if (yr >= dx) {
        yq += 1;
        yr -= dx;
      }
      cellAdd(ch, ua, ix, sign * (yq - yLast), sign * (yq - yLast) * 256, size);
      yLast = yq;
    }
  }
  cellAdd(ch, ua, ix2, sign * (GRID_Y - yLast), sign * (GRID_Y - yLast) * fx2, size);
}

function addSubspan(ch, ua, x1, x2) {
  // _add_subspan (x1, x2 already clamped to the image)
  if (x1 >= x2) return;
  const ix1 = Math.floor(x1 / 256);
  const fx1 = x1 - ix1 * 256;
  const ix2 = Math.floor(x2 / 256);
  const fx2 = x2 - ix2 * 256;
  if (ix1 !== ix2) {
    ua[ix1] += 2 * fx1;
    ch[ix1] += 1;
    ua[ix2] -= 2 * fx2;
    ch[ix2] -= 1;
  } else {
    ua[ix1] += 2 * (fx1 - fx2);
  }
}

// stable insertion sort of order/key (parallel arrays) by key
function stableSortBy(order, key, n) {
  for (let i = 1; i < n; i++) {
    const o = order[i];
    const k = key[i];
    let j = i - 1;
    while (j >= 0 && key[j] > k) {
      order[j + 1] = order[j];
      key[j + 1] = key[j];
      j -= 1;
    }
    order[j + 1] = o;
    key[j + 1] = k;
  }
}

function scanConvert(edges, size, out) {
  // _scan_convert: cairo's tor scan converter, non-zero rule, blended into out
  const ne = edges.length;
  if (ne === 0) return;
  const rowsTop = size * GRID_Y;
  const gtop = new Float64Array(ne);
  const gbot = new Float64Array(ne);
  const byt = [];
  for (let e = 0; e < ne; e++) {
    let t = gridY(edges[e][1]);
    let b = gridY(edges[e][3]);
    if (t < 0) t = 0;
    if (b > rowsTop) b = rowsTop;
    gtop[e] = t;
    gbot[e] = b;
    if (b > t) byt.push(e);
  }
  const nv = byt.length;
  if (nv === 0) return;
  for (let i = 1; i < nv; i++) {
    const e = byt[i];
    let j = i - 1;
    while (j >= 0 && gtop[byt[j]] > gtop[e]) {
      byt[j + 1] = byt[j];
      j -= 1;
    }
    byt[j + 1] = e;
  }
  const xmaxCell = size * 256;
  const order = new Array(nv);
  const cells = new Array(nv);
  const nxt = new Array(nv);
  const ch = new Float64Array(size + 2);
  const ua = new Float64Array(size + 2);
  let na = 0;
  let nxtEdge = 0;
  let row = Math.floor(gtop[byt[0]] / GRID_Y);
  while (row < size && (na > 0 || nxtEdge < nv)) {
    const j0 = row * GRID_Y;
    const j1 = j0 + GRID_Y;
    if (na === 0 && gtop[byt[nxtEdge]] >= j1) {
      row = Math.floor(gtop[byt[nxtEdge]] / GRID_Y);
      continue;
    }
    ch.fill(0);
    ua.fill(0);
    let full = true;
    let q = nxtEdge;
    while (q < nv && gtop[byt[q]] < j1) {
      if (gtop[byt[q]] > j0) full = false;
      q += 1;
    }
    if (full && q > nxtEdge) {
      while (nxtEdge < q) {
        const e = byt[nxtEdge];
        order[na] = e;
        cells[na] = cellAt(edges[e], j0);
        na += 1;
        nxtEdge += 1;
      }
      stableSortBy(order, cells, na);
    }
    if (full) {
      for (let k = 0; k < na; k++) {
        if (gbot[order[k]] - j0 < GRID_Y) {
          full = false;
          break;
        }
      }
    }
    if (full) {
      for (let k = 0; k < na; k++) {
        nxt[k] = cellAt(edges[order[k]], j1);
        if (k > 0 && nxt[k] < nxt[k - 1]) full = false;
      }
    }
    if (full) {
      let i = 0;
      while (i < na) {
        const left = i;
        let w = edges[order[i]][4];
        let r = i + 1;
        while (r < na - 1) {
          w += edges[order[r]][4];
          if (w === 0 && cells[r + 1] !== cells[r]) break;
          r += 1;
        }
        renderEdge(ch, ua, edges[order[left]], j0, 1, size);
        renderEdge(ch, ua, edges[order[r]], j0, -1, size);
        i = r + 1;
      }
      let m = 0;
      for (let k = 0; k < na; k++) {
        const e = order[k];
        if (gbot[e] > j1) {
          order[m] = e;
          cells[m] = nxt[k];
          m += 1;
        }
      }
      na = m;
    } else {
      for (let j = j0; j < j1; j++) {
        const m0 = na;
        while (nxtEdge < nv && gtop[byt[nxtEdge]] === j) {
          const e = byt[nxtEdge];
          order[na] = e;
          cells[na] = cellAt(edges[e], j);
          na += 1;
          nxtEdge += 1;
        }
        if (na > m0) stableSortBy(order, cells, na);
        let w = 0;
        let xs = 0;
        let inside = false;
        for (let k = 0; k < na; k++) {
          w += edges[order[k]][4];
          if (w === 0) {
            if (inside && (k + 1 >= na || cells[k + 1] !== cells[k])) {
              addSubspan(ch, ua, Math.min(Math.max(xs, 0), xmaxCell), Math.min(Math.max(cells[k], 0), xmaxCell));
              inside = false;
            }
          } else if (!inside) {
            xs = cells[k];
            inside = true;
          }
        }
        let m = 0;
        for (let k = 0; k < na; k++) {
          const e = order[k];
          if (gbot[e] > j + 1) {
            order[m] = e;
            cells[m] = cellAt(edges[e], j + 1);
            m += 1;
          }
        }
        na = m;
        stableSortBy(order, cells, na);
      }
    }
    if (row >= 0) {
      let cover = 0;
      const base = row * size;
      for (let x = 0; x < size; x++) {
        cover += ch[x] * 512;
        const area = cover - ua[x];
        const alpha = Math.floor((area * 17 + 256) / 512) & 255;
        if (alpha === 0) continue;
        if (alpha === 255) out[base + x] = 255;
        else {
          const d = out[base + x];
          const t1 = 255 * alpha + 0x7f;
          const t2 = d * (255 - alpha) + 0x7f;
          out[base + x] = ((t1 + (t1 >> 8)) >> 8) + ((t2 + (t2 >> 8)) >> 8);
        }
      }
    }
    row += 1;
  }
}

/** Simplified strokes (0-255 space) -> Uint8Array(size * size): the numpy_bitmap rendering. */
export function rasterize(strokes, size = 28, lineDiameter = 16.0, padding = 16.0) {
  if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) throw new RangeError(`size must be an integer from 1 to ${MAX_SIZE}`);
  const parts = checkStrokes(strokes);
  const out = new Uint8Array(size * size);
  let mx = -Infinity;
  let my = -Infinity;
  let npts = 0;
  for (const [xs, ys] of parts) {
    for (let i = 0; i < xs.length; i++) {
      mx = Math.max(mx, xs[i]);
      my = Math.max(my, ys[i]);
    }
    npts += xs.length;
  }
  if (npts === 0) return out;
  const totalPadding = padding * 2.0 + lineDiameter;
  const scale = size / (ORIGINAL_SIDE + totalPadding);
  const halfWidth = lineDiameter / 2.0;
  const t0 = (totalPadding / 2.0) * scale;
  const offx = (ORIGINAL_SIDE - mx) / 2.0;
  const offy = (ORIGINAL_SIDE - my) / 2.0;
  const pen = makePen(size, lineDiameter, padding);
  for (const [xs, ys] of parts) {
    if (!xs.length) continue;
    const px = [];
    const py = [];
    for (let i = 0; i < xs.length; i++) {
      const ux = Math.min(Math.max(xs[i] + offx, -COORD_CLAMP), COORD_CLAMP + ORIGINAL_SIDE);
      const uy = Math.min(Math.max(ys[i] + offy, -COORD_CLAMP), COORD_CLAMP + ORIGINAL_SIDE);
      const vx = fixed(scale * ux + t0);
      const vy = fixed(scale * uy + t0);
      const m = px.length;
      if (m > 0 && px[m - 1] === vx && py[m - 1] === vy) continue;
      if (m >= 2) {
        const adx = px[m - 1] - px[m - 2];
        const ady = py[m - 1] - py[m - 2];
        const bdx = vx - px[m - 1];
        const bdy = vy - py[m - 1];
        if (ady * bdx === bdy * adx && !(adx < 0 !== bdx < 0 || ady < 0 !== bdy < 0)) {
          px[m - 1] = vx;
          py[m - 1] = vy;
          continue;
        }
      }
      px.push(vx);
      py.push(vy);
    }
    scanConvert(strokePolygon(px, py, px.length, pen, scale, halfWidth), size, out);
  }
  return out;
}
