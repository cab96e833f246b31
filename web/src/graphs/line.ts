// SPDX-License-Identifier: AGPL-3.0-or-later
// Time series graphs: stacked areas, stacked 100 %, lines and the grid of
// small multiples. Reverse direction (axis 2) is drawn below zero; previous
// period (axes 3 and 4) as dashed lines.
import type { GraphLineOutput, GraphType, Units } from "@/lib/api";
import type { ChartOption } from "@/lib/echarts";
import { formatRate } from "@/lib/units";
import { chartTheme, rowColors, rowLabel, seriesName, timeAxis, tooltipBase, valueAxis } from "./common";

const brush = { xAxisIndex: "all", brushLink: "all", throttleType: "debounce",
  brushStyle: { color: "rgba(37,99,235,0.12)", borderColor: "rgba(37,99,235,0.6)", borderWidth: 1 } };

function sign(axis: number) {
  return axis === 2 || axis === 4 ? -1 : 1;
}

/** `hidden`: rows (indexes of data.rows) the legend turned off; they are not
 * drawn and stacks and 100 % sums are made of the shown rows only. */
export function lineOption(
  data: GraphLineOutput, graphType: GraphType, units: Units, dark: boolean, hidden: ReadonlySet<number> = new Set(),
): ChartOption {
  const theme = chartTheme(dark);
  const colors = rowColors(data);
  const percent = graphType === "stacked100";
  const times = data.t.map((t) => new Date(t).getTime());
  // For 100 %: the sum of every row of one axis at each time.
  const sums = new Map<number, number[]>();
  if (percent) {
    data.rows.forEach((_, i) => {
      if (hidden.has(i)) return;
      const axis = data.axis[i];
      const s = sums.get(axis) ?? new Array(times.length).fill(0);
      data.points[i].forEach((v, j) => (s[j] += v));
      sums.set(axis, s);
    });
  }
  const shown = data.rows.map((_, i) => i).filter((i) => !hidden.has(i));
  const series = shown.map((i) => {
    const axis = data.axis[i];
    const previous = axis >= 3;
    const stacked = (graphType === "stacked" || percent) && !previous;
    const values = data.points[i].map((v, j) => {
      const sum = sums.get(axis)?.[j] ?? 0;
      const value = percent ? (sum ? (v * 100) / sum : 0) : v;
      return [times[j], sign(axis) * value];
    });
    return {
      id: `r${i}`,
      name: seriesName(data, i),
      type: "line",
      data: values,
      stack: stacked ? `axis${axis}` : undefined,
      symbol: "none",
      triggerLineEvent: true,
      step: false,
      color: colors[i],
      lineStyle: previous
        ? { type: "dashed", width: 1.5, color: dark ? "#c9d1db" : "#4b5563" }
        : { width: stacked ? 0.6 : 1.6 },
      areaStyle: stacked ? { opacity: 0.88 } : undefined,
      emphasis: { focus: "series", areaStyle: { opacity: 1 } },
      blur: { areaStyle: { opacity: 0.25 }, lineStyle: { opacity: 0.25 } },
      z: previous ? 5 : 2,
    };
  });
  const format = percent ? (v: number) => `${Math.abs(v).toFixed(0)} %` : (v: number) => formatRate(v, units);
  return {
    animation: false,
    backgroundColor: "transparent",
    grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
    xAxis: timeAxis(theme, { min: times[0], max: times[times.length - 1] }),
    yAxis: valueAxis(theme, format, percent ? { max: 100, min: data.axis.some((a) => a === 2) ? -100 : 0 } : {}),
    tooltip: {
      ...tooltipBase(theme, units),
      trigger: "axis",
      order: "seriesDesc",
      axisPointer: { type: "line", lineStyle: { color: theme.muted } },
      valueFormatter: (v: unknown) => (typeof v === "number" ? format(v) : ""),
    },
    brush,
    series,
  };
}

/** 1, 2 or 5 times a power of ten, at or above v. */
function niceMax(v: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((x) => x >= v) ?? 10 * p;
}

/** Grid: one small graph per row of the direct axis (its reverse twin below zero). */
export function gridOption(data: GraphLineOutput, units: Units, dark: boolean, width: number): ChartOption {
  const theme = chartTheme(dark);
  const colors = rowColors(data);
  const times = data.t.map((t) => new Date(t).getTime());
  const direct = data.rows.map((_, i) => i).filter((i) => data.axis[i] === 1);
  const n = Math.max(direct.length, 1);
  const cols = Math.max(1, Math.min(n, Math.floor(width / 260) || 1));
  const rows = Math.ceil(n / cols);
  const max = niceMax(Math.max(1, ...data.points.flat()));
  const bidirectional = data.axis.some((a) => a === 2);
  const cellW = 100 / cols, cellH = 100 / rows;
  const grids: object[] = [], xAxes: object[] = [], yAxes: object[] = [], titles: object[] = [], series: object[] = [];
  direct.forEach((i, k) => {
    const c = k % cols, r = Math.floor(k / cols);
    grids.push({ left: `${c * cellW + 1}%`, width: `${cellW - 2}%`, top: `${r * cellH + 22 / rows + 3}%`, height: `${cellH - 22 / rows - 6}%`, containLabel: false });
    xAxes.push(timeAxis(theme, { gridIndex: k, min: times[0], max: times[times.length - 1], axisLabel: { show: false }, axisTick: { show: false } }));
    yAxes.push(valueAxis(theme, (v) => formatRate(v, units), {
      gridIndex: k, max, min: bidirectional ? -max : 0, splitNumber: 2,
      axisLabel: { show: c === 0, color: theme.muted, fontSize: 10, formatter: (v: number) => formatRate(v, units) },
    }));
    titles.push({ text: rowLabel(data.rows[i]), left: `${c * cellW + 1}%`, top: `${r * cellH + 0.5}%`,
      textStyle: { fontSize: 11, fontWeight: 500, color: theme.text, width: 240, overflow: "truncate" } });
    const twins = data.rows.map((_, j) => j).filter((j) => j === i || (data.axis[j] === 2 && data.rows[j].join() === data.rows[i].join()));
    for (const j of twins) {
      series.push({
        id: `r${j}`, name: seriesName(data, j), type: "line", xAxisIndex: k, yAxisIndex: k, symbol: "none",
        triggerLineEvent: true, color: colors[j], lineStyle: { width: 1 }, areaStyle: { opacity: 0.75 },
        emphasis: { focus: "series" },
        data: data.points[j].map((v, t) => [times[t], (data.axis[j] === 2 ? -1 : 1) * v]),
      });
    }
  });
  return {
    animation: false,
    backgroundColor: "transparent",
    title: titles,
    grid: grids,
    xAxis: xAxes,
    yAxis: yAxes,
    tooltip: { ...tooltipBase(theme, units), trigger: "axis", axisPointer: { type: "line", lineStyle: { color: theme.muted } } },
    axisPointer: { link: [{ xAxisIndex: "all" }] },
    brush,
    series,
  };
}

/** Heatmap: time across, one line per row of the direct axis, colour = rate. */
export function heatmapOption(data: GraphLineOutput, units: Units, dark: boolean): ChartOption {
  const theme = chartTheme(dark);
  const direct = data.rows.map((_, i) => i).filter((i) => data.axis[i] === 1).reverse();
  const labels = data.t.map((t) => {
    const d = new Date(t);
    return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  });
  const values: [number, number, number][] = [];
  direct.forEach((i, y) => data.points[i].forEach((v, x) => values.push([x, y, v])));
  const max = Math.max(1, ...values.map((v) => v[2]));
  return {
    animation: false,
    backgroundColor: "transparent",
    grid: { left: 8, right: 16, top: 8, bottom: 56, containLabel: true },
    // Zoom on time: the wheel or a drag inside (no slider: its component
    // alone would take the bundle past its 400 kB gzip budget).
    dataZoom: [{ type: "inside", xAxisIndex: 0, filterMode: "filter" }],
    xAxis: { type: "category", data: labels, axisLabel: { color: theme.muted, hideOverlap: true }, axisLine: { lineStyle: { color: theme.line } }, splitArea: { show: false } },
    yAxis: { type: "category", data: direct.map((i) => rowLabel(data.rows[i])),
      axisLabel: { color: theme.text, width: 220, overflow: "truncate" }, axisLine: { lineStyle: { color: theme.line } } },
    visualMap: {
      min: 0, max, calculable: false, orient: "horizontal", left: "center", bottom: 4, itemHeight: 260, itemWidth: 10,
      textStyle: { color: theme.muted }, formatter: (v: number) => formatRate(v, units),
      inRange: { color: dark ? ["#17202b", "#1e4f7a", "#3b8bc4", "#f2c14e", "#f26b38"] : ["#f4f7fb", "#b6d4ee", "#4e8fc7", "#f2b134", "#d9482b"] },
    },
    tooltip: {
      ...tooltipBase(theme, units),
      trigger: "item",
      formatter: (p: { value: [number, number, number] }) =>
        `${rowLabel(data.rows[direct[p.value[1]]])}<br>${new Date(data.t[p.value[0]]).toLocaleString()}<br><b>${formatRate(p.value[2], units)}</b>`,
    },
    series: [{ type: "heatmap", data: values, progressive: 0, emphasis: { itemStyle: { borderColor: theme.text, borderWidth: 1 } } }],
  };
}
