// SPDX-License-Identifier: AGPL-3.0-or-later
// The `make demo` path end to end: mk/demo.sh (on free ports, in a temporary
// WEIR_DEMO_DIR) prints the console's URL; within 120 s the home page shows
// named exporters, countries and AS names; Ctrl-C (SIGINT) stops it with
// status 0. Screenshot: build/screenshots/demo-home.png.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, buildDir, done, launch, missing, screenshot, skipAll, test, top, weir } from "./lib.mjs";

const names = [
  "mk/demo.sh prints the console URL",
  "home page shows named exporters, countries and AS names within 120 s",
  "SIGINT stops the demo with status 0",
];

function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) {
    const r = spawnSync(weir, ["bench", "free-port"], { encoding: "utf8", timeout: 10_000 });
    if (r.status !== 0) throw new Error(`weir bench free-port: ${r.stderr}`);
    ports.add(Number(r.stdout.trim()));
  }
  return [...ports];
}

const reason = missing() ??
  (spawnSync("perl", ["-MMaxMind::DB::Writer::Tree", "-e1"]).status !== 0
    ? "libmaxmind-db-writer-perl not installed (make deps)" : null);
if (reason) {
  skipAll(names, reason);
} else {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "weir-demo-test."));
  const [http, query, flow] = freePorts(3);
  let output = "";
  // Its own process group, so that SIGINT reaches the script and weir as
  // Ctrl-C in a terminal would.
  const child = spawn("bash", [join(top, "mk/demo.sh")], {
    cwd: top, detached: true, stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env, BUILD: buildDir, WEIR_DEMO_DIR: dir, WEIR_DEMO_HTTP: `127.0.0.1:${http}`,
      WEIR_DEMO_QUERY_PORT: String(query), WEIR_DEMO_FLOW_PORT: String(flow),
    },
  });
  child.stdout.on("data", (c) => { output += c; });
  child.stderr.on("data", (c) => { output += c; });
  const exited = new Promise((ok) => child.on("exit", (code, signal) => ok({ code, signal })));
  let url = null;
  let b = null;

  await test(names[0], async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      url = /demo: console at (http:\/\/\S+?);/.exec(output)?.[1] ?? null;
      if (url || Date.now() > deadline || child.exitCode !== null) break;
      await new Promise((ok) => setTimeout(ok, 200));
    }
    assert(url === `http://127.0.0.1:${http}`, `no console URL (got ${url}):\n${output.slice(-2000)}`);
  });

  await test(names[1], async () => {
    assert(url, "no console URL");
    b = await launch();
    const { page } = b;
    const entries = (id) => page.$$eval(`[data-testid="top-${id}"] li .top-name`,
      (l) => l.map((e) => e.textContent.trim()));
    let last = {};
    // The home page asks again by itself; reload anyway so that a page
    // loaded before the first flows does not wait for its next refresh.
    while (Date.now() - started < 120_000) {
      await page.goto(url).catch(() => {});
      await page.waitForTimeout(5_000);
      last = {
        exporters: await entries("exporter").catch(() => []),
        countries: await entries("src-country").catch(() => []),
        ases: await entries("src-as").catch(() => []),
        // The two outlet workers' first batches land seconds apart: the
        // routers of one worker can show before the other's.
        count: await page.textContent('[data-testid="exporter-count"]').catch(() => null),
      };
      if (Number(last.count) === 4 &&
          last.exporters.some((n) => /^(par1|fra1)-edge\d$/.test(n)) &&
          last.countries.some((n) => /^[A-Z]{2}$/.test(n)) &&
          last.ases.some((n) => /^\d+: \S/.test(n))) {
        console.log(`# names on the home page ${Math.round((Date.now() - started) / 1000)} s after start`);
        break;
      }
    }
    await screenshot(page, "demo-home", { fullPage: true });
    assert(last.exporters?.some((n) => /^(par1|fra1)-edge\d$/.test(n)),
      `no named exporter: ${JSON.stringify(last)}`);
    assert(last.countries?.some((n) => /^[A-Z]{2}$/.test(n)), `no country: ${JSON.stringify(last)}`);
    assert(last.ases?.some((n) => /^\d+: \S/.test(n)), `no AS name: ${JSON.stringify(last)}`);
    const count = await page.textContent('[data-testid="exporter-count"]');
    assert(Number(count) === 4, `exporter count ${count}, expected the demo's 4 routers`);
  });
  await b?.close();

  await test(names[2], async () => {
    if (child.exitCode === null) process.kill(-child.pid, "SIGINT");
    const timer = new Promise((ok) => setTimeout(() => ok({ timeout: true }), 60_000));
    const r = await Promise.race([exited, timer]);
    if (r.timeout) process.kill(-child.pid, "SIGKILL");
    assert(!r.timeout, "mk/demo.sh still running 60 s after SIGINT");
    assert(r.code === 0, `mk/demo.sh exited with ${r.code ?? r.signal}:\n${output.slice(-2000)}`);
  });
  rmSync(dir, { recursive: true, force: true });
  done();
}
