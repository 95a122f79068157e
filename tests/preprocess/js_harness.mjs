// Runs src/inkrec/preprocess/ink.js on a batch of drawings for tests/preprocess/test_js_parity.py.
// Input (JSON file given as argv[2]): {"simplify": [rawStrokes, ...], "rasterize": [{"strokes": [...], "size": n}, ...]}
// Output (stdout, JSON): {"simplified": [strokes, ...], "rasters": [base64 of the Uint8Array, ...]}
import { readFileSync } from "node:fs";
import { simplify, rasterize } from "../../src/inkrec/preprocess/ink.js";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const simplified = (job.simplify || []).map((raw) => simplify(raw));
const rasters = (job.rasterize || []).map(({ strokes, size }) => Buffer.from(rasterize(strokes, size)).toString("base64"));
process.stdout.write(JSON.stringify({ simplified, rasters }));
