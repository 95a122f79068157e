// Vendor onnxruntime-web into the drawing page: src/inkrec/page/vendor/ (what `inkrec serve` and the
// static-site export ship next to the page), and Swagger UI into vendor/swagger/ (the server's API docs at
// /docs, which then load nothing from a CDN).
//
// The page itself (index.html, app.js, ink.js, ...) is written by hand in src/inkrec/page/: plain ES
// modules, no bundler, so there is exactly one copy of it. From onnxruntime-web only the files the page loads
// are copied: the wasm-only ES module build, its Emscripten loader and the SIMD+threads .wasm (the same .wasm
// runs with one thread where the page is not cross-origin isolated). They are renamed from .mjs to .js,
// because not every static server sends .mjs as JavaScript, and a module script with a wrong MIME type is
// refused by the browser. From swagger-ui-dist: its bundle and stylesheet (what FastAPI's docs page loads),
// with their licence files. vendor/build.json records the versions and a SHA-256 of every vendored file.
//
// Usage: node build.mjs [OUT_DIR]     (default: ../src/inkrec/page/vendor)

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = dirname(fileURLToPath(import.meta.url));
const page = join(web, "..", "src", "inkrec", "page");
const out = resolve(process.argv[2] || join(page, "vendor"));
const ortDir = join(web, "node_modules", "onnxruntime-web");
const swaggerDir = join(web, "node_modules", "swagger-ui-dist");

const SWAGGER = [
  // [file in swagger-ui-dist, name in page/vendor/swagger]
  ["swagger-ui-bundle.js", "swagger-ui-bundle.js"],
  ["swagger-ui-bundle.js.LICENSE.txt", "swagger-ui-bundle.js.LICENSE.txt"],
  ["swagger-ui.css", "swagger-ui.css"],
  ["LICENSE", "LICENSE-swagger-ui.txt"],
  ["NOTICE", "NOTICE-swagger-ui.txt"],
];

const VENDOR = [
  // [file in onnxruntime-web/dist, name in page/vendor]
  ["ort.wasm.min.mjs", "ort.wasm.min.js"],
  ["ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.js"],
  ["ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.wasm"],
];

const MIT = `MIT License

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`;

function fail(msg) {
  console.error(`build.mjs: ${msg}`);
  process.exit(1);
}

if (!existsSync(join(page, "runtime.js"))) fail(`missing ${join(page, "runtime.js")}: run this from a checkout of inkrec`);
for (const dir of [ortDir, swaggerDir]) {
  if (!existsSync(join(dir, "package.json"))) fail(`${dir} is not installed: run \`npm ci\` in web/`);
}
const version = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
const ortVersion = version(ortDir);
const swaggerVersion = version(swaggerDir);

// Build next to the target, then swap it in, so a failed build never leaves a half-written page.
const tmp = `${out}.building`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(join(tmp, "swagger"), { recursive: true });

const files = {};
function put(rel, data) {
  writeFileSync(join(tmp, rel), data);
  files[rel] = createHash("sha256").update(data).digest("hex");
}

// Drop the source-map comment: the maps are not shipped, and a 404 for each is noise.
function withoutSourceMap(name, data) {
  if (name.endsWith(".js")) return Buffer.from(data.toString("utf8").replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "\n"));
  if (name.endsWith(".css")) return Buffer.from(data.toString("utf8").replace(/\n?\/\*# sourceMappingURL=\S+\s*\*\/\s*$/, "\n"));
  return data;
}

for (const [from, to] of VENDOR) put(to, withoutSourceMap(to, readFileSync(join(ortDir, "dist", from))));
for (const [from, to] of SWAGGER) {
  put(`swagger/${to}`, withoutSourceMap(to, readFileSync(join(swaggerDir, from))));
}
put("LICENSE-onnxruntime-web.txt", `ONNX Runtime Web ${ortVersion} (npm package onnxruntime-web)
Copyright (c) Microsoft Corporation.

${MIT}`);

const manifest = {
  format: "inkrec-vendor/1",
  onnxruntime_web: ortVersion,
  swagger_ui_dist: swaggerVersion,
  files: Object.fromEntries(Object.entries(files).sort()),
};
writeFileSync(join(tmp, "build.json"), `${JSON.stringify(manifest, null, 2)}\n`);

rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);
const bytes = Object.keys(files).reduce((n, f) => n + statSync(join(out, f)).size, 0);
console.log(`vendored into ${out}: ${Object.keys(files).length} files, ${(bytes / 1e6).toFixed(1)} MB (onnxruntime-web ${ortVersion}, swagger-ui-dist ${swaggerVersion})`);
