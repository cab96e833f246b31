// SPDX-License-Identifier: AGPL-3.0-or-later
// Visualize against weir's console with known data (tests/browser/known.json
// says what it holds): dimensions, filter completion and errors, every graph
// type, sankey nodes, the URL restoring a view, legend clicks hiding series,
// zoom on the heatmap and the sankey, brush to zoom on line graphs.
import { assert, run, screenshot, tableSeries, typeFilter, waitForGraph } from "./lib.mjs";

const q = (s) => encodeURIComponent(s);
const view = (url, k, extra = "") =>
  `${url}#/visualize?start=${q(k.start)}&end=${q(k.end)}&limit=10&top=avg&units=l3bps${extra}`;

const chart = '[data-testid="graph"] .chart';
/** A cheap fingerprint of what the graph's canvas shows. */
const canvasPrint = (page) => page.$eval('[data-testid="graph"] canvas', (c) => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 4 * 7) h = (h * 31 + d[i] + 3 * d[i + 1] + 7 * d[i + 2] + 11 * d[i + 3]) % 1000000007;
  return h;
});
const seriesCount = async (page) => Number(await page.getAttribute(chart, "data-series"));

async function pickDimensions(page, dims) {
  while (await page.locator('[data-testid="dimensions"] .chip').count()) {
    await page.locator('[data-testid="dimensions"] .chip').first().focus();
    await page.keyboard.press("Delete");
  }
  for (const d of dims) {
    await page.fill('[data-testid="dimension-add"]', d);
    await page.press('[data-testid="dimension-add"]', "Enter");
  }
}

await run([
  ["visualize: pick dimensions, complete and apply a filter, table shows the expected series", async ({ url, page, known }) => {
    assert(known.start && known.end && known.filter, "tests/browser/known.json not filled in");
    await page.goto(view(url, known, "&dims=ExporterName&graph=stacked"));
    await waitForGraph(page);
    const before = await tableSeries(page);
    await pickDimensions(page, known.dimensions);
    await typeFilter(page, known.completion.typed);
    await page.keyboard.press("Control+Space");
    const option = page.locator(".cm-tooltip-autocomplete li", { hasText: known.completion.expect }).first();
    await option.waitFor({ timeout: 10_000 });
    await screenshot(page, "visualize-completion");
    await typeFilter(page, known.filter);
    await page.click('[data-testid="apply"]');
    await waitForGraph(page);
    const after = await tableSeries(page);
    assert(JSON.stringify(after) !== JSON.stringify(before), "the table did not change");
    assert(JSON.stringify(after) === JSON.stringify(known.series),
      `series ${JSON.stringify(after)}, expected ${JSON.stringify(known.series)}`);
    const params = new URLSearchParams(new URL(page.url()).hash.replace(/^[^?]*\?/, ""));
    assert(params.get("dims") === known.dimensions.join(","), `URL lacks the dimensions: ${page.url()}`);
    assert(params.get("filter") === known.filter, `URL lacks the filter: ${page.url()}`);
    await screenshot(page, "visualize", { fullPage: true });
  }],
  ["every graph type renders", async ({ url, page, known }) => {
    for (const g of ["stacked", "stacked100", "lines", "grid", "heatmap", "sankey"]) {
      await page.goto(view(url, known, `&graph=${g}&dims=${q(known.sankey.dimensions.join(","))}`));
      await waitForGraph(page);
      const type = await page.getAttribute('[data-testid="graph"]', "data-graph-type");
      assert(type === g, `asked ${g}, drew ${type}`);
      const drawn = await page.$eval('[data-testid="graph"] canvas', (c) => {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4 * 16) if (d[i] > 0) n++;
        return n;
      });
      assert(drawn > 100, `${g}: the canvas is (almost) empty`);
      await screenshot(page, `visualize-${g}`);
    }
  }],
  ["sankey shows the expected nodes", async ({ url, page, known }) => {
    await page.goto(view(url, known, `&graph=sankey&dims=${q(known.sankey.dimensions.join(","))}`));
    await waitForGraph(page);
    const rows = await tableSeries(page);
    for (const node of known.sankey.nodes) {
      const value = node.replace(/^[^:]+: /, "");
      assert(rows.some((r) => r.split(" — ").includes(value)), `no ${node} among ${JSON.stringify(rows)}`);
    }
  }],
  ["a copied URL restores the same view", async ({ url, page, known, browser }) => {
    await page.goto(view(url, known, `&graph=lines&dims=${q(known.dimensions.join(","))}&bidi=1&filter=${q(known.filter)}`));
    await waitForGraph(page);
    await page.click('[data-testid="copy-link"]');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    const series = await tableSeries(page);
    const other = await browser.context.newPage();
    await other.goto(copied);
    await waitForGraph(other);
    assert(await other.getAttribute('[data-testid="graph"]', "data-graph-type") === "lines", "graph type not restored");
    assert(await other.isChecked('[data-testid="bidirectional"]'), "bidirectional not restored");
    const text = await other.locator('[data-testid="filter-editor"] .cm-content').innerText();
    assert(text.trim() === known.filter, `filter not restored: ${text}`);
    assert(JSON.stringify(await tableSeries(other)) === JSON.stringify(series), "other series");
    await other.close();
  }],
  ["an invalid filter shows its error in place", async ({ url, page, known }) => {
    await page.goto(view(url, known, "&graph=stacked&dims=SrcAS"));
    await waitForGraph(page);
    await typeFilter(page, known.invalidFilter);
    const message = await page.locator('[data-testid="filter-error"]').innerText({ timeout: 10_000 });
    assert(message.length > 0, "no error message");
    if (known.invalidMessage) assert(message.includes(known.invalidMessage), `message: ${message}`);
    assert(await page.locator(".cm-lintRange-error").count() > 0, "nothing underlined");
    await screenshot(page, "visualize-invalid-filter");
  }],
  ["a legend click hides its series (the table row says so), a second shows it", async ({ url, page, known }) => {
    await page.goto(view(url, known, `&graph=stacked&dims=${q(known.dimensions.join(","))}`));
    await waitForGraph(page);
    const before = await seriesCount(page);
    assert(before >= 2, `only ${before} series drawn`);
    const print = await canvasPrint(page);
    const entry = page.locator('[data-testid="legend"] li').first();
    const name = await entry.getAttribute("data-series");
    await entry.click();
    await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel)?.dataset.series) === n,
      [chart, before - 1], { timeout: 5_000 });
    assert(await entry.getAttribute("aria-pressed") === "false", "legend entry not marked off");
    const row = page.locator(`[data-testid="data-table"] tr[data-series="${name}"]`);
    assert(await row.getAttribute("data-hidden") === "true", `table row of ${name} not marked hidden`);
    assert(await canvasPrint(page) !== print, "the graph did not change");
    await screenshot(page, "visualize-legend-hidden");
    await entry.click();
    await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel)?.dataset.series) === n,
      [chart, before], { timeout: 5_000 });
    assert(await row.getAttribute("data-hidden") === null, "table row still marked hidden");
  }],
  ["the heatmap zooms on time (dataZoom), the sankey zooms with its controls", async ({ url, page, known }) => {
    await page.goto(view(url, known, `&graph=heatmap&dims=${q(known.sankey.dimensions.join(","))}`));
    await waitForGraph(page);
    assert((await page.getAttribute(chart, "data-zoom") ?? "").includes("datazoom"), "heatmap without dataZoom");
    let print = await canvasPrint(page);
    const box = await page.locator(chart).boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 3);
    await page.mouse.wheel(0, -400);
    await page.waitForTimeout(400);
    assert(await canvasPrint(page) !== print, "the heatmap did not zoom on the wheel");
    await screenshot(page, "visualize-heatmap-zoomed");
    await page.goto(view(url, known, `&graph=sankey&dims=${q(known.sankey.dimensions.join(","))}`));
    await waitForGraph(page);
    assert((await page.getAttribute(chart, "data-zoom") ?? "").includes("roam"), "sankey without roam");
    const controls = page.locator('[data-testid="zoom-controls"]');
    assert(await controls.isVisible(), "no zoom controls on the sankey");
    print = await canvasPrint(page);
    await controls.locator('[data-zoom-step="in"]').click();
    await controls.locator('[data-zoom-step="in"]').click();
    await page.waitForTimeout(300);
    assert(await canvasPrint(page) !== print, "the sankey did not zoom in");
    await screenshot(page, "visualize-sankey-zoomed");
    await controls.locator('[data-zoom-step="reset"]').click();
  }],
  ["brush to zoom on a line graph narrows the range", async ({ url, page, known }) => {
    await page.goto(view(url, known, `&graph=lines&dims=SrcAS`));
    await waitForGraph(page);
    const box = await page.locator(chart).boundingBox();
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.35, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, y, { steps: 8 });
    await page.mouse.up();
    await page.waitForFunction((s) => !location.hash.includes(`start=${s}`), q(known.start), { timeout: 10_000 });
    await waitForGraph(page);
    const params = new URLSearchParams(new URL(page.url()).hash.replace(/^[^?]*\?/, ""));
    const span = new Date(params.get("end")) - new Date(params.get("start"));
    assert(span > 0 && span < new Date(known.end) - new Date(known.start), `range after the brush: ${page.url()}`);
  }],
  ["visualize shows no console errors", async ({ errors }) => {
    assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  }],
]);
