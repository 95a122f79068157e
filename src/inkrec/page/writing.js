// The writing pad: for a character model with thousands of classes (layout "writing", decided by the
// model's metadata, see inkrec.runtime.metadata.page_layout), the page works like a phone's handwriting
// keyboard. Ten candidates are large buttons, refreshed after every stroke; tapping one appends its
// character to a text and clears the pad for the next one; the text can be copied.
//
// Only the presentation lives here: the ink, the preprocessing and the model are the page's own, so any
// stroke order and joined-up writing work exactly as well as the model reads the picture they make.

export const CANDIDATES = 10;

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "for") node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children);
  return node;
};

export class WritingPad {
  /**
   * @param {HTMLElement} anchor  the pad's text and candidates go right after it, above the ink (as on a phone)
   * @param {{onPick: (label: string) => void}} hooks  onPick: a candidate was tapped (the page clears the ink)
   */
  constructor(anchor, hooks) {
    this.hooks = hooks;
    this.active = false;
    this.candidates = el("div", {
      className: "candidates", id: "candidates", role: "group", "aria-label": "Candidates: tap one to write it",
    });
    this.text = el("textarea", {
      id: "written-text", className: "written-text", rows: 2, spellcheck: false, placeholder: "Tap a candidate…",
      "data-testid": "written-text", "aria-label": "What you have written",
    });
    this.copyButton = el("button", { type: "button", id: "copy-text", "data-testid": "copy-text" }, "Copy");
    this.backButton = el("button", {
      type: "button", id: "delete-char", "data-testid": "delete-char", "aria-label": "Delete the last character",
    }, "⌫");
    this.note = el("span", { className: "note", id: "copy-note", role: "status", "aria-live": "polite" });
    this.section = el("div", { className: "writing", id: "writing", hidden: true },
      el("div", { className: "written" }, this.text,
        el("div", { className: "written-actions" }, this.backButton, this.copyButton)),
      this.note,
      this.candidates);
    anchor.after(this.section);
    this.copyButton.addEventListener("click", () => this.copy());
    this.backButton.addEventListener("click", () => this.deleteLast());
    this.text.addEventListener("input", () => this._update());
    this._update();
  }

  /** Show the pad (true) or give the page back to live guesses (false). */
  setActive(on) {
    this.active = on;
    this.section.hidden = !on;
    document.body.dataset.layout = on ? "writing" : "drawing";
    if (!on) this.candidates.replaceChildren();
  }

  /**
   * Show the candidates, most likely first; returns false (and does nothing) when the pad is not in use,
   * so the page shows its own guesses instead.
   * @param {{label: string, probability: number}[]} preds
   */
  render(preds, hint = "Write a character above; its candidates appear here.") {
    if (!this.active) return false;
    if (!preds.length) {
      this.candidates.replaceChildren(el("p", { className: "empty" }, hint));
      return true;
    }
    this.candidates.replaceChildren(...preds.slice(0, CANDIDATES).map((p, i) => {
      const pct = Math.round(p.probability * 1000) / 10;
      const b = el("button", {
        type: "button", className: "candidate", "data-testid": `guess-${i}`,
        "aria-label": `${p.label}, ${pct.toFixed(0)} percent`,
      }, el("span", { className: "char", lang: "zh" }, p.label), el("span", { className: "pct" }, ` ${pct.toFixed(1)}%`));
      b.addEventListener("click", () => this.pick(p.label));
      return b;
    }));
    return true;
  }

  /** Append a character at the cursor (at the end when the text has no focus), as a keyboard would. */
  pick(label) {
    const t = this.text;
    const focused = document.activeElement === t;
    const start = focused ? t.selectionStart : t.value.length;
    const end = focused ? t.selectionEnd : t.value.length;
    t.value = t.value.slice(0, start) + label + t.value.slice(end);
    t.selectionStart = t.selectionEnd = start + label.length;
    this._update();
    this.hooks.onPick(label);
  }

  deleteLast() {
    const chars = Array.from(this.text.value); // by code point: one character, not half a surrogate pair
    chars.pop();
    this.text.value = chars.join("");
    this._update();
  }

  /** Copy the text: the Clipboard API where the page may use it, else the selection and execCommand. */
  async copy() {
    const text = this.text.value;
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      this.text.select();
      try { ok = document.execCommand("copy"); } catch { ok = false; }
    }
    this.note.textContent = ok ? `Copied ${Array.from(text).length} characters.` : "Could not copy: select the text and copy it.";
    return ok;
  }

  _update() {
    const empty = this.text.value.length === 0;
    this.copyButton.disabled = empty;
    this.backButton.disabled = empty;
  }
}
