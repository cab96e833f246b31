// SPDX-License-Identifier: AGPL-3.0-or-later
// Sankey: the flows between the values of successive dimensions; with
// bidirectional, the reverse direction as a second diagram below.
import type { GraphSankeyOutput, Units } from "@/lib/api";
import type { ChartOption } from "@/lib/echarts";
import { otherColor } from "@/lib/palette";
import { chartTheme, tooltipBase } from "./common";

const colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"];

export function sankeyOption(data: GraphSankeyOutput, units: Units, dark: boolean): ChartOption {
  const theme = chartTheme(dark);
  const axes = [...new Set(data.nodes.map((n) => n.axis))].sort();
  const height = 100 / Math.max(axes.length, 1);
  const series = axes.map((axis, k) => ({
    type: "sankey",
    name: data["axis-names"][axis] ?? (axis === 1 ? "Direct" : "Reverse"),
    top: `${k * height + 3}%`,
    height: `${height - 6}%`,
    left: 8,
    right: 160,
    nodeGap: 6,
    nodeWidth: 14,
    layoutIterations: 32,
    // Wheel or pinch zooms, drag pans (ChartView's buttons do the same).
    roam: true,
    emphasis: { focus: "adjacency" },
    label: { color: theme.text, fontSize: 11, formatter: (p: { name: string }) => p.name.replace(/^[^:]+: /, "") },
    lineStyle: { color: "gradient", opacity: dark ? 0.45 : 0.35, curveness: 0.5 },
    data: data.nodes.filter((n) => n.axis === axis).map((n, i) => ({
      name: n.name,
      itemStyle: { color: /: Other$/.test(n.name) ? otherColor : colors[i % colors.length], borderWidth: 0 },
    })),
    links: data.links.filter((l) => l.axis === axis).map((l) => ({ source: l.source, target: l.target, value: l.xps })),
  }));
  return {
    animation: false,
    backgroundColor: "transparent",
    tooltip: { ...tooltipBase(theme, units), trigger: "item" },
    series,
  };
}
