// SPDX-License-Identifier: AGPL-3.0-or-later
// The browser half of `weir bench console`: in Debian's chromium (driven by
// playwright-core from web/node_modules), the time to the first graph of the
// home page and to redraw Visualize after Apply, and the shipped JS/CSS size.
// Usage: node user/bench/console_browser.mjs CONSOLE_URL LABEL END_ISO [RUNS]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const TARGET_MS = 1000;
const top = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const [base0, label = "console", endIso = new Date().toISOString(), runsArg = "5"] = process.argv.slice(2);
if (!base0) {
  console.error("usage: node console_browser.mjs CONSOLE_URL LABEL END_ISO [RUNS]");
  process.exit(2);
}
const base = base0.replace(/\/?$/, "/");
const runs = Math.max(1, Number(runsArg) || 5);
const L = `${label}: browser`;

// ---- the bundle's size (web/dev/size.mjs measures it) ----
const size = spawnSync(process.execPath, [join(top, "web/dev/size.mjs"), "--json"], { encoding: "utf8" });
try {
  const s = JSON.parse(size.stdout);
  const kb = (n) => (n / 1024).toFixed(1);
  console.log(`${label}: web JS ${kb(s.js.gzip)} kB + CSS ${kb(s.css.gzip)} kB gzip = ${kb(s.total.gzip)} kB ` +
    `(target < ${kb(s.target_gzip)} kB: ${s.total.gzip < s.target_gzip ? "met" : "MISSED"}), ${kb(s.total.raw)} kB raw`);
} catch {
  console.log(`${label}: web size: unknown (${(size.stderr || "").trim() || "web/dev/size.mjs failed"})`);
}

// ---- chromium ----
const require = createRequire(join(top, "web/package.json"));
const { chromium } = require("playwright-core");
const profile = mkdtempSync(join(tmpdir(), "weir-bench-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1280, height: 860 },
});
const page = context.pages()[0] ?? (await context.newPage());
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
const fmt = (ms) => `${ms.toFixed(0)} ms`;
const verdict = (ms) => `(target < ${TARGET_MS} ms: ${ms < TARGET_MS ? "met" : "MISSED"})`;

// Resolves in the page once `sel`'s canvas has something drawn: the time
// since the navigation started (performance.now() counts from there).
const firstDrawn = (sel) => page.waitForFunction((s) => {
  const c = document.querySelector(`${s} canvas`);
  if (!c || !c.width) return false;
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4 * 16) if (d[i] > 0 && ++n > 100) return performance.now();
  return false;
}, sel, { polling: "raf", timeout: 60_000 }).then((h) => h.jsonValue());

try {
  // Home: a fresh navigation each time; the first run also fetches the
  // bundle, the next ones find it in the HTTP cache (as a returning user).
  const home = [];
  for (let i = 0; i < runs; i++) {
    await page.goto("about:blank");
    await page.goto(base, { waitUntil: "commit" });
    home.push(await firstDrawn('[data-testid="home-graph"]'));
  }
  const warm = home.slice(1);
  console.log(`${L}: home page, first graph drawn   first load ${fmt(home[0])}` +
    (warm.length ? `, then median ${fmt(median(warm))} max ${fmt(Math.max(...warm))}` : "") +
    ` ${verdict(median(home))}`);

  // Visualize: Apply on a shown view runs its query again and redraws.
  const end = new Date(endIso);
  for (const [name, hours, dims, graph] of [
    ["24 h stacked by SrcAS", 24, "SrcAS", "stacked"],
    ["7 days stacked by SrcAS", 168, "SrcAS", "stacked"],
    ["24 h sankey InIfProvider>SrcAS>DstCountry", 24, "InIfProvider,SrcAS,DstCountry", "sankey"],
  ]) {
    const start = new Date(end.getTime() - hours * 3600e3);
    const q = encodeURIComponent;
    await page.goto(`${base}#/visualize?start=${q(start.toISOString())}&end=${q(end.toISOString())}` +
      `&limit=10&top=avg&units=l3bps&dims=${q(dims)}&graph=${graph}`);
    await page.waitForSelector('[data-testid="apply"]:has-text("Apply")', { timeout: 60_000 });
    await firstDrawn('[data-testid="graph"]');
    const times = [];
    for (let i = 0; i < runs; i++) {
      times.push(await page.evaluate(() => new Promise((ok, fail) => {
        const box = document.querySelector('[data-testid="graph"]');
        const apply = document.querySelector('[data-testid="apply"]');
        let seen = false;
        const t0 = performance.now();
        const timer = setTimeout(() => fail(new Error("no redraw in 60 s")), 60_000);
        // The box carries .loading while the query runs; once it is gone the
        // new graph is set: two frames later it is on the screen.
        const mo = new MutationObserver(() => {
          const loading = box.classList.contains("loading");
          if (loading) seen = true;
          else if (seen) {
            mo.disconnect();
            clearTimeout(timer);
            requestAnimationFrame(() => requestAnimationFrame(() => ok(performance.now() - t0)));
          }
        });
        mo.observe(box, { attributes: true, attributeFilter: ["class"] });
        apply.click();
      })));
    }
    const err = await page.locator('[data-testid="graph-error"]').count();
    console.log(`${L}: Visualize redraw after Apply, ${name.padEnd(42)} median ${fmt(median(times))} ` +
      `max ${fmt(Math.max(...times))} ${verdict(median(times))}${err ? "  (the page shows an error)" : ""}`);
  }
  if (errors.length) console.log(`${L}: page errors: ${errors.slice(0, 3).join(" | ")}`);
} catch (e) {
  console.log(`${L}: failed: ${String(e?.message ?? e).split("\n")[0]}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
