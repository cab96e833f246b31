// SPDX-License-Identifier: AGPL-3.0-or-later
// The whole Visualize view as one object, kept in the URL's query so that a
// copied link restores the same view. Readable keys, defaults left out.
import type { GraphType, LimitType, Units, VisualizeOptions } from "./api";

export interface ViewState extends VisualizeOptions {
  units: Units;
  truncateV4: number;
  truncateV6: number;
}

export const graphTypes: { value: GraphType; label: string }[] = [
  { value: "stacked", label: "Stacked" },
  { value: "stacked100", label: "Stacked 100%" },
  { value: "lines", label: "Lines" },
  { value: "grid", label: "Grid" },
  { value: "sankey", label: "Sankey" },
  { value: "heatmap", label: "Heatmap" },
];

export const fallbackOptions: VisualizeOptions = {
  graphType: "stacked",
  start: "6 hours ago",
  end: "now",
  filter: "",
  dimensions: ["SrcAS"],
  limit: 10,
  limitType: "avg",
  bidirectional: false,
  previousPeriod: false,
};

export function defaultState(options?: VisualizeOptions): ViewState {
  return { ...fallbackOptions, ...(options ?? {}), units: "l3bps", truncateV4: 32, truncateV6: 128 };
}

type Query = Record<string, string | null | (string | null)[] | undefined>;

const one = (v: Query[string]): string | undefined =>
  Array.isArray(v) ? (v[0] ?? undefined) : (v ?? undefined);

const graphTypeValues = graphTypes.map((g) => g.value) as string[];
const unitValues = ["l3bps", "l2bps", "pps", "fps", "inl2%", "outl2%"];
const limitTypeValues = ["avg", "max", "last"];

export function decodeState(query: Query, defaults: ViewState): ViewState {
  const s: ViewState = { ...defaults, dimensions: [...defaults.dimensions] };
  const get = (k: string) => one(query[k]);
  const v = {
    graph: get("graph"), start: get("start"), end: get("end"), filter: get("filter"),
    dims: get("dims"), limit: get("limit"), top: get("top"), units: get("units"),
    bidi: get("bidi"), prev: get("prev"), v4: get("v4"), v6: get("v6"),
  };
  if (v.graph && graphTypeValues.includes(v.graph)) s.graphType = v.graph as GraphType;
  if (v.start) s.start = v.start;
  if (v.end) s.end = v.end;
  if (v.filter !== undefined) s.filter = v.filter;
  if (v.dims !== undefined) s.dimensions = v.dims.split(",").filter((d) => d !== "");
  if (v.limit && /^\d+$/.test(v.limit)) s.limit = Math.min(Math.max(+v.limit, 1), 1000);
  if (v.top && limitTypeValues.includes(v.top)) s.limitType = v.top as LimitType;
  if (v.units && unitValues.includes(v.units)) s.units = v.units as Units;
  if (v.bidi !== undefined) s.bidirectional = v.bidi === "1";
  if (v.prev !== undefined) s.previousPeriod = v.prev === "1";
  if (v.v4 && /^\d+$/.test(v.v4)) s.truncateV4 = Math.min(+v.v4, 32);
  if (v.v6 && /^\d+$/.test(v.v6)) s.truncateV6 = Math.min(+v.v6, 128);
  return s;
}

export function encodeState(s: ViewState): Record<string, string> {
  const q: Record<string, string> = {
    graph: s.graphType,
    start: s.start,
    end: s.end,
    dims: s.dimensions.join(","),
    limit: String(s.limit),
    top: s.limitType,
    units: s.units,
  };
  if (s.filter) q.filter = s.filter;
  if (s.bidirectional) q.bidi = "1";
  if (s.previousPeriod) q.prev = "1";
  if (s.truncateV4 !== 32) q.v4 = String(s.truncateV4);
  if (s.truncateV6 !== 128) q.v6 = String(s.truncateV6);
  return q;
}

export function sameState(a: ViewState, b: ViewState): boolean {
  return JSON.stringify(encodeState(a)) === JSON.stringify(encodeState(b));
}
