#!/usr/bin/env node
// SPDX-License-Identifier: AGPL-3.0-or-later
// Size of what the console ships: web/dist's JS and CSS, raw and gzip -9.
// Prints one line per kind and a total; exits 1 above the 400 kB gzip target.
// Usage: node web/dev/size.mjs [--json]
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const target = 400 * 1024;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

let files;
try {
  files = walk(dist);
} catch {
  console.error(`size: no ${dist}; run make (or npm run build in web/) first`);
  process.exit(2);
}
const sums = { js: { raw: 0, gzip: 0, files: 0 }, css: { raw: 0, gzip: 0, files: 0 } };
for (const f of files) {
  const kind = f.endsWith(".js") ? "js" : f.endsWith(".css") ? "css" : null;
  if (!kind) continue;
  const data = readFileSync(f);
  sums[kind].raw += data.length;
  sums[kind].gzip += gzipSync(data, { level: 9 }).length;
  sums[kind].files++;
}
const total = { raw: sums.js.raw + sums.css.raw, gzip: sums.js.gzip + sums.css.gzip };
const kb = (n) => (n / 1024).toFixed(1) + " kB";
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ js: sums.js, css: sums.css, total, target_gzip: target }));
} else {
  for (const k of ["js", "css"]) {
    console.log(`web ${k.padEnd(5)} ${String(sums[k].files).padStart(3)} files  ${kb(sums[k].raw).padStart(10)} raw  ${kb(sums[k].gzip).padStart(9)} gzip`);
  }
  console.log(`web total           ${kb(total.raw).padStart(10)} raw  ${kb(total.gzip).padStart(9)} gzip  (target < ${kb(target)})`);
}
process.exit(total.gzip <= target ? 0 : 1);
