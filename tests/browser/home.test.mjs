// SPDX-License-Identifier: AGPL-3.0-or-later
// Home page against weir's console with known data: widgets filled, no
// console errors, dark mode switch; screenshots in build/screenshots/.
import { assert, run, screenshot } from "./lib.mjs";

await run([
  ["home loads with non-zero widgets", async ({ url, page }) => {
    await page.goto(url);
    await page.waitForSelector('[data-testid="home-graph"] canvas', { timeout: 30_000 });
    await page.waitForFunction(() => {
      const n = (id) => Number(document.querySelector(`[data-testid="${id}"]`)?.textContent?.replace(/[^\d.]/g, "") || 0);
      return n("flow-rate") > 0 && n("exporter-count") > 0;
    }, null, { timeout: 30_000 });
    const tops = await page.$$eval('[data-testid^="top-"] li .top-pct', (l) => l.length);
    assert(tops > 0, "no top widget has an entry");
    const lastFlow = await page.$$eval('[data-testid="last-flow"] dt', (l) => l.map((e) => e.textContent));
    assert(lastFlow.includes("ExporterAddress"), `last flow lacks ExporterAddress: ${lastFlow.join(",")}`);
    await screenshot(page, "home", { fullPage: true });
  }],
  ["home shows no console errors", async ({ errors }) => {
    assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  }],
  ["dark mode toggles", async ({ page }) => {
    const isDark = () => page.evaluate(() => document.documentElement.classList.contains("dark"));
    assert(!(await isDark()), "dark before switching (the browser asks for light)");
    await page.click('[data-testid="theme-toggle"]'); // system -> light
    await page.click('[data-testid="theme-toggle"]'); // light -> dark
    assert(await isDark(), "not dark after switching");
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert(bg !== "rgb(245, 246, 248)", `background stayed light: ${bg}`);
    await screenshot(page, "home-dark", { fullPage: true });
    await page.reload();
    assert(await isDark(), "the choice does not survive a reload");
    await page.click('[data-testid="theme-toggle"]'); // dark -> system
    assert(!(await isDark()), "back to the system's (light) scheme");
  }],
]);
