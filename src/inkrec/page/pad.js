// The drawing surface: turns mouse, touch and pen input (Pointer Events) into strokes in the Quick, Draw!
// "raw" format, [[x...], [y...], [t...]] in screen pixels and milliseconds since the drawing began. Raw is
// recorded on purpose: the page then runs the very same simplification the data set's makers ran on
// their raw drawings, instead of a look-alike of its own.

export class InkPad {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{onChange: (reason: string, at: number) => void}} hooks  reason: "move" | "stroke-end" | "undo" |
   *   "clear"; at: when the input event happened (performance.now() time base)
   */
  constructor(canvas, hooks) {
    this.canvas = canvas;
    this.hooks = hooks;
    this.strokes = []; // finished strokes: {x: number[], y: number[], t: number[]}
    this.active = null; // the stroke being drawn
    this.activePointer = null;
    this.t0 = null; // timeStamp of the drawing's first point
    this.ctx = canvas.getContext("2d");
    this._resize();
    new ResizeObserver(() => this._resize()).observe(canvas);
    canvas.addEventListener("pointerdown", (e) => this._down(e));
    canvas.addEventListener("pointermove", (e) => this._move(e));
    canvas.addEventListener("pointerup", (e) => this._up(e));
    canvas.addEventListener("pointercancel", (e) => this._up(e));
    canvas.addEventListener("lostpointercapture", (e) => this._up(e));
    // No context menu, no text selection, no page scroll while drawing with a finger or pen.
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    canvas.addEventListener("touchstart", (e) => e.preventDefault(), { passive: false });
  }

  /** All strokes, the one being drawn included, in the raw ndjson layout. */
  rawStrokes() {
    const all = this.active ? [...this.strokes, this.active] : this.strokes;
    return all.filter((s) => s.x.length > 0).map((s) => [s.x.slice(), s.y.slice(), s.t.slice()]);
  }

  get isEmpty() { return this.strokes.length === 0 && !this.active; }
  get isDrawing() { return this.active !== null; }

  undo() {
    if (this.active) return;
    if (this.strokes.pop()) {
      if (this.strokes.length === 0) this.t0 = null;
      this._redraw();
      this.hooks.onChange("undo", performance.now());
    }
  }

  clear() {
    this.strokes = [];
    this.active = null;
    this.activePointer = null;
    this.t0 = null;
    this._redraw();
    this.hooks.onChange("clear", performance.now());
  }

  _point(e) {
    const r = this.canvas.getBoundingClientRect();
    if (this.t0 === null) this.t0 = e.timeStamp;
    return [e.clientX - r.left, e.clientY - r.top, Math.max(0, Math.round(e.timeStamp - this.t0))];
  }

  _down(e) {
    if (this.active !== null) return; // one stroke at a time; a second finger is ignored
    if (e.pointerType === "mouse" && e.button !== 0) return;
    e.preventDefault();
    this.canvas.focus({ preventScroll: true });
    try { this.canvas.setPointerCapture(e.pointerId); } catch { /* pointer already gone */ }
    this.activePointer = e.pointerId;
    const [x, y, t] = this._point(e);
    this.active = { x: [x], y: [y], t: [t] };
    this._dot(x, y);
    this.hooks.onChange("move", e.timeStamp);
  }

  _move(e) {
    if (this.active === null || e.pointerId !== this.activePointer) return;
    e.preventDefault();
    // Coalesced events carry the points the browser merged into one frame: fast pen strokes keep their shape.
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) {
      const [x, y, t] = this._point(ev);
      const s = this.active;
      const n = s.x.length;
      if (n && s.x[n - 1] === x && s.y[n - 1] === y) continue;
      this._segment(s.x[n - 1], s.y[n - 1], x, y);
      s.x.push(x); s.y.push(y); s.t.push(t);
    }
    this.hooks.onChange("move", e.timeStamp);
  }

  _up(e) {
    if (this.active === null || e.pointerId !== this.activePointer) return;
    const s = this.active;
    if (e.type === "pointerup") {
      const [x, y, t] = this._point(e);
      const n = s.x.length;
      if (s.x[n - 1] !== x || s.y[n - 1] !== y) {
        this._segment(s.x[n - 1], s.y[n - 1], x, y);
        s.x.push(x); s.y.push(y); s.t.push(t);
      }
    }
    this.active = null;
    this.activePointer = null;
    this.strokes.push(s);
    this.hooks.onChange("stroke-end", e.timeStamp);
  }

  // --- rendering: what the person sees (the model sees the rasterized strokes, drawn elsewhere) ---
  _resize() {
    const dpr = window.devicePixelRatio || 1;
    const r = this.canvas.getBoundingClientRect();
    this._ink = getComputedStyle(this.canvas).getPropertyValue("--pad-ink").trim() || "#111";
    const w = Math.max(1, Math.round(r.width * dpr));
    const h = Math.max(1, Math.round(r.height * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this._redraw();
  }

  _style() {
    const dpr = window.devicePixelRatio || 1;
    const r = this.canvas.getBoundingClientRect();
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = Math.max(3, r.width / 90);
    ctx.strokeStyle = this._ink;
    ctx.fillStyle = ctx.strokeStyle;
  }

  _segment(x0, y0, x1, y1) {
    this._style();
    this.ctx.beginPath();
    this.ctx.moveTo(x0, y0);
    this.ctx.lineTo(x1, y1);
    this.ctx.stroke();
  }

  _dot(x, y) {
    this._style();
    this.ctx.beginPath();
    this.ctx.arc(x, y, this.ctx.lineWidth / 2, 0, Math.PI * 2);
    this.ctx.fill();
  }

  _redraw() {
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const all = this.active ? [...this.strokes, this.active] : this.strokes;
    for (const s of all) {
      if (s.x.length === 1) { this._dot(s.x[0], s.y[0]); continue; }
      this._style();
      ctx.beginPath();
      ctx.moveTo(s.x[0], s.y[0]);
      for (let i = 1; i < s.x.length; i++) ctx.lineTo(s.x[i], s.y[i]);
      ctx.stroke();
    }
  }
}
