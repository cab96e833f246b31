// SPDX-License-Identifier: AGPL-3.0-or-later
// Shared by the browser tests (tests/browser/*.test.mjs): TAP output,
// Debian's chromium driven by playwright-core (from web/node_modules, no
// browser download), screenshots under build/screenshots/, and weir's
// console started against known data.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const top = process.env.WEIR_TOP ?? resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const buildDir = process.env.WEIR_BUILD ?? join(top, "build");
export const weir = join(buildDir, "weir");
export const screenshotDir = join(buildDir, "screenshots");
export const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

// ---- TAP ----
let n = 0;
let failures = 0;
/** Runs one named test: "ok N - name", or "not ok N - name" with the error. */
export async function test(name, fn) {
  n++;
  try {
    await fn();
    console.log(`ok ${n} - ${name}`);
  } catch (e) {
    failures++;
    console.log(`not ok ${n} - ${name}`);
    for (const line of String(e?.stack ?? e).split("\n").slice(0, 12)) console.log(`#   ${line}`);
  }
}
export function skip(name, reason) {
  n++;
  console.log(`ok ${n} - ${name} # SKIP ${reason}`);
}
export function done() {
  console.log(`1..${n}`);
  process.exitCode = failures ? 1 : 0;
}
export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// ---- what is needed ----
/** Why the tests cannot run (a SKIP reason), or null when they can. */
export function missing() {
  if (!existsSync(weir)) return "console server not built yet (issue 14)";
  const help = spawnSync(weir, ["console", "--help"], { stdio: "ignore", timeout: 10_000 });
  if (help.status !== 0) return "console server not built yet (issue 14)";
  if (!existsSync(join(top, "web/dist/index.html"))) return "web/dist not built (make)";
  if (!existsSync(chromiumPath)) return `${chromiumPath} not installed (make deps)`;
  if (!existsSync(join(top, "web/node_modules/playwright-core"))) return "web/node_modules missing (make deps)";
  return null;
}

/** Every test of a file skipped with one reason (when missing() says so). */
export function skipAll(names, reason) {
  for (const name of names) skip(name, reason);
  done();
}

// ---- the console under test ----
/**
 * Starts weir's console against known data and resolves to
 * { url, stop() }. The start-up lives in tests/browser/console-up.bash (the
 * console's issue writes it with tests/integration/lib/e2e.bash): it must
 * start ClickHouse and weir with the known flows, print one line
 * "ready URL" on stdout once the console answers, and stop everything when
 * it gets SIGTERM.
 */
export async function startConsole() {
  const script = join(top, "tests/browser/console-up.bash");
  if (!existsSync(script)) throw new Error(`${script} not written yet (issue 14)`);
  const child = spawn("bash", [script], {
    cwd: top, stdio: ["ignore", "pipe", "inherit"], detached: true,
    env: { ...process.env, WEIR: weir },
  });
  const url = await new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error("console not ready after 120 s")), 120_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = /^ready (\S+)/m.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`console-up.bash exited with ${code} before it was ready`));
    });
  });
  return {
    url,
    stop: () => new Promise((ok) => {
      if (child.exitCode !== null) return ok();
      child.on("exit", ok);
      try { process.kill(-child.pid, "SIGTERM"); } catch { ok(); }
    }),
  };
}

// ---- browser ----
const require = createRequire(join(top, "web/package.json"));

/**
 * Launches Debian's chromium headless with a new, empty profile. Resolves to
 * { browser, page, errors, close() }; `errors` collects console errors and
 * page errors (a test checks it stays empty).
 */
export async function launch({ width = 1280, height = 860, colorScheme = "light" } = {}) {
  const { chromium } = require("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "weir-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width, height },
    colorScheme,
    permissions: ["clipboard-read", "clipboard-write"],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  const watch = (p) => {
    p.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    p.on("pageerror", (e) => errors.push(String(e)));
  };
  watch(page);
  context.on("page", watch);
  return {
    context, page, errors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves build/screenshots/NAME.png; returns its path. */
export async function screenshot(page, name, options = {}) {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, ...options });
  return path;
}

// ---- page helpers (shared by the tests and web/dev/screenshots.mjs) ----
/** Waits until the Visualize query is over (Apply is back) and the graph drew. */
export async function waitForGraph(page) {
  await page.waitForSelector('[data-testid="apply"]:has-text("Apply")', { timeout: 30_000 });
  await page.waitForSelector('[data-testid="graph"] canvas', { timeout: 30_000 });
  await page.waitForTimeout(200);
}

/** The series names the table shows, in order. */
export async function tableSeries(page) {
  return page.$$eval('[data-testid="data-table"] tbody tr[data-series]', (rows) => rows.map((r) => r.dataset.series));
}

/** Replaces the filter editor's text by typing it (so completion and linting run). */
export async function typeFilter(page, text) {
  const editor = page.locator('[data-testid="filter-editor"] .cm-content');
  await editor.click();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.press("Backspace");
  await page.keyboard.type(text, { delay: 15 });
}

// ---- running a file of tests ----
/**
 * Runs [name, fn(ctx)] pairs against weir's console, or skips them all with
 * the reason missing() gives. ctx = { url, page, errors, known, browser }:
 * one browser (light colour scheme) shared by the tests of the file.
 */
export async function run(tests, options = {}) {
  const reason = missing();
  if (reason) return skipAll(tests.map(([name]) => name), reason);
  let console_;
  let b;
  try {
    console_ = await startConsole();
    b = await launch(options);
  } catch (e) {
    await test("console and browser start", () => { throw e; });
    await console_?.stop();
    return done();
  }
  const known = JSON.parse(readFileSync(join(top, "tests/browser/known.json"), "utf8"));
  const ctx = { url: console_.url.replace(/\/?$/, "/"), page: b.page, errors: b.errors, known, browser: b };
  for (const [name, fn] of tests) await test(name, () => fn(ctx));
  await b.close();
  await console_.stop();
  done();
}
