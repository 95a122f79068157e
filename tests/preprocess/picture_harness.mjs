// Runs src/inkrec/preprocess/picture.js on a batch of grey pictures for tests/preprocess/test_picture_js_parity.py.
// Input (JSON file given as argv[2]): {"pictures": [{"grey": base64, "width": w, "height": h}, ...],
//   "frame": [{"ink": base64, "width": w, "height": h, "size": n, "opts": {...}}, ...],
//   "chain": [{"grey": base64, "width": w, "height": h, "size": n, "opts": {...}}, ...]}
// Output (stdout, JSON): {"normalized": [base64, ...], "framed": [base64, ...], "chained": [base64, ...]}
import { readFileSync } from "node:fs";
import { normalizeInk, toModelInput } from "../../src/inkrec/preprocess/picture.js";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const bytes = (b64) => new Uint8Array(Buffer.from(b64, "base64"));
const b64 = (a) => Buffer.from(a).toString("base64");
const normalized = (job.pictures || []).map(({ grey, width, height }) => b64(normalizeInk(bytes(grey), width, height)));
const framed = (job.frame || []).map(({ ink, width, height, size, opts }) => b64(toModelInput(bytes(ink), width, height, size, opts || {})));
const chained = (job.chain || []).map(({ grey, width, height, size, opts }) => (
  b64(toModelInput(normalizeInk(bytes(grey), width, height), width, height, size, opts || {}))));
process.stdout.write(JSON.stringify({ normalized, framed, chained }));
