// SPDX-License-Identifier: AGPL-3.0-or-later
// Documentation pages: every docs/*.md reachable from the console's menu.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { assert, run, screenshot, top } from "./lib.mjs";

const pages = readdirSync(join(top, "docs")).filter((f) => f.endsWith(".md")).map((f) => f.slice(0, -3));

await run([
  ["every docs/*.md page renders from the console", async ({ url, page }) => {
    await page.goto(url);
    await page.click('nav[aria-label="Sections"] >> text=Docs');
    for (const p of pages) {
      await page.click(`.docs-nav a[href$="/docs/${p}"]`);
      await page.waitForSelector('[data-testid="doc"] h1');
      const h1 = await page.innerText('[data-testid="doc"] h1');
      assert(h1.length > 0, `${p}: no title`);
      await screenshot(page, `docs-${p}`);
    }
  }],
  ["docs show no console errors", async ({ errors }) => {
    assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  }],
]);
