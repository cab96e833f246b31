// SPDX-License-Identifier: AGPL-3.0-or-later
// What every graph shares: series naming, colours, axis styles per theme.
import type { GraphLineOutput, Units } from "@/lib/api";
import { colorFor, isOther } from "@/lib/palette";
import { formatRate } from "@/lib/units";

export interface ChartTheme {
  text: string;
  muted: string;
  line: string;
  split: string;
  tooltipBg: string;
  tooltipBorder: string;
}

export function chartTheme(dark: boolean): ChartTheme {
  return dark
    ? { text: "#d5dbe3", muted: "#8b95a3", line: "#3a4350", split: "#2a313b", tooltipBg: "#1d232b", tooltipBorder: "#3a4350" }
    : { text: "#1f2937", muted: "#6b7280", line: "#cfd5dd", split: "#eceff3", tooltipBg: "#ffffff", tooltipBorder: "#d6dbe1" };
}

/** The label of a row: its dimension values joined. */
export function rowLabel(row: string[]): string {
  if (row.length === 0) return "Total";
  return isOther(row) ? "Other" : row.join(" — ");
}

/** Unique series name of row i (axis names appended beyond the direct axis). */
export function seriesName(data: GraphLineOutput, i: number): string {
  const axis = data.axis[i];
  const label = rowLabel(data.rows[i]);
  const name = data["axis-names"][axis] ?? `axis ${axis}`;
  return axis === 1 ? label : `${label} (${axis === 4 ? `${name}, reverse` : name})`;
}

/** Colour of row i: the same for a row and its reverse/previous twins. */
export function rowColors(data: GraphLineOutput): string[] {
  const keyIndex = new Map<string, number>();
  return data.rows.map((row, i) => {
    if (data.axis[i] >= 3) return "#6b7280";
    const key = row.join("\u0000");
    if (!keyIndex.has(key)) keyIndex.set(key, keyIndex.size);
    return colorFor(keyIndex.get(key)!, row);
  });
}

export function tooltipBase(theme: ChartTheme, units: Units) {
  return {
    backgroundColor: theme.tooltipBg,
    borderColor: theme.tooltipBorder,
    textStyle: { color: theme.text, fontSize: 12 },
    confine: true,
    valueFormatter: (v: unknown) => (typeof v === "number" ? formatRate(v, units) : String(v ?? "")),
  };
}

export function timeAxis(theme: ChartTheme, extra: Record<string, unknown> = {}) {
  return {
    type: "time",
    axisLine: { lineStyle: { color: theme.line } },
    axisTick: { lineStyle: { color: theme.line } },
    axisLabel: { color: theme.muted, hideOverlap: true },
    splitLine: { show: false },
    ...extra,
  };
}

export function valueAxis(theme: ChartTheme, formatter: (v: number) => string, extra: Record<string, unknown> = {}) {
  return {
    type: "value",
    axisLabel: { color: theme.muted, formatter },
    splitLine: { lineStyle: { color: theme.split } },
    ...extra,
  };
}
