#!/usr/bin/env node
// SPDX-License-Identifier: AGPL-3.0-or-later
// Screenshots of every page for a look by eye (development aid): against a
// running console (weir's, or web/dev/mock-api.mjs). Saves build/screenshots/dev-*.png.
// Usage: node web/dev/screenshots.mjs [BASE_URL]   (default http://127.0.0.1:8081/)
import { launch, screenshot, waitForGraph, typeFilter } from "../../tests/browser/lib.mjs";

const base = (process.argv[2] ?? "http://127.0.0.1:8081/").replace(/\/?$/, "/");
const shots = [];

for (const scheme of ["light", "dark"]) {
  const b = await launch({ colorScheme: scheme });
  const { page } = b;
  await page.goto(base);
  await page.waitForSelector('[data-testid="home-graph"] canvas');
  await page.waitForTimeout(500);
  shots.push(await screenshot(page, `dev-home-${scheme}`, { fullPage: true }));

  await page.goto(`${base}#/visualize?graph=stacked&dims=SrcAS&start=6%20hours%20ago&end=now&limit=10&bidi=1&prev=1`);
  await waitForGraph(page);
  shots.push(await screenshot(page, `dev-visualize-stacked-${scheme}`, { fullPage: true }));
  if (scheme === "light") {
    for (const g of ["stacked100", "lines", "grid", "heatmap"]) {
      await page.goto(`${base}#/visualize?graph=${g}&dims=SrcAS&start=6%20hours%20ago&end=now&limit=8`);
      await waitForGraph(page);
      shots.push(await screenshot(page, `dev-visualize-${g}`));
    }
    await page.goto(`${base}#/visualize?graph=sankey&dims=SrcAS,InIfProvider,ExporterName&limit=12`);
    await waitForGraph(page);
    shots.push(await screenshot(page, "dev-visualize-sankey"));
    await typeFilter(page, "SrcAS = AS1 AND Foo");
    await page.waitForSelector('[data-testid="filter-error"]');
    await page.waitForTimeout(300);
    shots.push(await screenshot(page, "dev-filter-error"));
    await typeFilter(page, "InIfBoundary = external AND Src");
    await page.keyboard.press("Control+Space");
    await page.waitForSelector(".cm-tooltip-autocomplete");
    shots.push(await screenshot(page, "dev-filter-complete"));
  }
  await page.goto(`${base}#/docs/filter`);
  await page.waitForSelector('[data-testid="doc"] h1');
  shots.push(await screenshot(page, `dev-docs-${scheme}`));
  await b.close();
}
const tablet = await launch({ width: 820, height: 1180 });
await tablet.page.goto(`${base}#/visualize?graph=stacked&dims=SrcAS,DstAS&limit=6`);
await waitForGraph(tablet.page);
shots.push(await screenshot(tablet.page, "dev-visualize-tablet", { fullPage: true }));
await tablet.page.goto(base);
await tablet.page.waitForSelector('[data-testid="home-graph"] canvas');
shots.push(await screenshot(tablet.page, "dev-home-tablet", { fullPage: true }));
if (tablet.errors.length) console.log("console errors:", tablet.errors);
await tablet.close();
console.log(shots.join("\n"));
