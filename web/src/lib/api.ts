// SPDX-License-Identifier: AGPL-3.0-or-later
// Client of the console API: the paths and field names of Akvorado's
// /api/v0/console/ (console/*.go there), which weir's console implements.

export type Units = "l3bps" | "l2bps" | "pps" | "fps" | "inl2%" | "outl2%";
export type LimitType = "avg" | "max" | "last";
export type GraphType = "stacked" | "stacked100" | "lines" | "grid" | "sankey" | "heatmap";

export interface VisualizeOptions {
  graphType: GraphType;
  start: string;
  end: string;
  filter: string;
  dimensions: string[];
  limit: number;
  limitType: LimitType;
  bidirectional: boolean;
  previousPeriod: boolean;
}

export interface Configuration {
  version: string;
  defaultVisualizeOptions: VisualizeOptions;
  dimensionsLimit: number;
  dimensions: string[];
  truncatable: string[];
  homepageTopWidgets: string[];
  branding?: boolean;
}

/** Fields common to graph/line and graph/sankey (graphCommonHandlerInput). */
export interface GraphCommonInput {
  start: string; // RFC 3339
  end: string;
  dimensions: string[];
  limit: number;
  limitType: LimitType;
  filter: string;
  "truncate-v4": number;
  "truncate-v6": number;
  units: Units;
}

export interface GraphLineInput extends GraphCommonInput {
  points: number;
  bidirectional: boolean;
  "previous-period": boolean;
}

export interface GraphSankeyInput extends GraphCommonInput {
  bidirectional: boolean;
}

/** Rows are sorted by axis (1 direct, 2 reverse, 3/4 previous period). */
export interface GraphLineOutput {
  t: string[];
  rows: string[][];
  points: number[][]; // row -> point per t
  axis: number[];
  "axis-names": Record<string, string>;
  average: number[];
  total?: number[];
  min: number[];
  max: number[];
  last: number[];
  "95th": number[];
}

export interface SankeyNode { name: string; axis: number }
export interface SankeyLink { source: string; target: string; xps: number; axis: number }
export interface GraphSankeyOutput {
  rows: string[][];
  xps: number[];
  axis: number[];
  "axis-names": Record<string, string>;
  nodes: SankeyNode[];
  links: SankeyLink[];
}

export interface FilterError { message: string; line: number; column: number; offset: number }
export interface FilterValidateOutput { message: string; parsed?: string; errors?: FilterError[] }

export interface FilterCompleteInput {
  what: "column" | "operator" | "value";
  column?: string;
  operator?: string;
  prefix?: string;
  limit?: number;
}
export interface FilterCompletion { label: string; detail?: string; quoted: boolean }

export interface SavedFilter { id: number; user: string; shared: boolean; description: string; content: string }

export interface TopEntry { name: string; percent: number }

const base = "api/v0/console/";

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (init.body) headers["Content-Type"] = "application/json";
  const response = await fetch(base + path, { ...init, headers });
  if (response.status === 204) return undefined as T;
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    /* an empty or non-JSON answer: keep null */
  }
  if (!response.ok) {
    const message = (body as { message?: string } | null)?.message ?? response.statusText;
    throw new ApiError(response.status, message || `HTTP ${response.status}`);
  }
  return body as T;
}

const post = <T>(path: string, input: unknown, signal?: AbortSignal) =>
  call<T>(path, { method: "POST", body: JSON.stringify(input), signal });

export const api = {
  configuration: () => call<Configuration>("configuration"),
  flowRate: () => call<{ rate: number; period: string }>("widget/flow-rate"),
  exporters: () => call<{ exporters: string[] }>("widget/exporters"),
  top: (name: string) => call<{ top: TopEntry[] }>(`widget/top/${encodeURIComponent(name)}`),
  homeGraph: () => call<{ data: { t: string; gbps: number }[] }>("widget/graph"),
  lastFlow: () => call<Record<string, unknown>>("widget/flow-last"),
  graphLine: (input: GraphLineInput, signal?: AbortSignal) =>
    post<GraphLineOutput>("graph/line", input, signal),
  graphSankey: (input: GraphSankeyInput, signal?: AbortSignal) =>
    post<GraphSankeyOutput>("graph/sankey", input, signal),
  validate: (filter: string, signal?: AbortSignal) =>
    post<FilterValidateOutput>("filter/validate", { filter }, signal),
  complete: (input: FilterCompleteInput) =>
    post<{ completions: FilterCompletion[] }>("filter/complete", input),
  savedFilters: () => call<{ filters: SavedFilter[] }>("filter/saved"),
  saveFilter: (f: { description: string; content: string; shared: boolean }) =>
    post<void>("filter/saved", f),
  deleteFilter: (id: number) => call<void>(`filter/saved/${id}`, { method: "DELETE" }),
};
